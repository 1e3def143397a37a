"""The simulator's answer to a failed cell with a misspelt name (`%claude fix`, "Fix with Claude").

A model reading `NameError: name 'value' is not defined` in a cell that also uses `values` says it is a
typo and gives the cell corrected. The simulator does the same when the cell holds exactly such a near
name, deterministically; for any other failure it answers as for any prompt.
"""

from __future__ import annotations

import difflib
import re

_CELL = re.compile(r"^Cell \[[0-9]+\]:\n(`{3,})python\n(.*?)\n\1$", re.DOTALL | re.MULTILINE)
_NAME_ERROR = re.compile(r"NameError: name '([A-Za-z_][A-Za-z0-9_]*)' is not defined")
_IDENTIFIER = re.compile(r"\b[A-Za-z_][A-Za-z0-9_]*\b")


def fixed(prompt: str) -> str | None:
    """The answer to a failed-cell prompt whose NameError is a near miss of a name the cell uses, else None."""
    cell, error = _CELL.search(prompt), _NAME_ERROR.search(prompt)
    if cell is None or error is None:
        return None
    source, missing = cell.group(2), error.group(1)
    names = sorted({name for name in _IDENTIFIER.findall(source) if name != missing})
    near = difflib.get_close_matches(missing, names, n=1, cutoff=0.75)
    if not near:
        return None
    corrected = re.sub(rf"\b{re.escape(missing)}\b", near[0], source)
    return (f"`{missing}` is not defined: the cell uses `{near[0]}` everywhere else, so `{missing}` is a typo for "
            f"it.\n\n```python\n{corrected}\n```\n\n"
            "This is the offline simulator's answer: generated locally from your prompt, without calling Claude.")
