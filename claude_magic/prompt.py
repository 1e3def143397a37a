"""Turning a cell into a prompt: `{name}` interpolation that never trips over braces."""

from __future__ import annotations

import re
from collections.abc import Callable, Container, Mapping
from typing import Any

from .errors import BadInput
from .showing import as_text

# `{{` and `}}` are matched first so that doubled braces stay exactly as written.
_FIELD = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}|\{(In|Out|Err)\[(-?[0-9]+)\]\}")
# What --code adds to the system prompt (after the user's own, if any).
CODE_INSTRUCTION = (
    "Your answer's Python code blocks will be put, in order, into a new cell of the user's Jupyter notebook; "
    "the text around them will not. Answer with complete, runnable code in a ```python block, explain in "
    "comments inside it, and keep any text outside it to a sentence or two."
)


def interpolate(text: str, namespace: Mapping[str, Any], hidden: Container[str] = (),
                cells: Callable[[str, int], str | None] | None = None) -> str:
    """Replace `{name}` by `str(value)` for the notebook's own variables; leave everything else.

    JSON, code, `{{…}}`, unknown names and IPython's hidden variables (In, Out, _, …) are sent
    verbatim; a value whose `str()` fails becomes `<str() failed: …>`, and one whose `str()` is too
    slow is refused (showing.py). With `cells`, `{In[N]}`,
    `{Out[N]}` and `{Err[N]}` are replaced by `cells(kind, N)` (left as written when that is None);
    no other expression is ever evaluated.
    """

    def substitute(match: re.Match) -> str:
        name = match.group(1)
        if match.group(2) is not None:
            found = cells(match.group(2), int(match.group(3))) if cells is not None else None
            return match.group(0) if found is None else found
        if name is None or name not in namespace or name in hidden:
            return match.group(0)
        value = namespace[name]
        return as_text(lambda: str(value), f"{{{name}}}", how="str()")

    return _FIELD.sub(substitute, text)


def resolve_system(value: str, namespace: Mapping[str, Any]) -> str:
    """`--system` is either the text itself or `$NAME` of a variable holding it."""
    if not value.startswith("$"):
        return value
    name = value[1:]
    if name not in namespace:
        raise BadInput(f"--system {value}: there is no variable {name!r}. Define it first, or quote the text.")
    return str(namespace[name])


def with_code_instruction(system: str | None) -> str:
    """The system prompt of a --code cell: the user's own first, then how the code will be used."""
    return f"{system}\n\n{CODE_INSTRUCTION}" if system else CODE_INSTRUCTION
