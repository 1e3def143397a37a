"""Fenced code blocks in markdown: finding the code of an answer, and fencing text safely.

Pure functions over strings, following CommonMark's fences (``` or ~~~, three or more; a block is
closed by a fence of the same character at least as long; an unclosed block runs to the end). One
liberty: a fence may be indented any amount, since models indent fences inside list items.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_OPENING = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
# What models write on a fence for Python a notebook runs; an untagged block counts only when none is tagged.
PYTHON = frozenset({"python", "py", "python3", "py3", "ipython", "ipython3", "jupyter"})


@dataclass(frozen=True)
class CodeBlock:
    language: str  # the first word of the info string, lower-cased ("" when untagged)
    code: str


def code_blocks(markdown: str) -> list[CodeBlock]:
    """Every fenced code block of `markdown`, in order (a fence inside a longer fence is content)."""
    blocks: list[CodeBlock] = []
    lines = markdown.splitlines()
    position = 0
    while position < len(lines):
        opening = _OPENING.match(lines[position])
        position += 1
        if opening is None or (opening["fence"][0] == "`" and "`" in opening["info"]):
            continue
        fence, indent = opening["fence"], len(opening["indent"])
        closing = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
        body = []
        while position < len(lines) and not closing.match(lines[position]):
            body.append(_dedent(lines[position], indent))
            position += 1
        position += 1  # past the closing fence
        words = opening["info"].split()
        blocks.append(CodeBlock(words[0].lower() if words else "", "\n".join(body)))
    return blocks


def cell_code(markdown: str) -> str | None:
    """The code a notebook cell should get from an answer: its Python blocks joined, without fences or prose.

    Blocks tagged as Python are taken; untagged blocks only when there is no tagged one (they are often
    sample output beside the code). None when the answer has no such block.
    """
    blocks = [block for block in code_blocks(markdown) if block.code.strip()]
    chosen = [b for b in blocks if b.language in PYTHON] or [b for b in blocks if not b.language]
    if not chosen:
        return None
    return "\n\n".join(block.code.strip("\n") for block in chosen)


def fenced(text: str, language: str = "") -> str:
    """`text` in a code fence longer than any run of backticks inside it, so nothing in it can close it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{text}\n{fence}"


def code_span(text: str) -> str:
    """`text` as inline code no backtick inside it can end (CommonMark: a longer delimiter, padded)."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    if not longest:
        return f"`{text}`"
    fence = "`" * (longest + 1)
    return f"{fence} {text} {fence}"


def _dedent(line: str, indent: int) -> str:
    """`line` without up to `indent` leading spaces (a fenced block's content is indented like its fence)."""
    stripped = len(line) - len(line.lstrip(" \t"))
    return line[min(stripped, indent):]
