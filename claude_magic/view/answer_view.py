"""How one answer appears in the notebook while it streams, and what stays once it is done.

While it streams, the answer is a column of outputs: segments of finished markdown blocks, each sent
once and never again, and below them the tail, the one output that updates (only it grows, so an update
costs what changed, not the answer so far — blocks.py says where markdown can be cut). Live updates are
throttled (jupyter_server drops iopub messages past ~1000/s, and what gets lost is the end of the
answer). Where the page has the notebook extension, the column is its stream renderer's one output, and
each update sends only what changed (renderer_surface.py); else with widgets the column is a widget tree
in one output; without, display handles, one output each (surface.py has what a surface does). The final
state is always drawn, as one static markdown bundle in the last output (the others emptied; with
widgets, in place of the tree), which a saved, nbconvert-ed or nbclient-executed notebook keeps; its text/plain, for frontends that show no markdown, is the answer up to `PLAIN` characters.
Nothing here may lose the answer: if a live surface fails, updates stop and the whole final text is
printed instead.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable
from typing import Any

from IPython.display import display

from .blocks import Cutter
from .markdown import bundle, close_fences, markdown_of
from .renderer_surface import RendererSurface
from .surface import Surface
from .throttle import Throttle

MODES = ("auto", "extension", "widget", "display", "text")
# The final bundle's text/plain holds the answer up to this many characters, then says where the rest is:
# a whole second copy would make a long answer's last message twice its size, and frontends that show
# markdown never read it. The markdown beside it is the whole answer.
PLAIN = 4000
# What an output taken back shows: nothing (markdown, like every other state of the answer's outputs).
_EMPTY = {"text/markdown": ""}
_INLINE_IMAGE = re.compile(r"!\[[^\]]*\]\(data:image/[a-z]+;base64,[A-Za-z0-9+/=]*\)")


def pick_mode(setting: str, shell: Any, frontend: Any = None) -> str:
    """The surface for the `display` setting: for "auto", the notebook extension's renderer where the page
    has it, else widgets in a kernel (ipywidgets is a dependency), printed deltas in a terminal. The
    renderer asked for where there is no extension is what "auto" picks there: it needs the page's half."""
    if setting not in ("auto", "extension"):
        return setting
    if frontend is not None and frontend.present:
        return "extension"
    return "text" if getattr(shell, "kernel", None) is None else "widget"


class _DisplaySurface(Surface):
    """Outputs drawn with display handles: sealed segments above, the tail (the last output) below."""

    outputs_limited = True  # each segment is one of the cell's outputs, of which a notebook shows 50

    def __init__(self, first: dict[str, str]):
        self._handles = [display(first, raw=True, display_id=True)]
        self._sealed = False  # the last output is a sealed segment: the next tail opens a new one

    def show(self, data: dict[str, str]) -> None:
        """Draw `data` as the tail."""
        if self._sealed:
            self._handles.append(display(data, raw=True, display_id=True))
            self._sealed = False
        else:
            self._handles[-1].update(data, raw=True)

    def seal(self, data: dict[str, str]) -> None:
        """Draw `data` in place of the tail, for good: it changes no more until the end."""
        if self._sealed:
            self._handles.append(display(data, raw=True, display_id=True))
        else:
            self._handles[-1].update(data, raw=True)
        self._sealed = True

    def mark(self) -> int:
        """Where the next thing drawn goes, for `rewind`."""
        return len(self._handles) - (0 if self._sealed else 1)

    def rewind(self, mark: int) -> None:
        """Take back what was drawn since `mark`: the output there becomes the tail, those after it empty."""
        if mark >= len(self._handles) or (mark == len(self._handles) - 1 and not self._sealed):
            return  # nothing drawn since, or only the tail
        for handle in self._handles[mark + 1 :]:
            handle.update(_EMPTY, raw=True)
        del self._handles[mark + 1 :]
        self._sealed = False

    def final(self, data: dict[str, str], footer: str) -> None:
        """The others emptied, the whole answer into the last output: the cell ends with it."""
        *others, last = self._handles
        for handle in others:
            handle.update(_EMPTY, raw=True)
        last.update(data, raw=True)


