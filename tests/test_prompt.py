import pytest

from claude_magic.errors import BadInput
from claude_magic.prompt import interpolate, resolve_system


class Loud:
    def __str__(self):
        raise RuntimeError("no str for you")


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Hi {name}!", "Hi Ada!"),
        ("{name}{name}", "AdaAda"),
        ('{"name": 1}', '{"name": 1}'),
        ("{{name}}", "{{name}}"),
        ("{ name }", "{ name }"),
        ("{missing}", "{missing}"),
        ("{In}", "{In}"),
        ("{broken}", "{broken}"),
        ("def f(): return {1: {2}}", "def f(): return {1: {2}}"),
        ("}{ {{ }} {", "}{ {{ }} {"),
        ("{n}", "3"),
    ],
)
def test_interpolation_only_touches_known_names(text, expected):
    namespace = {"name": "Ada", "In": ["secret history"], "broken": Loud(), "n": 3}
    assert interpolate(text, namespace, hidden={"In"}) == expected


def test_system_from_variable_or_text():
    assert resolve_system("Be brief.", {}) == "Be brief."
    assert resolve_system("$persona", {"persona": "A pirate."}) == "A pirate."
    with pytest.raises(BadInput, match="no variable 'persona'"):
        resolve_system("$persona", {})
