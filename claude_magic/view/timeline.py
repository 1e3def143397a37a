"""`--events`: the stream's raw events, recorded as they come and folded into a table."""

from __future__ import annotations

from typing import Any

from .escape import code
from .tables import markdown_table

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
    shown = [(f"{first:.0f}" if count == 1 else f"{first:.0f}–{last:.0f}", code(kind),
              "" if index is None else index, count, size or "")
             for first, kind, index, count, size, last in rows]
    return markdown_table(["ms", "event", "block", "count", "chars"], shown, right=[0, 2, 3, 4])
