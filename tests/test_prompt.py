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
        ("{broken}", "<str() failed: RuntimeError>"),
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


def test_cell_references_are_the_only_expressions_resolved():
    asked = []

    def cells(kind, number):
        asked.append((kind, number))
        return None if number == 99 else f"<{kind}{number}>"

    text = "{In[3]} {Out[-1]} {Err[12]} {In[99]} {In[0].__class__} {x[0]} {a.b} {In[ 3]} {{In[3]}} {Foo[1]}"
    assert interpolate(text, {"x": [1], "a": 1}, cells=cells) == (
        "<In3> <Out-1> <Err12> {In[99]} {In[0].__class__} {x[0]} {a.b} {In[ 3]} {{In[3]}} {Foo[1]}")
    assert asked == [("In", 3), ("Out", -1), ("Err", 12), ("In", 99)]
    assert interpolate("{In[3]}", {}) == "{In[3]}"  # no resolver: verbatim, as for --map templates


def test_a_replaced_cell_is_not_interpolated_again():
    assert interpolate("{In[1]} {name}", {"name": "Ada", "secret": "s3cr3t"},
                       cells=lambda kind, number: "{secret} {In[1]}") == "{secret} {In[1]} Ada"


def test_code_instruction_follows_the_users_system_prompt():
    from claude_magic.prompt import CODE_INSTRUCTION, with_code_instruction

    assert with_code_instruction(None) == with_code_instruction("") == CODE_INSTRUCTION
    assert with_code_instruction("Be terse.") == f"Be terse.\n\n{CODE_INSTRUCTION}"
