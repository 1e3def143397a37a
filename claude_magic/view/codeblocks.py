"""Fenced code blocks in markdown: finding the code of an answer, and fencing text safely.

Pure functions over strings; where a block opens and closes is fences.py's (CommonMark's rules).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .fences import INSIDE, OPEN, Fences

# What models write on a fence for Python a notebook runs; an untagged block counts only when none is tagged.
PYTHON = frozenset({"python", "py", "python3", "py3", "ipython", "ipython3", "jupyter"})


@dataclass(frozen=True)
class CodeBlock:
    language: str  # the first word of the info string, lower-cased ("" when untagged)
    code: str
    closed: bool = True  # False: the text ended inside it (an answer cut short)


def code_blocks(markdown: str) -> list[CodeBlock]:
    """Every fenced code block of `markdown`, in order (a fence inside a longer fence is content)."""
    blocks: list[CodeBlock] = []
    fences = Fences()
    body: list[str] = []
    for line in markdown.splitlines():
        fence = fences.fence
        state = fences.feed(line)
        if state == INSIDE:
            body.append(_dedent(line, fence.indent))
            continue
        if fence is not None:  # closed by this line, or by the end of the list item it was in
            blocks.append(CodeBlock(fence.language, "\n".join(body)))
        if state == OPEN:
            body = []
    if fences.fence is not None:
        blocks.append(CodeBlock(fences.fence.language, "\n".join(body), closed=False))
    return blocks


def cell_blocks(markdown: str) -> list[CodeBlock]:
    """The blocks a notebook cell should get from an answer: its Python ones (maybe none).

    Blocks tagged as Python are taken; untagged blocks only when there is no tagged one (they are often
    sample output beside the code).
    """
    blocks = [block for block in code_blocks(markdown) if block.code.strip()]
    return [b for b in blocks if b.language in PYTHON] or [b for b in blocks if not b.language]


def cell_code(markdown: str) -> str | None:
    """The code a notebook cell should get from an answer: its Python blocks joined, without fences or prose.

    None when the answer has no such block.
    """
    chosen = cell_blocks(markdown)
    if not chosen:
        return None
    return "\n\n".join(block.code.strip("\n") for block in chosen)


def fenced(text: str, language: str = "") -> str:
    """`text` in a code fence longer than any run of backticks inside it, so nothing in it can close it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{text}\n{fence}"


def _dedent(line: str, indent: int) -> str:
    """`line` without up to `indent` leading spaces (a fenced block's content is indented like its fence)."""
    stripped = len(line) - len(line.lstrip(" \t"))
    return line[min(stripped, indent):]
