"""Offline answers for a tool that runs code (`%%claude --run`): a small snippet first, then what it did.

A tool counts as running code when its schema asks for one string property named `code`, whatever the
tool is called, as a model would read it.
"""

from __future__ import annotations

import re
from typing import Any

_WORD = re.compile(r"\w[\w'-]*")
_PLOT = re.compile(r"\b(plot|chart|graph|figure|draw|histogram|visuali[sz]e)", re.IGNORECASE)


def runs_code(tool: dict[str, Any]) -> bool:
    schema = tool.get("input_schema") or {}
    code = (schema.get("properties") or {}).get("code") or {}
    return code.get("type") == "string" and schema.get("required") == ["code"]


def snippet(prompt: str) -> str:
    """A few lines of Python about the prompt's own words: a count printed, a value, and a figure when
    the prompt asks for a plot."""
    words = _WORD.findall(prompt)[:12] or ["example"]
    lines = [
        f"words = {words!r}",
        "lengths = {word: len(word) for word in words}",
        'print(f"{len(words)} words; the longest is {max(words, key=len)!r}")',
    ]
    if _PLOT.search(prompt):
        lines += [
            "import matplotlib.pyplot as plt",
            "fig, ax = plt.subplots(figsize=(5, 2.5))",
            "ax.bar(list(lengths), list(lengths.values()))",
            "ax.tick_params(axis='x', rotation=45)",
            'ax.set_title("Letters per word")',
        ]
    lines.append("sorted(lengths, key=lengths.get)[-3:]")
    return "\n".join(lines)


def explained(result: dict[str, Any], texts: list[str], quote: Any) -> str:
    """What the code's result shows, said in a sentence or two."""
    output = " ".join(texts).strip()
    pictures = sum(1 for block in result.get("content") or [] if isinstance(block, dict)
                   and block.get("type") == "image")
    if isinstance(result.get("content"), str):  # not run at all: declined, or no one could be asked
        return (f"The code was not run (“{quote(output, 30)}”). Without running it I can only say what it "
                "would do: count the words of your question and name the longest.")
    if result.get("is_error"):
        last = output.splitlines()[-1] if output else "an error"
        return (f"The code did not run as planned: “{quote(last, 30)}”. I would fix that and try again; "
                "in this offline simulation I stop here.")
    seen = f" It drew {pictures} figure{'s' if pictures > 1 else ''}, which I can see." if pictures else ""
    return (f"I ran the code in your notebook. It printed: “{quote(output, 40)}”.{seen} The variables it made "
            "(`words`, `lengths`) are in your notebook now.")
