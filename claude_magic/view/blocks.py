"""A streaming answer cut into finished markdown blocks, which never change again, and the growing tail.

Markdown can be cut where a block ends: before a line that starts a new block after a blank line, outside
a code fence. Not before an indented line (a list item's continuation, or indented code going on), nor
before the next item of a list whose items are apart (cut there, one list would render as several).
A table ends at a blank line like any block. Finished blocks can then be shown once, and only the tail
updated: what each update costs is what changed, not the whole answer so far.
"""

from __future__ import annotations

import re
from typing import Any

from .fences import CLOSE, INSIDE, Fences
from .markdown import block_markdown, close_fences

_LIST_ITEM = re.compile(r"([-+*]|\d{1,9}[.)])(\s|$)")


def finished_end(text: str, start: int = 0) -> int:
    """Where the finished blocks of `text[start:]` end (`start`, a place where a block begins, if none has).

    Only whole lines count: how a line begins is known once it has ended.
    """
    end = start
    fences = Fences()
    in_list = False
    after_blank = False
    line_start = start
    while (line_end := text.find("\n", line_start)) >= 0:
        line = text[line_start:line_end]
        stripped = line.lstrip()
        if fences.feed(line) in (INSIDE, CLOSE):
            pass  # a fence's content and its closing line start no block
        elif not stripped:
            after_blank = True
        else:
            if (line_start == start or after_blank) and line[0] not in " \t":
                item = bool(_LIST_ITEM.match(line))
                if after_blank and not (item and in_list):
                    end = line_start
                in_list = item
            after_blank = False
        line_start = line_end + 1
    return end


class Cutter:
    """Follows one message's content blocks as they stream in: what newly finished, and the tail.

    Each call looks only at what came since the last one (and the tail): the finished part is never
    read again.
    """

    def __init__(self) -> None:
        self._block = 0  # the first content block not yet wholly handed out
        self._offset = 0  # how much of that block's text has been handed out, finished
        self._words = _Words()

    def advance(self, content: list[Any]) -> tuple[list[str], str]:
        """(markdown pieces finished since the last call, each standing on its own; the tail's markdown)."""
        finished = []
        while self._block < len(content) - 1:  # a block is done once the next one has started
            block = content[self._block]
            finished.append(block.text[self._offset:] if block.type == "text" else block_markdown(block))
            self._block += 1
            self._offset = 0
            self._words = _Words()
        if not content:
            return finished, ""
        block = content[-1]
        if block.type == "text":
            end = finished_end(block.text, self._offset)
            if end > self._offset:
                finished.append(block.text[self._offset : end])
                self._offset = end
            tail = close_fences(block.text[end:])
        elif block.type == "thinking":
            # Shown whole once done; meanwhile how far it has got (a re-rendered <details> closes anyway).
            words = self._words.count(block.thinking)
            tail = f"<details><summary>Thinking… ({words:,} words)</summary>\n\n</details>"
        else:
            tail = block_markdown(block)
        return [piece.rstrip() for piece in finished if piece.strip()], tail


class _Words:
    """Words in a growing text, counting each part of it once."""

    def __init__(self) -> None:
        self._counted = 0  # up to the last whitespace seen
        self._words = 0

    def count(self, text: str) -> int:
        cut = max(text.rfind(" ", self._counted), text.rfind("\n", self._counted)) + 1
        if cut > self._counted:
            self._words += len(text[self._counted : cut].split())
            self._counted = cut
        return self._words + len(text[self._counted :].split())
