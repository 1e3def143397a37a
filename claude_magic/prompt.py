"""Turning a cell into a prompt: `{name}` interpolation that never trips over braces."""

from __future__ import annotations

import re
from collections.abc import Container, Mapping
from typing import Any

from .errors import BadInput

# `{{` and `}}` are matched first so that doubled braces stay exactly as written.
_FIELD = re.compile(r"\{\{|\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")


def interpolate(text: str, namespace: Mapping[str, Any], hidden: Container[str] = ()) -> str:
    """Replace `{name}` by `str(value)` for the notebook's own variables; leave everything else.

    JSON, code, `{{…}}`, unknown names and IPython's hidden variables (In, Out, _, …) are sent
    verbatim, and a value whose `str()` fails is left as its `{name}`.
    """

    def substitute(match: re.Match) -> str:
        name = match.group(1)
        if name is None or name not in namespace or name in hidden:
            return match.group(0)
        try:
            return str(namespace[name])
        except Exception:  # noqa: BLE001 - a broken __str__ must not break the cell
            return match.group(0)

    return _FIELD.sub(substitute, text)


def resolve_system(value: str, namespace: Mapping[str, Any]) -> str:
    """`--system` is either the text itself or `$NAME` of a variable holding it."""
    if not value.startswith("$"):
        return value
    name = value[1:]
    if name not in namespace:
        raise BadInput(f"--system {value}: there is no variable {name!r}. Define it first, or quote the text.")
    return str(namespace[name])
