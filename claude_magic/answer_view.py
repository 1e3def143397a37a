"""How one answer appears in the notebook while it streams, and what stays once it is done.

Live updates are throttled (jupyter_server drops iopub messages past ~1000/s, and what gets lost is
the end of the answer); the final state is always drawn, as a static markdown bundle that a saved,
nbconvert-ed or nbclient-executed notebook keeps. Nothing here may lose the answer: if a live
surface fails, updates stop and the final text is printed instead.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import Any

from IPython.display import display

from .markdown import bundle, close_fences, markdown_of
from .throttle import Throttle

MODES = ("auto", "widget", "display", "text")


def pick_mode(shell: Any) -> str:
    """Widgets in a kernel, plain display updates without ipywidgets, printed deltas in a terminal."""
    if getattr(shell, "kernel", None) is None:
        return "text"
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return "display"
    return "widget"


class _WidgetSurface:
    def __init__(self, first: dict[str, str]):
        import ipywidgets

        self._out = ipywidgets.Output()
        self.show(first)
        # A frontend without the widget manager shows text/plain: the status, not "Output()".
        data = {**self._out._repr_mimebundle_(), "text/plain": first["text/plain"]}
        self._handle = display(data, raw=True, display_id=True)

    def show(self, data: dict[str, str]) -> None:
        self._out.outputs = ({"output_type": "display_data", "data": data, "metadata": {}},)

    def delta(self, text: str) -> None:
        pass

    def final(self, data: dict[str, str], footer: str) -> None:
        # The static bundle replaces the widget in the saved notebook; the widget itself is gone.
        self._handle.update(data, raw=True)
        self._out.close()


class _DisplaySurface:
    def __init__(self, first: dict[str, str]):
        self._handle = display(first, raw=True, display_id=True)

    def show(self, data: dict[str, str]) -> None:
        self._handle.update(data, raw=True)

    def delta(self, text: str) -> None:
        pass

    def final(self, data: dict[str, str], footer: str) -> None:
        self._handle.update(data, raw=True)


class _TextSurface:
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


_SURFACES = {"widget": _WidgetSurface, "display": _DisplaySurface, "text": _TextSurface}


class AnswerView:
    """One cell's answer: a status line, then the throttled live answer, then the static result.

    An answer may take several rounds (tool calls): finished rounds are kept in `done` and shown above
    the one that is streaming.
    """

    def __init__(self, mode: str, status: str, *, interval: float = 0.1, clock=time.monotonic):
        self.throttle = Throttle(interval, clock)
        self.done = ""
        self._surface = None
        self._text_mode = mode == "text"
        self._guard(lambda: setattr(self, "_surface", _SURFACES[mode](bundle(status))))

    def status(self, text: str) -> None:
        self._draw(text)

    def on_event(self, event: Any, snapshot: Callable[[], Any]) -> None:
        """Called for every SDK stream event; renders the snapshot when the throttle allows."""
        if self._surface is None:
            return
        if self._text_mode:
            text = _terminal_text(event)
            if text:
                self._guard(lambda: self._surface.delta(text))
        elif _shows_something(event) and self.throttle.ready():
            self._draw(markdown_of(snapshot()))

    def show_message(self, message: Any) -> None:
        """A whole answer at once (a replayed one): drawn now, whatever the throttle says."""
        markdown = markdown_of(message)
        if self._text_mode:
            self._guard(lambda: self._surface.delta(markdown))
        else:
            self._draw(markdown)

    def add_round(self, markdown: str) -> None:
        self.done = self._join(self.done, markdown)
        if self._text_mode:
            self._guard(lambda: self._surface.delta(f"\n{markdown.splitlines()[-1]}\n"))

    def finish(self, message: Any | None, footer: str, appendix: str = "") -> None:
        answer = self._join(self.done, close_fences(markdown_of(message)) if message is not None else "")
        markdown = self._join(answer, f"<sub>{footer}</sub>", appendix)
        data = {"text/markdown": markdown, "text/plain": self._join(answer, footer, appendix)}
        if self._surface is not None and self._guard(lambda: self._surface.final(data, footer)):
            return
        print(data["text/plain"])

    def _draw(self, markdown: str) -> None:
        """Show the finished rounds and then `markdown`, in place of what was shown before."""
        self._guard(lambda: self._surface.show(bundle(self._join(self.done, markdown))))

    @staticmethod
    def _join(*parts: str) -> str:
        return "\n\n".join(part for part in parts if part)

    def _guard(self, action: Callable[[], Any]) -> bool:
        """Run a surface action; on failure stop live updates instead of losing the answer."""
        try:
            action()
            return True
        except Exception as exc:  # noqa: BLE001 - any display failure must leave the answer intact
            if self._surface is not None:
                print(f"(claude_magic: live display failed: {exc!r}; showing the answer as text)", file=sys.stderr)
            self._surface = None
            return False


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


def _terminal_text(event: Any) -> str:
    """What a terminal prints for one event: text and thinking as they come, tool calls as they form."""
    if event.type in ("text", "thinking"):
        return getattr(event, event.type)
    if event.type == "input_json":
        return event.partial_json
    if event.type == "content_block_start" and event.content_block.type in ("tool_use", "thinking"):
        block = event.content_block
        return f"\n🔧 {block.name}(" if block.type == "tool_use" else "\n[thinking] "
    if event.type == "content_block_stop" and event.content_block.type in ("tool_use", "thinking"):
        return ")\n" if event.content_block.type == "tool_use" else "\n\n"
    return ""


def display_markdown(text: str) -> None:
    display({"text/markdown": text, "text/plain": text}, raw=True)