class _WidgetSurface(Surface):
    """One output holding a widget tree: an `ipywidgets.Output` per sealed segment, and the tail's below.

    Widgets sync one by one, so a segment's content is sent once, and an update re-sends only the tail.
    The Outputs come in groups of `FANOUT`, made empty all at once in a `VBox`, and are filled in turn:
    moving the tail on to the next one sends no `children` list (only a new group does, to the root, a
    list of groups). Being one output, the tree is not cut short by the 50 outputs a notebook shows per
    cell, so segments need not grow. The widgets share one `Layout` (each would make its own).
    """

    FANOUT = 8

    def __init__(self, first: dict[str, str]):
        import ipywidgets

        self._widgets = ipywidgets
        self._layout = ipywidgets.Layout()
        self._outputs: list[Any] = []
        self._groups: list[Any] = []
        self._root = ipywidgets.VBox(layout=self._layout)
        self._tail = 0  # which Output is the tail
        self._grow()
        self._draw(first)
        # A frontend without the widget manager shows text/plain: the status, not "VBox(...)".
        self._handle = display({**self._root._repr_mimebundle_(), "text/plain": first.get("text/plain", "…")},
                               raw=True, display_id=True)
        self._sealed = False  # the tail's Output holds a sealed segment: the next tail moves on

    def show(self, data: dict[str, str]) -> None:
        """Draw `data` as the tail."""
        if self._sealed:
            self._move_on()
        self._draw(data)

    def seal(self, data: dict[str, str]) -> None:
        """Draw `data` in place of the tail, for good: it changes no more until the end."""
        self.show(data)
        self._sealed = True

    def mark(self) -> int:
        """Where the next thing drawn goes, for `rewind`."""
        return self._tail + self._sealed

    def rewind(self, mark: int) -> None:
        """Take back what was drawn since `mark`: the Output there becomes the tail, those after it empty."""
        if mark > self._tail or (mark == self._tail and not self._sealed):
            return  # nothing drawn since, or only the tail
        for output in self._outputs[mark + 1 : self._tail + 1]:
            output.outputs = ()
        self._tail = mark
        self._sealed = False

    def final(self, data: dict[str, str], footer: str) -> None:
        """The static bundle replaces the tree in the output (and the saved notebook); the widgets close."""
        self._handle.update(data, raw=True)
        for widget in (*self._outputs, *self._groups, self._root, self._layout):
            widget.close()

    def _move_on(self) -> None:
        self._tail += 1
        self._sealed = False
        if self._tail == len(self._outputs):
            self._grow()

    def _grow(self) -> None:
        outputs = [self._widgets.Output(layout=self._layout) for _ in range(self.FANOUT)]
        self._outputs += outputs
        self._groups.append(self._widgets.VBox(outputs, layout=self._layout))
        self._root.children += (self._groups[-1],)

    def _draw(self, data: dict[str, str]) -> None:
        self._outputs[self._tail].outputs = ({"output_type": "display_data", "data": data, "metadata": {}},)


class _TextSurface(Surface):
    """Terminal IPython: status lines overwrite each other, deltas are printed as they come."""

    def __init__(self, first: dict[str, str]):
        self._streaming = False
        self.show(first)

    def show(self, data: dict[str, str]) -> None:
        if not self._streaming:
            sys.stdout.write(f"\r\x1b[K{data['text/plain']}")
            sys.stdout.flush()

    def delta(self, text: str) -> None:
        if not self._streaming:
            self._streaming = True
            sys.stdout.write("\r\x1b[K")
        sys.stdout.write(text)
        sys.stdout.flush()

    def final(self, data: dict[str, str], footer: str) -> None:
        print(f"\n\n{footer}" if self._streaming else f"\r\x1b[K{data['text/plain']}", flush=True)


_SURFACES = {"widget": _WidgetSurface, "display": _DisplaySurface, "text": _TextSurface,
             "extension": RendererSurface}


