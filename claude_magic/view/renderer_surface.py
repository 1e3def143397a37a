"""The answer streamed to the notebook extension's renderer: the kernel sends new text only.

An `ipywidgets.Output` cannot be appended to, and every update of a display re-sends what it holds; the
extension's renderer (labextension/src/stream.ts) keeps the text in the page, so each update carries only
what changed. The kernel displays one output of `MIME` (the stream's id and the first status line), then
sends the changes over the `claude_magic` comm, one message per throttled update:

    {"type": "stream", "n": N, "ops": [...]}

where each op changes the page's copy — sealed segments, each rendered once, and the tail, re-rendered:

    ["t", keep, text]   the tail becomes its first `keep` characters, then `text`
    ["z"]               the tail is sealed: it becomes a segment, and the new tail is empty
    ["r", mark]         segments from `mark` on are taken back; the one at `mark` (if any) is the tail again

At the end one message says what the output is to hold for good, built from the page's text (the
segments and the tail joined by blank lines), which it mostly repeats:

    {"type": "stream", "n": N, "end": {"markdown": [[start, length] | text, ...], "plain": [keep, text]}}

the static markdown being those stretches of the page's text and those texts, one after another; its
text/plain, the markdown cut at `keep`, then `text`. The page puts a display of that bundle in place of
the stream's output, so the saved notebook holds the same static markdown a widget answer leaves — and
the kernel sends no second copy of the answer. Offsets count UTF-16 code units, as the page's strings do.

If the comm is gone by the end (the extension unloaded), the static bundle goes by the display, whole.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable
from difflib import SequenceMatcher
from typing import Any

from IPython.display import display

from .surface import Surface

MIME = "application/vnd.claude-magic.stream+json"
_SEPARATOR = "\n\n"


def common_prefix(a: str, b: str) -> int:
    """How many characters `a` and `b` share at their start (compared in C, halving: an answer is long)."""
    size = min(len(a), len(b))
    if a[:size] == b[:size]:
        return size
    low, high = 0, size  # a[:low] == b[:low]; a[:high] != b[:high]
    while high - low > 1:
        middle = (low + high) // 2
        if a[low:middle] == b[low:middle]:
            low = middle
        else:
            high = middle
    return low


def utf16(text: str) -> int:
    """The length of `text` in the page's string units."""
    return len(text.encode("utf-16-le")) // 2


def page_text(segments: list[str], tail: str) -> str:
    """The text the page holds: what each segment and the tail show, one after another."""
    return _SEPARATOR.join(part for part in (*segments, tail) if part)


def change(old: str, new: str) -> tuple[int, str] | None:
    """`new` as `old` cut at some point, then text: (where, in the page's units; the text), or None if equal."""
    keep = common_prefix(old, new)
    if keep == len(old) == len(new):
        return None
    return utf16(old[:keep]), new[keep:]


def patch(old: str, new: str) -> list[list[int] | str]:
    """`new` as stretches of `old` ([start, length], in the page's units) and the texts between them.

    The page's text is the final answer but for its end (the footer) and what the live view shows
    differently (the tail's closed fence, a trailing space cut): lines are matched, and within lines that
    differ, their common start and end are kept too.
    """
    old_lines, new_lines = old.splitlines(keepends=True), new.splitlines(keepends=True)
    starts = list(itertools.accumulate(map(utf16, old_lines), initial=0))
    pieces: list[list[int] | str] = []
    for tag, i1, i2, j1, j2 in SequenceMatcher(None, old_lines, new_lines).get_opcodes():
        if tag == "equal":
            pieces.append([starts[i1], starts[i2] - starts[i1]])
            continue
        was, now = "".join(old_lines[i1:i2]), "".join(new_lines[j1:j2])
        head = common_prefix(was, now)
        tail = common_prefix(was[head:][::-1], now[head:][::-1])
        if head:
            pieces.append([starts[i1], utf16(was[:head])])
        if len(now) - head - tail:
            pieces.append(now[head : len(now) - tail])
        if tail:
            pieces.append([starts[i2] - utf16(was[len(was) - tail :]), utf16(was[len(was) - tail :])])
    return pieces


