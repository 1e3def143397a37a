"""`--out VAR`: which names an answer may be stored under in the user's namespace.

The answer must not land on a name the shell itself lives by: IPython runs every magic as
`get_ipython().run_cell_magic(…)` in the user's namespace, keeps the history in `In`/`Out`/`_ih`/`_oh`/
`_i<N>`/`_<N>`, and `print`, `len`, `display`… are looked up there before the builtins. Shadowing one of
them breaks every later cell, so such a name is refused in one line before anything is sent.
"""

from __future__ import annotations

import builtins
import keyword
import re
from typing import Any

from .failures import BadInput

# IPython's own names (its `user_ns_hidden` when a shell is at hand adds whatever this version keeps).
SHELL_NAMES = frozenset({"In", "Out", "exit", "quit", "get_ipython", "_", "__", "___", "_ih", "_oh", "_dh"})
# `_i`, `_ii`, `_iii`, `_i7` (the inputs), `_7` (the output of cell 7): made as cells run, so not all hidden yet.
_HISTORY = re.compile(r"_(?:i{1,3}|i\d+|\d+)")


def check_out(name: str | None, shell: Any = None) -> None:
    """Refuse, in one line, an `--out` name that is not a variable name or that the shell needs."""
    if name is None:
        return
    if not name.isidentifier() or keyword.iskeyword(name):
        raise BadInput(f"--out needs a variable name, not {name!r}.")
    hidden = getattr(shell, "user_ns_hidden", None) or {}
    if name in SHELL_NAMES or _HISTORY.fullmatch(name) or name in hidden:
        why = "IPython's own: it runs every magic and keeps the history through it"
    elif hasattr(builtins, name):
        why = "a builtin that later cells look up"
    else:
        return
    raise BadInput(f"--out {name}: that name is {why}, and storing the answer there would break later "
                   "cells. Pick another, e.g. `--out answer`.")
