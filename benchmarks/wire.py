"""What a long streamed answer costs on JupyterLab's wire: `run.py --browser` (or `wire.py`, raw figures).

The page of page.py (JupyterLab 4 in headless Chromium, the kernel answering from the offline simulator),
with Playwright listening to the kernel's websocket (`/api/kernels/…/channels`) from the moment the page
opens it: every frame the page receives — all channels, comm and widget messages included — and every
frame it sends, in bytes as the websocket carries them (a text frame's UTF-8; the few bytes of each
frame's own header left out). What counts is the answering cell: from the frame that sends its
`execute_request` to both its `execute_reply` (when the prompt turns from `[*]` to `[n]`) and the
`status: idle` that ends it. Frames are parsed after the cell has ended, not while it streams: in
JupyterLab's v1 protocol (`v1.kernel.websocket.jupyter.org`) a frame is binary — the count of offsets,
the offsets, then the channel, header, parent header, metadata, content and buffers; with the older JSON
protocol it is a JSON message with a "channel" key. So the figures say, beside all the bytes, the iopub
channel's alone and how many `comm_msg` and `update_display_data` messages came (and, raw, the bytes of
each type of message).

The answer is a long_answer.py markdown answer streamed as run.py's nbclient row streams it (~24
characters a delta, ~50 kB in 4.4 s or ~500 kB in 44 s, `update_interval` 0.04 s), so the figures
compare; its own bytes are the UTF-8 of `markdown_of(last_message)`, read from the kernel after the cell.
Alongside: the page's long tasks while the answer streams (page.py's watcher: the longest, and the total
blocking time), and whether the notebook, saved from the page, holds the whole answer in the cell's
outputs as static markdown (no widget, no other MIME type than text/markdown and text/plain).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter
from typing import Any

import page

BYTES_PER_SECOND = 50_000 / 4.4  # as run.py's iopub row streams: 50 kB in 4.4 s, 500 kB in 44 s
UPDATE_INTERVAL = 0.04
MODES = ("widget", "extension")
STATIC = {"text/markdown", "text/plain"}  # what a saved answer may hold: anything else needs a live frontend
ANSWER_BYTES = ("from claude_magic.view.markdown import markdown_of\n"
                "print('answer bytes', len(markdown_of(last_message).encode()))")


def measure(size: int = 50_000, mode: str = "widget", seconds: float | None = None) -> dict[str, Any]:
    """An answer of about `size` bytes streamed over `seconds`, shown in display `mode`: its figures."""
    from long_answer import LAST_SENTENCE, markdown_answer

    text = markdown_answer(size)
    pace = -(-len(text) // page.DELTA_CHARS) / (seconds or size / BYTES_PER_SECOND)  # deltas a second
    frames: list[tuple[str, str | bytes]] = []  # ("in" | "out", payload), in the order the page saw them

    errors: list[str] = []  # what the page says went wrong, in its console or uncaught

    def websocket(socket: Any) -> None:
        if "/api/kernels/" in socket.url and "/channels" in socket.url:
            socket.on("framereceived", lambda payload: frames.append(("in", payload)))
            socket.on("framesent", lambda payload: frames.append(("out", payload)))

    def listen(tab: Any) -> None:
        tab.on("websocket", websocket)
        tab.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        tab.on("pageerror", lambda error: errors.append(str(error)))

    config = {"display": f'"{mode}"', "update_interval": str(UPDATE_INTERVAL)}
    with page.lab(text, pace=pace, config=config, cells=[ANSWER_BYTES], listen=listen) as notebook:
        from browser_support import poll  # on the path once page.lab has run

        watched = page.stream(notebook)
        load = os.getloadavg()[0]
        # The end of the cell may reach Python after the prompt has changed: Playwright hands over
        # events while the page is being asked something.
        parsed: list[tuple[str, dict[str, Any]]] = []

        def answering() -> list[tuple[str, dict[str, Any]]] | None:
            notebook.page.evaluate("1")
            parsed.extend((direction, parse(payload)) for direction, payload in frames[len(parsed) :])
            return _cell(parsed)

        cell = poll(answering, lambda cell: cell is not None, 30, "the answering cell's reply and idle")
        notebook.run(2)
        answer = int(notebook.output(2).inner_text().split()[-1])
        saved = _saved(notebook, LAST_SENTENCE, poll)
    received = [message for direction, message in cell if direction == "in"]
    kinds = Counter(message["msg_type"] for message in received)
    whole = saved is not None and any(markdown.startswith(text) and f"{LAST_SENTENCE}\n\n<sub>" in markdown
                                      for markdown in saved["markdowns"])
    return {
        "mode": mode,
        "answer": answer,
        "received": sum(message["bytes"] for message in received),
        "iopub": sum(message["bytes"] for message in received if message["channel"] == "iopub"),
        "sent": sum(message["bytes"] for direction, message in cell if direction == "out"),
        "protocol": received[0]["protocol"] if received else None,
        "comm_msg": kinds["comm_msg"],
        "update_display_data": kinds["update_display_data"],
        "messages": len(received),
        "by_type": {kind: sum(m["bytes"] for m in received if m["msg_type"] == kind) for kind in kinds},
        "worst": watched["worst"],
        "blocking": watched["blocking"],
        "tasks": watched["tasks"],
        "stream": watched["stream"],
        "saved_whole": whole,
        "saved_types": sorted(saved["types"]) if saved else [],
        "saved_static": bool(saved) and saved["types"] <= STATIC,
        "load": load,
        "errors": errors,
    }


def _cell(messages: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, dict[str, Any]]] | None:
    """The answering cell's frames (parsed): from its execute_request to its reply and its idle."""
    start = next((at for at, (direction, message) in enumerate(messages)
                  if direction == "out" and message["msg_type"] == "execute_request"
                  and message["content"].get("code", "").startswith("%%claude")), None)
    if start is None:
        return None
    request = messages[start][1]["msg_id"]
    # The idle (iopub) and the execute_reply (shell) come on two channels, in either order.
    ends = [at for at, (direction, message) in enumerate(messages[start:], start)
            if direction == "in" and message["parent"] == request
            and (message["msg_type"] == "execute_reply"
                 or message["msg_type"] == "status" and message["content"].get("execution_state") == "idle")]
    end = ends[-1] if len(ends) == 2 else None
    return None if end is None else messages[start : end + 1]