class RendererSurface(Surface):
    """The answer's output as the extension renders it: one output, changed by comm messages.

    Changes gather and go as one message when `flush`ed (the view flushes after each of its actions), so a
    segment sealed and the tail moved on in one throttle tick cost one message. A message costs ~600 bytes
    besides its text (the Jupyter envelope: header, parent header, comm id): a streaming update that would
    carry less new text than that waits until `FLOOR` seconds after the last message. Updates faster than
    ten a second (an `update_interval` under 0.1) are sent only when they are worth their envelope; at 0.1
    and above the rule never holds one back, and what it holds back goes with the next event, as the
    throttle's does.
    """

    ENVELOPE = 600
    FLOOR = 0.1
    _numbers = itertools.count(1)

    def __init__(self, first: dict[str, str], frontend: Any, clock: Callable[[], float] = time.monotonic):
        self._frontend = frontend
        self._clock = clock
        self._number = next(self._numbers)
        self._segments: list[str] = []
        self._tail = self._page_tail = first["text/markdown"]  # what the tail is to show; what the page has
        self._ops: list[list[Any]] = []
        self._sent = float("-inf")
        stream = {"id": f"{frontend.token}:{self._number}", "text": self._tail}
        self._handle = display({MIME: stream, "text/plain": first["text/plain"]}, raw=True, display_id=True)

    def show(self, data: dict[str, str]) -> None:
        """Draw `data` as the tail."""
        self._tail = data["text/markdown"]

    def seal(self, data: dict[str, str]) -> None:
        """Draw `data` in place of the tail, for good: it changes no more until the end."""
        self._tail = data["text/markdown"]
        self._send_tail(change(self._page_tail, self._tail))
        self._ops.append(["z"])
        self._segments.append(self._tail)
        self._tail = self._page_tail = ""

    def mark(self) -> int:
        """Where the next thing drawn goes, for `rewind`."""
        return len(self._segments)

    def rewind(self, mark: int) -> None:
        """Take back what was drawn since `mark`: the segment there becomes the tail, those after it go."""
        if mark >= len(self._segments):
            return  # nothing sealed since: the tail is what the next show replaces
        self._ops.append(["r", mark])
        self._tail = self._page_tail = self._segments[mark]
        del self._segments[mark:]

    def flush(self, streaming: bool = False) -> None:
        """Send what changed, unless it is only a little more of the streaming tail, sooner than `FLOOR` after
        the last message (a status, a finished round, is always sent at once)."""
        edit = change(self._page_tail, self._tail)
        if not self._ops:
            if edit is None:
                return
            if streaming and len(edit[1]) < self.ENVELOPE and self._clock() - self._sent < self.FLOOR:
                return
        self._send_tail(edit)
        ops, self._ops = self._ops, []
        self._frontend.send({"type": "stream", "n": self._number, "ops": ops})
        self._sent = self._clock()

    def final(self, data: dict[str, str], footer: str) -> None:
        """The page makes the static bundle from what it has; without the extension, the display gets it."""
        self._ops = []
        if not self._frontend.present:
            self._handle.update(data, raw=True)
            return
        markdown, plain = data["text/markdown"], data["text/plain"]
        end = {"markdown": patch(page_text(self._segments, self._page_tail), markdown),
               "plain": change(markdown, plain) or (utf16(plain), "")}
        self._frontend.send({"type": "stream", "n": self._number, "end": end})

    def _send_tail(self, edit: tuple[int, str] | None) -> None:
        """The tail's change (`change` from what the page has to what it is to show) as the next op."""
        if edit is not None:
            self._ops.append(["t", *edit])
            self._page_tail = self._tail