class AnswerView:
    """One cell's answer: a status line, then the throttled live answer, then the static result.

    An answer may take several rounds (tool calls): finished rounds are kept in `done` and shown above
    the one that is streaming.
    """

    # Finished blocks gather in the tail's output until they reach this many characters, then they are
    # sealed in it and the tail moves on to a new output: small enough that re-sending them with each
    # update costs little, large enough that an answer takes few outputs (or widgets: each costs ~1.6 kB
    # of iopub to open and close).
    SEGMENT = 1000
    # JupyterLab and Notebook 7 render only the first 50 outputs of a cell (`maxNumberOutputs`), hiding
    # the rest behind "Show more outputs". So where each segment is an output of its own (display mode;
    # widgets are all one output), past the first 30 segments (~30 kB) a segment is 35 % of what is sealed
    # before it (10 more reach 1 MB), and past 40 outputs the tail keeps what would have been sealed: a
    # long answer costs more per update than a short one, but always shows whole.
    FLAT = 30
    GROWTH = 0.35
    OUTPUTS = 40

    def __init__(self, mode: str, status: str, *, interval: float = 0.1, clock=time.monotonic, frontend: Any = None):
        self.throttle = Throttle(interval, clock)
        self.done = ""
        self._surface = None
        self._text_mode = mode == "text"
        self._block = ""  # the type of the content block streaming (a terminal prints only a tool call's input)
        extra = (frontend,) if mode == "extension" else ()
        self._guard(lambda: setattr(self, "_surface", _SURFACES[mode](bundle(status), *extra)))
        self._start_round()

    def status(self, text: str) -> None:
        """Show `text` in place of what this round has shown so far."""
        self._restart_round()
        self._guard(lambda: self._surface.show(bundle(text)))

    def on_event(self, event: Any, snapshot: Callable[[], Any]) -> None:
        """Called for every SDK stream event; shows what changed when the throttle allows."""
        if self._surface is None:
            return
        if self._text_mode:
            if event.type == "content_block_start":
                self._block = event.content_block.type
            text = _terminal_text(event, self._block)
            if text:
                self._guard(lambda: self._surface.delta(text))
        elif _shows_something(event) and self.throttle.ready():
            self._guard(lambda: self._advance(snapshot().content), streaming=True)

    def show_message(self, message: Any) -> None:
        """A whole answer at once (a replayed one): drawn now, whatever the throttle says."""
        markdown = markdown_of(message)
        if self._text_mode:
            self._guard(lambda: self._surface.delta(markdown))
        else:
            self.status(markdown)

    def aside(self, text: str) -> None:
        """What a terminal prints between the streamed deltas (citation markers, searches, sources): a
        notebook needs none of it, the live markdown shows it already."""
        if self._text_mode and self._surface is not None:
            self._guard(lambda: self._surface.delta(text))

    def add_round(self, markdown: str, plain: str = "") -> None:
        """A finished round (the tool calls and their results): shown for good, in place of its stream.

        A terminal prints `plain` if given, else the markdown's last line (a function's result)."""
        self.done = self._join(self.done, markdown)
        if self._text_mode:
            self._guard(lambda: self._surface.delta(f"\n{plain or markdown.splitlines()[-1]}\n"))
            return
        self._restart_round()
        self._guard(lambda: self._surface.seal({"text/markdown": markdown}))
        self._start_round()

    def finish(self, message: Any | None, footer: str, appendix: str = "") -> None:
        answer = self._join(self.done, close_fences(markdown_of(message)) if message is not None else "")
        markdown = self._join(answer, f"<sub>{footer}</sub>", appendix)
        data = {"text/markdown": markdown, "text/plain": self._join(_plain(answer), footer, appendix)}
        # A terminal has printed the answer as it came: what it still needs is the footer and the appendix.
        if self._surface is not None and self._guard(lambda: self._surface.final(data, self._join(footer, appendix))):
            return
        print(self._join(answer, footer, appendix))

    def _start_round(self) -> None:
        self._cutter = Cutter()
        self._segment = ""  # finished blocks shown in the tail's output, not yet sealed
        self._sealed = 0  # characters sealed in earlier outputs
        self._round = self._surface.mark() if self._surface is not None and not self._text_mode else 0

    def _restart_round(self) -> None:
        """Take back what this round's stream has shown (a retry starts it over; a status replaces it)."""
        if self._surface is not None and not self._text_mode:
            self._guard(lambda: self._surface.rewind(self._round))
        self._cutter = Cutter()
        self._segment = ""
        self._sealed = 0

    def _advance(self, content: list[Any]) -> None:
        """Seal the segment once its finished blocks are large enough, then show the rest as the tail.

        Live updates carry markdown only: the text/plain copy is for the final, static bundle.
        """
        finished, tail = self._cutter.advance(content)
        self._segment = self._join(self._segment, *finished)
        size, outputs = self.SEGMENT, 0
        if len(self._segment) >= self.SEGMENT and self._surface.outputs_limited:
            outputs = self._surface.mark()
            size = self.SEGMENT if outputs < self.FLAT else self.GROWTH * self._sealed
        sealed = len(self._segment) >= size and outputs < self.OUTPUTS
        if sealed:
            self._surface.seal({"text/markdown": self._segment})
            self._sealed += len(self._segment)
            self._segment = ""
        shown = self._join(self._segment, tail)
        if shown or not sealed:
            self._surface.show({"text/markdown": shown})

    @staticmethod
    def _join(*parts: str) -> str:
        return "\n\n".join(part for part in parts if part)

    def _guard(self, action: Callable[[], Any], *, streaming: bool = False) -> bool:
        """Run a surface action, and send what it drew (`streaming`: a throttled update of the stream, which
        a surface may hold back for the next); on failure stop live updates instead of losing the answer."""
        try:
            action()
            if self._surface is not None:
                self._surface.flush(streaming)
            return True
        except Exception as exc:  # noqa: BLE001 - any display failure must leave the answer intact
            if self._surface is not None:
                print(f"(claude_magic: live display failed: {exc!r}; showing the answer as text)", file=sys.stderr)
            self._surface = None
            return False


