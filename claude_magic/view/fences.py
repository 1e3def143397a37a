"""Code fences by CommonMark's rules: the one fence parser that blocks, codeblocks and markdown use.

A fence is a run of three or more backticks or tildes, indented at most three spaces (counted from where
the content of the list item it is in starts); a backtick fence's info string holds no backtick. Its
block is closed by a fence of the same character, at least as long, with nothing after it but spaces — so
a ```` fence holds ``` lines as content, and ``` and ~~~ never close each other — or by the end of the
list item it is in (a line indented less than the item's content, after which it is read anew); an
unclosed block runs to the end of the text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_OPENING = re.compile(r"(?P<fence>`{3,}|~{3,})(?P<info>.*)")
# A list item's marker and the spaces after it; the item's content starts after them (after one space
# when there are five or more: the rest is the content's own indentation).
_ITEM = re.compile(r"(?P<marker> {0,3}(?:[-+*]|\d{1,9}[.)]))(?P<space> +|$)")
_ITEM_STARTS = frozenset("-+*0123456789")
_FENCE_CHARS = ("`", "~")  # `"x"[:1] in` them: the empty string is not
OUTSIDE, OPEN, INSIDE, CLOSE = "outside", "open", "inside", "close"


@dataclass(frozen=True)
class Fence:
    char: str  # "`" or "~"
    length: int
    indent: int  # columns before it: a block's lines lose up to this many
    info: str  # what follows the fence on its line, stripped ("python", "py title=x", "")

    @property
    def closing(self) -> str:
        """The shortest fence that closes this one."""
        return self.char * self.length

    @property
    def language(self) -> str:
        words = self.info.split()
        return words[0].lower() if words else ""

    def closed_by(self, line: str, container: int = 0) -> bool:
        indent = _indent(line)
        run = line.strip()
        return (indent - container <= 3 and len(run) >= self.length and run == self.char * len(run))


def opening(line: str, container: int = 0) -> Fence | None:
    """The fence `line` opens, if it opens one (inside a list item whose content starts at `container`)."""
    indent = _indent(line)
    if not 0 <= indent - container <= 3:
        return None
    match = _OPENING.fullmatch(line.expandtabs(4).strip())
    if match is None:
        return None
    fence, info = match["fence"], match["info"].strip()
    if fence[0] == "`" and "`" in info:
        return None  # an inline code span, not a fence
    return Fence(fence[0], len(fence), indent, info)


class Fences:
    """Follows markdown line by line, saying for each whether it opens, closes, is inside or is outside a fence."""

    def __init__(self) -> None:
        self.fence: Fence | None = None  # the open fence, while inside one
        self._container = 0  # where the content of the list item being read starts (0: not in one)
        self._blank = False  # the last line was blank

    def feed(self, line: str) -> str:
        # Only a line's first character decides whether the slower checks run: this is read on every
        # update of a streaming answer.
        stripped = line.lstrip()
        if self.fence is not None:
            if self._container and stripped and _indent(line) < self._container:
                self.fence = None  # the list item ends, and with it its fence: the line is read anew
                self._container = 0
            elif stripped[:1] == self.fence.char and self.fence.closed_by(line, self._container):
                self.fence = None
                return CLOSE
            else:
                return INSIDE
        if not stripped:
            self._blank = True
            return OUTSIDE
        first = stripped[0]
        fence = None
        item = _ITEM.match(line.expandtabs(4)) if first in _ITEM_STARTS else None
        if item and _indent(line) < self._container + 4:
            space = len(item["space"])
            self._container = len(item["marker"]) + (space if 1 <= space <= 4 else 1)
            rest = line.expandtabs(4)[len(item[0]):]
            if rest.lstrip()[:1] in _FENCE_CHARS:
                fence = opening(" " * self._container + rest, self._container)
        else:
            candidate = first in _FENCE_CHARS
            if self._container and _indent(line) < self._container and (
                    self._blank or (candidate and opening(line) is not None)):
                self._container = 0  # past the list; a fence there is the list's end, not its content
            if candidate:
                fence = opening(line, self._container)
        self._blank = False
        if fence is None:
            return OUTSIDE
        self.fence = fence
        return OPEN


def unclosed(text: str) -> Fence | None:
    """The fence still open at the end of `text`, if one is."""
    fences = Fences()
    for line in text.splitlines():
        fences.feed(line)
    return fences.fence


def _indent(line: str) -> int:
    expanded = line.expandtabs(4)
    return len(expanded) - len(expanded.lstrip(" "))