def parse(payload: str | bytes) -> dict[str, Any]:
    """One kernel websocket frame: its size, channel, type, parent's id and content."""
    if isinstance(payload, bytes):  # v1.kernel.websocket.jupyter.org
        count = int.from_bytes(payload[:8], "little")
        offsets = [int.from_bytes(payload[8 * (i + 1) : 8 * (i + 2)], "little") for i in range(count)]
        channel, header, parent, _, content = (payload[offsets[i] : offsets[i + 1]] for i in range(5))
        header, parent, content = json.loads(header), json.loads(parent), json.loads(content)
        channel, protocol, size = channel.decode(), "v1", len(payload)
    else:  # the JSON protocol: the whole message, its channel beside the rest
        message = json.loads(payload)
        channel, header, parent, content = (message["channel"], message["header"], message["parent_header"],
                                            message["content"])
        protocol, size = "json", len(payload.encode())
    return {"bytes": size, "channel": channel, "protocol": protocol, "msg_type": header.get("msg_type"),
            "msg_id": header.get("msg_id"), "parent": (parent or {}).get("msg_id"),
            "content": content if isinstance(content, dict) else {}}


def _saved(notebook: Any, last: str, poll: Any) -> dict[str, Any] | None:
    """The answering cell's outputs in the notebook saved from the page: each's markdown, all MIME types."""
    before = notebook.file.stat().st_mtime_ns
    notebook.save()

    def read() -> dict[str, Any] | None:
        if notebook.file.stat().st_mtime_ns == before:
            return None
        outputs = json.loads(notebook.file.read_text())["cells"][1]["outputs"]
        bundles = [output.get("data", {}) for output in outputs]
        markdowns = ["".join(data.get("text/markdown", "")) for data in bundles]  # a str, or a list of lines
        return {"markdowns": markdowns, "types": {kind for data in bundles for kind in data}}

    try:
        return poll(read, lambda saved: saved is not None, 30, "the saved notebook")
    except AssertionError:
        return None


if __name__ == "__main__":  # wire.py [bytes [mode…]]
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 50_000
    for mode in sys.argv[2:] or MODES:
        started = time.perf_counter()
        print({**measure(size, mode), "took": round(time.perf_counter() - started, 1)}, flush=True)
