"""Asking the user whether code Claude wrote may run: one `input()`, which Jupyter turns into its own input box.

`input()` is looked up when asking, not imported: ipykernel puts its stdin-channel version in builtins.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass

PROMPT = "Run this code? [y]es / [n]o / [a]ll in this cell — or type what to do instead: "
_YES = ("y", "yes")
_ALL = ("a", "all")
_NO = ("", "n", "no")


@dataclass(frozen=True)
class Verdict:
    """The user's answer: run it (and the rest of the cell's code, with `every`), or not and why."""

    run: bool
    every: bool = False
    reason: str = ""
    asked: bool = True  # False: no one could be asked (no input box), so nothing runs


def ask() -> Verdict:
    """Ask once. Enter alone declines: running code is never the default. Stop (KeyboardInterrupt) passes."""
    from IPython.core.error import StdinNotImplementedError

    try:
        reply = builtins.input(PROMPT)
    except (StdinNotImplementedError, EOFError):
        return Verdict(run=False, asked=False)
    word = reply.strip()
    if word.lower() in _YES:
        return Verdict(run=True)
    if word.lower() in _ALL:
        return Verdict(run=True, every=True)
    if word.lower() in _NO:
        return Verdict(run=False)
    return Verdict(run=False, reason=word)


def refusal(verdict: Verdict, tool: str) -> str:
    """What Claude is told when the code did not run."""
    if not verdict.asked:
        return ("The code did not run: the user could not be asked for approval (this notebook runs without an "
                f"input box, e.g. under nbconvert or nbclient). Do not call {tool} again now; answer without "
                "running code.")
    if verdict.reason:
        return f"The user did not run this code, and said instead: {verdict.reason}"
    return "The user declined to run this code."
