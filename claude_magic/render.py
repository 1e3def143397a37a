"""How one answer appears in the notebook while it streams, and what stays once it is done.

Live updates are throttled (jupyter_server drops iopub messages past ~1000/s, and what gets lost is
the end of the answer); the final state is always drawn, as a static markdown bundle that a saved,
nbconvert-ed or nbclient-executed notebook keeps. Nothing here may lose the answer: if a live
surface fails, updates stop and the final text is printed instead.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import Any

from IPython.display import display

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


def markdown_of(message: Any) -> str:
    """The answer as markdown, one part per content block, in the order Claude sent them."""
    parts = []
    for block in message.content:
        kind = block.type
        if kind == "text":
            parts.append(block.text)
        elif kind == "thinking":
            parts.append(f"<details><summary>Thinking</summary>\n\n{block.thinking}\n\n</details>")
        elif kind == "redacted_thinking":
            parts.append("*(redacted thinking)*")
        elif kind in ("tool_use", "server_tool_use"):
            arguments = json.dumps(block.input, ensure_ascii=False) if block.input else ""
            parts.append(f"🔧 `{block.name}({arguments})`")
        else:
            parts.append(f"*({kind.replace('_', ' ')})*")
    return "\n\n".join(part for part in parts if part)


def close_fences(text: str) -> str:
    """Close a code fence left open by a partial answer, so what follows is not swallowed by it."""
    fences = sum(1 for line in text.splitlines() if line.lstrip().startswith("```"))
    return text + "\n```" if fences % 2 else text


class Throttle:
    """Lets an update through at most once per `interval` seconds of `clock`; the first at once."""

    def __init__(self, interval: float, clock: Callable[[], float] = time.monotonic):
        self.interval = interval
        self.clock = clock
        self._next = float("-inf")

    def ready(self) -> bool:
        now = self.clock()
        if now < self._next:
            return False
        self._next = now + self.interval
        return True


def bundle(markdown: str) -> dict[str, str]:
    return {"text/markdown": markdown, "text/plain": markdown}


class _WidgetSurface:
    def __init__(self, first: dict[str, str]):
        import ipywidgets

        self._out = ipywidgets.Output()
        self.show(first)
        self._handle = display(self._out, display_id=True)

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
    """One cell's answer: a status line, then the throttled live answer, then the static result."""

    def __init__(self, mode: str, status: str, *, interval: float = 0.1, clock=time.monotonic):
        self.throttle = Throttle(interval, clock)
        self.updates = 0
        self._surface = None
        self._text_mode = mode == "text"
        self._guard(lambda: setattr(self, "_surface", _SURFACES[mode](bundle(status))))

    def status(self, text: str) -> None:
        self._guard(lambda: self._surface.show(bundle(text)))

    def on_event(self, event: Any, snapshot: Callable[[], Any]) -> None:
        """Called for every SDK stream event; renders the snapshot when the throttle allows."""
        if self._surface is None:
            return
        if self._text_mode:
            if event.type == "text":
                self._guard(lambda: self._surface.delta(event.text))
        elif event.type in ("content_block_delta", "content_block_start") and self.throttle.ready():
            self.updates += 1
            self._guard(lambda: self._surface.show(bundle(markdown_of(snapshot()))))

    def finish(self, message: Any | None, footer: str) -> None:
        answer = close_fences(markdown_of(message)) if message is not None else ""
        markdown = f"{answer}\n\n<sub>{footer}</sub>" if answer else f"<sub>{footer}</sub>"
        data = {"text/markdown": markdown, "text/plain": f"{answer}\n\n{footer}" if answer else footer}
        if self._surface is not None and self._guard(lambda: self._surface.final(data, footer)):
            return
        print(data["text/plain"])

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


def footer(message: Any | None, *, model: str, seconds: float, first_token: float | None, state: str | None,
           max_tokens: int | None = None) -> str:
    """One compact line: model · tokens · how it ended · time to first token · total time."""
    parts = [getattr(message, "model", None) or model]
    if message is not None:
        usage = message.usage
        parts.append(f"{usage.input_tokens:,} in / {usage.output_tokens:,} out")
        for label, value in (("cache read", usage.cache_read_input_tokens),
                             ("cache write", usage.cache_creation_input_tokens)):
            if value:
                parts.append(f"{label} {value:,}")
    parts.append(state or getattr(message, "stop_reason", None) or "no answer")
    if first_token is not None:
        parts.append(f"first token {first_token:.2f} s")
    parts.append(f"{seconds:.1f} s")
    line = " · ".join(parts)
    if state is None and getattr(message, "stop_reason", None) == "max_tokens":
        line += (f" — cut at max_tokens ({max_tokens}): raise it with `--max-tokens N` "
                 "or `%config ClaudeMagics.max_tokens = N`")
    return line