def _plain(answer: str) -> str:
    """The answer for a frontend that shows no markdown: whole, or its first `PLAIN` characters and a note.

    A picture inline in the markdown (a figure code made) is only named: its base64 would be noise."""
    answer = _INLINE_IMAGE.sub("[figure]", answer)
    if len(answer) <= PLAIN:
        return answer
    cut = answer.rfind("\n", 0, PLAIN) + 1 or PLAIN
    return f"{answer[:cut]}… ({len(answer) - cut:,} more characters: the whole answer is this output's markdown)"


def _shows_something(event: Any) -> bool:
    """Whether the event changes what the answer looks like.

    An empty text block's start changes nothing: spending the throttle on it would hold back the
    first delta, which usually arrives right behind it, for a whole interval.
    """
    if event.type == "content_block_delta":
        return True
    if event.type == "content_block_start":
        block = event.content_block
        return block.type != "text" or bool(block.text)
    return False


def _terminal_text(event: Any, block: str = "tool_use") -> str:
    """What a terminal prints for one event: text and thinking as they come, tool calls as they form
    (`block` is the type of the block streaming; a server tool's search is printed whole, by citations.py)."""
    if event.type in ("text", "thinking"):
        return getattr(event, event.type)
    if event.type == "input_json":
        return event.partial_json if block == "tool_use" else ""
    if event.type == "content_block_start" and event.content_block.type in ("tool_use", "thinking"):
        block = event.content_block
        return f"\n🔧 {block.name}(" if block.type == "tool_use" else "\n[thinking] "
    if event.type == "content_block_stop" and event.content_block.type in ("tool_use", "thinking"):
        return ")\n" if event.content_block.type == "tool_use" else "\n\n"
    return ""


def display_markdown(text: str) -> None:
    display({"text/markdown": text, "text/plain": text}, raw=True)
