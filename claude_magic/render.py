"""How one answer appears in the notebook while it streams, and what stays once it is done.

Live updates are throttled (jupyter_server drops iopub messages past ~1000/s, and what gets lost is
the end of the answer); the final state is always drawn, as a static markdown bundle that a saved,
nbconvert-ed or nbclient-executed notebook keeps. Nothing here may lose the answer: if a live
surface fails, updates stop and the final text is printed instead.
"""

from __future__ import annotations

import html
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
            words = len(block.thinking.split())
            parts.append(f"<details><summary>Thinking ({words:,} words)</summary>\n\n{block.thinking}\n\n</details>")
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


RAW_EVENTS = frozenset({"message_start", "content_block_start", "content_block_delta", "content_block_stop",
                        "message_delta", "message_stop"})


def event_record(event: Any, milliseconds: float) -> tuple[float, str, Any, int]:
    """(ms since the request, event type, block index, size of what the event carries)."""
    delta = getattr(event, "delta", None)
    size = 0
    if event.type == "content_block_delta":
        size = len(getattr(delta, delta.type.removesuffix("_delta"), None) or getattr(delta, "partial_json", "") or "")
    return milliseconds, event.type, getattr(event, "index", None), size


def timeline(records: list[tuple[float, str, Any, int]]) -> str:
    """The stream's events as a table, runs of the same event on the same block folded into one row."""
    rows: list[list[Any]] = []
    for milliseconds, kind, index, size in records:
        if rows and rows[-1][1] == kind and rows[-1][2] == index:
            rows[-1][3] += 1
            rows[-1][4] += size
            rows[-1][5] = milliseconds
        else:
            rows.append([milliseconds, kind, index, 1, size, milliseconds])
    lines = ["| ms | event | block | count | chars |", "|---:|---|---:|---:|---:|"]
    for first, kind, index, count, size, last in rows:
        when = f"{first:.0f}" if count == 1 else f"{first:.0f}–{last:.0f}"
        lines.append(f"| {when} | `{kind}` | {'' if index is None else index} | {count} | {size or ''} |")
    return "\n".join(lines)


def footer(messages: list[Any], *, model: str, seconds: float, first_token: float | None, state: str | None,
           max_tokens: int | None = None, context: list[str] = (), replayed: bool = False,
           retries: int = 0) -> str:
    """One compact line: model · tokens (all rounds) · how it ended · time to first token · total time."""
    last = messages[-1] if messages else None
    parts = [getattr(last, "model", None) or model]
    if messages:
        usages = [message.usage for message in messages]
        # An unfinished message still holds message_start's placeholder output count.
        output = f"{sum(u.output_tokens for u in usages):,}" if last.stop_reason is not None else "?"
        parts.append(f"{sum(u.input_tokens for u in usages):,} in / {output} out")
        thinking = sum(getattr(u.output_tokens_details, "thinking_tokens", 0) or 0 for u in usages)
        for label, value in (("thinking", thinking),
                             ("cache read", sum(u.cache_read_input_tokens or 0 for u in usages)),
                             ("cache write", sum(u.cache_creation_input_tokens or 0 for u in usages))):
            if value:
                parts.append(f"{label} {value:,}")
    if len(messages) > 1:
        parts.append(f"{len(messages) - 1} tool round{'s' if len(messages) > 2 else ''}")
    parts.append(state or getattr(last, "stop_reason", None) or "no answer")
    if replayed:
        parts.append("↺ replayed, not re-asked (`--fresh` to ask again)")
    if retries:
        parts.append(f"↻ {retries} retr{'ies' if retries > 1 else 'y'}")
    if first_token is not None:
        parts.append(f"first token {first_token:.2f} s")
    parts.append(f"{seconds:.1f} s")
    if context:
        parts.append(f"context: {', '.join(context)}")
    line = " · ".join(parts)
    if state is None and getattr(last, "stop_reason", None) == "max_tokens":
        line += (f" — cut at max_tokens ({max_tokens}): raise it with `--max-tokens N` "
                 "or `%config ClaudeMagics.max_tokens = N`")
    return line


def display_markdown(text: str) -> None:
    display({"text/markdown": text, "text/plain": text}, raw=True)


def sent_summary(request: dict[str, Any], from_history: int, tokens: int) -> str:
    """What a request would send, for `--count`: the token count, then each part in a line or a row."""
    messages = request["messages"]
    lines = [(f"**{tokens:,} input tokens** would be sent to `{request['model']}`: {len(messages)} message(s), "
             f"{from_history} of them from the history.")]
    if request.get("system"):
        lines.append(f"System: {preview(request['system'])}")
    if request.get("tools"):
        lines.append("Tools: " + ", ".join(f"`{tool['name']}`" for tool in request["tools"]))
    lines += ["", "| # | role | content |", "|---:|---|---|"]
    lines += [f"| {n} | {m['role']} | {preview(m['content'])} |" for n, m in enumerate(messages, 1)]
    return "\n".join(lines)


def preview(content: Any, width: int = 80) -> str:
    """One table-safe line for a message's content, whatever its blocks."""
    if not isinstance(content, str):
        content = " ".join(block.get("text") or f"[{block['type']}]" for block in content)
    content = " ".join(content.split())
    short = content if len(content) <= width else content[: width - 1] + "…"
    return html.escape(short).replace("|", "\\|")


class Progress:
    """A progress bar in one display (tqdm-like): throttled updates, the final state always drawn."""

    WIDTH = 24

    def __init__(self, total: int, label: str, *, interval: float = 0.1, clock=time.monotonic):
        self.total = total
        self.label = label
        self.throttle = Throttle(interval, clock)
        self._handle = display(bundle(self._bar(0, 0, "")), raw=True, display_id=True)

    def update(self, done: int, failed: int, note: str = "") -> None:
        if self.throttle.ready() or done == self.total:
            self._handle.update(bundle(self._bar(done, failed, note)), raw=True)

    def finish(self, markdown: str) -> None:
        self._handle.update(bundle(markdown), raw=True)

    def _bar(self, done: int, failed: int, note: str) -> str:
        filled = round(self.WIDTH * done / self.total) if self.total else self.WIDTH
        bar = "█" * filled + "░" * (self.WIDTH - filled)
        extra = f" · ⚠ {failed} failed" if failed else ""
        return f"{self.label}: `{bar}` {done}/{self.total}{extra}{f' · {note}' if note else ''}"
