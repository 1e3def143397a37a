"""Scripted replies, and how any reply becomes the events of a stream or a whole Message."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .answers import answer
from .web import search_blocks, searches

# What the real API answers each status with, unless a reply says otherwise.
ERRORS: dict[int, tuple[str, str]] = {
    400: ("invalid_request_error", "Invalid request"),
    401: ("authentication_error", "invalid x-api-key"),
    403: ("permission_error", "Your API key does not have permission to use the specified resource."),
    404: ("not_found_error", "Not found"),
    413: ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
    429: ("rate_limit_error", "Number of requests has exceeded your rate limit. Please try again later."),
    500: ("api_error", "Internal server error"),
    503: ("overloaded_error", "Service temporarily unavailable"),
    529: ("overloaded_error", "Overloaded"),
}
# Later statuses win, so an overloaded_error that cannot be an event becomes a 529, as the real API sends it.
STATUS_OF = {error_type: status for status, (error_type, _) in ERRORS.items()}

_FRAMINGS = ("chunked", "close")


@dataclass(frozen=True)
class Reply:
    """One scripted answer to a POST /v1/messages, or a fault in place of one.

    Build replies with the constructors and hand them to `Simulator.queue`. `content` None means the answer
    the simulator generates for the request; faults then break that answer after `after` deltas. `pace`
    (deltas per second) overrides the simulator's own.
    """

    content: tuple[dict[str, Any], ...] | None = None
    stop_reason: str | None = None
    fault: str | None = None
    after: int = 0
    seconds: float = 0.0
    framing: str = "chunked"
    status: int = 200
    error: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes = b""
    pace: float | None = None

    @classmethod
    def text(cls, text: str, *, stop_reason: str = "end_turn", pace: float | None = None) -> Reply:
        """Stream exactly `text`, one word (with its leading whitespace) per delta."""
        return cls(content=_text(text), stop_reason=stop_reason, pace=pace)

    @classmethod
    def tool_use(
        cls, name: str, input: dict[str, Any], *, text: str | None = None, pace: float | None = None
    ) -> Reply:
        """Call tool `name` with `input`, after an optional text block; stops with "tool_use"."""
        block = {"type": "tool_use", "name": name, "input": input}
        return cls(content=(*(_text(text) or ()), block), pace=pace)

    @classmethod
    def web_search(cls, results: list[dict[str, Any]], *, query: str = "news", pace: float | None = None) -> Reply:
        """One web search for `query` that found `results` (dicts with url, title, snippet; any text in
        them, as a hostile page would have), then an answer whose claims ("Claim 1.") cite each snippet."""
        use_id = f"srvtoolu_sim_{uuid.uuid4().hex[:24]}"
        claims = [{"claim": f"Claim {n}.", **result} for n, result in enumerate(results, 1)]
        blocks = search_blocks(query, claims, use_id, "Here is what I found:", "That is all.")
        return cls(content=tuple(blocks), pace=pace)

    @classmethod
    def http_error(
        cls,
        status: int,
        *,
        error_type: str | None = None,
        message: str | None = None,
        retry_after: float | str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        """Answer with a plain HTTP error, shaped like the real API's."""
        default_type, default_message = ERRORS.get(status, ("api_error", "Internal server error"))
        extra = dict(headers or {})
        if retry_after is not None:
            extra["retry-after"] = str(retry_after)
        error = {"type": error_type or default_type, "message": message or default_message}
        return cls(fault="http_error", status=status, error=error, headers=extra)

    @classmethod
    def error_event(
        cls,
        after: int = 3,
        error_type: str = "overloaded_error",
        message: str = "Overloaded",
        *,
        text: str | None = None,
        pace: float | None = None,
    ) -> Reply:
        """Start a 200 stream, then send an `error` event after `after` deltas and end the body cleanly."""
        error = {"type": error_type, "message": message}
        return cls(content=_text(text), fault="error_event", after=after, error=error, pace=pace)

    @classmethod
    def drop(
        cls, after: int = 3, framing: str = "chunked", *, text: str | None = None, pace: float | None = None
    ) -> Reply:
        """Close the socket after `after` deltas.

        framing "chunked": the chunked body never gets its terminator, so the client sees a protocol error.
        framing "close": the body is delimited by the connection closing, so the client sees a normal end.
        """
        if framing not in _FRAMINGS:
            raise ValueError(f"framing must be one of {_FRAMINGS}, not {framing!r}")
        return cls(content=_text(text), fault="drop", after=after, framing=framing, pace=pace)

    @classmethod
    def truncate(cls, after: int = 3, *, text: str | None = None, pace: float | None = None) -> Reply:
        """End the body cleanly after `after` deltas, without closing the block or the message."""
        return cls(content=_text(text), fault="truncate", after=after, pace=pace)

    @classmethod
    def stall(
        cls, after: int = 3, seconds: float = 30.0, *, text: str | None = None, pace: float | None = None
    ) -> Reply:
        """Send nothing for `seconds` after `after` deltas, then finish normally."""
        return cls(content=_text(text), fault="stall", after=after, seconds=seconds, pace=pace)

    @classmethod
    def sse(cls, source: str | Path | bytes, *, pace: float | None = None) -> Reply:
        """Replay a recorded SSE stream byte for byte, whatever the request asked for; `pace` is per event."""
        raw = source if isinstance(source, bytes) else Path(source).read_bytes()
        return cls(fault="sse", raw=raw, pace=pace)


@dataclass
class Answer:
    """A reply laid out for one request: the deltas each content block streams, and why it stops."""

    head: dict[str, Any]
    blocks: list[tuple[dict[str, Any], list[dict[str, Any]]]]
    stop_reason: str
    stop_sequence: str | None
    # Server tools used (web searches): counted in the final usage only, as the API counts them.
    server_tools: dict[str, Any] = field(default_factory=dict)

    def events(self) -> Iterator[tuple[str, bytes]]:
        """(event name, encoded event) pairs, in the order the real API streams them."""
        yield _event({"type": "message_start", "message": self.head})
        for index, (start, deltas) in enumerate(self.blocks):
            yield _event({"type": "content_block_start", "index": index, "content_block": start})
            if index == 0:
                yield "ping", _PING
            for delta in deltas:
                yield _event({"type": "content_block_delta", "index": index, "delta": delta})
            yield _event({"type": "content_block_stop", "index": index})
        stop = {"stop_reason": self.stop_reason, "stop_sequence": self.stop_sequence}
        usage = {"output_tokens": self.output_tokens, **self.server_tools}
        yield _event({"type": "message_delta", "delta": stop, "usage": usage})
        yield _event({"type": "message_stop"})

    def message(self) -> dict[str, Any]:
        """The whole Message a non-streaming request gets: what the stream would have built."""
        return {
            **self.head,
            "content": [_complete(start, deltas) for start, deltas in self.blocks],
            "stop_reason": self.stop_reason,
            "stop_sequence": self.stop_sequence,
            "usage": {**self.head["usage"], "output_tokens": self.output_tokens, **self.server_tools},
        }

    @property
    def output_tokens(self) -> int:
        """One token per delta: what the stream shows is what the usage says."""
        return sum(len(deltas) for _, deltas in self.blocks)


def lay_out(reply: Reply, body: dict[str, Any], usage: dict[str, int]) -> Answer:
    """Turn `reply` (or the generated answer) into deltas, applying stop_sequences and then max_tokens.

    `usage` is the input side of the usage: the prompt's tokens, split by what the cache read and wrote.
    """
    content = list(reply.content) if reply.content is not None else answer(body)
    content, stop_sequence = _stop_at_sequence(content, body.get("stop_sequences") or [])
    blocks, cut = _within(body["max_tokens"], [_deltas(block) for block in content])
    if cut:
        stop_reason, stop_sequence = "max_tokens", None
    elif stop_sequence is not None:
        stop_reason = "stop_sequence"
    else:
        calls_tool = any(block["type"] == "tool_use" for block in content)
        stop_reason = reply.stop_reason or ("tool_use" if calls_tool else "end_turn")
    head = {
        "id": f"msg_sim_{uuid.uuid4().hex[:24]}",
        "type": "message",
        "role": "assistant",
        "model": body["model"],
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {**usage, "output_tokens": 1},
    }
    return Answer(head, blocks, stop_reason, stop_sequence, _server_tools(content))


def _server_tools(content: list[dict[str, Any]]) -> dict[str, Any]:
    """The usage's server_tool_use field for a reply's blocks, when they use any."""
    count = searches(content)
    return {"server_tool_use": {"web_search_requests": count, "web_fetch_requests": 0}} if count else {}


def sse(data: dict[str, Any]) -> bytes:
    """One server-sent event, named after its type and in compact JSON, like the real API's."""
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return f"event: {data['type']}\ndata: {payload}\n\n".encode()


# The real API writes its pings with a space after the colon, unlike every other event.
_PING = b'event: ping\ndata: {"type": "ping"}\n\n'
# A word with the whitespace before it; trailing whitespace rides with the last word.
_PIECE = re.compile(r"\s*\S+(?:\s+\Z)?|\s+\Z")


def _event(data: dict[str, Any]) -> tuple[str, bytes]:
    return data["type"], sse(data)


def _text(text: str | None) -> tuple[dict[str, Any], ...] | None:
    return None if text is None else ({"type": "text", "text": text},)


def _deltas(block: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A content block as its content_block_start block and the deltas that fill it in."""
    kind = block["type"]
    if kind == "text":
        pieces = [{"type": "text_delta", "text": piece} for piece in _PIECE.findall(block["text"])]
        if not block.get("citations"):
            return {"type": "text", "text": ""}, pieces
        # Like the API: a cited passage's citations stream first, then its text.
        citations = [{"type": "citations_delta", "citation": citation} for citation in block["citations"]]
        return {"type": "text", "text": "", "citations": []}, [*citations, *pieces]
    if kind == "web_search_tool_result":
        return dict(block), []  # arrives whole, in its content_block_start
    if kind == "thinking":
        pieces = [
            {"type": "thinking_delta", "thinking": piece} for piece in _PIECE.findall(block["thinking"])
        ]
        signature = {"type": "signature_delta", "signature": block["signature"]}
        return {"type": "thinking", "thinking": "", "signature": ""}, [*pieces, signature]
    if kind in ("tool_use", "server_tool_use"):
        start = {
            "type": kind,
            "id": block.get("id") or f"toolu_sim_{uuid.uuid4().hex[:24]}",
            "name": block["name"],
            "input": {},
        }
        encoded = json.dumps(block["input"])
        size = max(1, -(-len(encoded) // 3))
        # Like the real API: an empty first fragment, then the JSON in a few arbitrary slices.
        fragments = ["", *(encoded[at : at + size] for at in range(0, len(encoded), size))]
        return start, [{"type": "input_json_delta", "partial_json": fragment} for fragment in fragments]
    raise ValueError(f"the simulator cannot stream a {kind!r} block")


def _stop_at_sequence(
    content: list[dict[str, Any]], sequences: list[str]
) -> tuple[list[dict[str, Any]], str | None]:
    """Cut the content before the first stop sequence in its text, dropping every block after it."""
    for position, block in enumerate(content):
        if block["type"] != "text":
            continue
        hits = [
            (block["text"].find(sequence), sequence)
            for sequence in sequences
            if sequence and sequence in block["text"]
        ]
        if hits:
            at, sequence = min(hits)
            return [*content[:position], {**block, "text": block["text"][:at]}], sequence
    return content, None


def _within(budget: int, blocks: list[tuple[dict, list[dict]]]) -> tuple[list[tuple[dict, list[dict]]], bool]:
    """Keep the first `budget` deltas, as max_tokens cuts a real answer; True when something was cut."""
    kept = []
    for start, deltas in blocks:
        if len(deltas) > budget:
            if budget:
                kept.append((start, deltas[:budget]))
            return kept, True
        kept.append((start, deltas))
        budget -= len(deltas)
    return kept, False


def _complete(start: dict[str, Any], deltas: list[dict[str, Any]]) -> dict[str, Any]:
    block = dict(start)
    partial_json = ""
    for delta in deltas:
        if delta["type"] == "text_delta":
            block["text"] += delta["text"]
        elif delta["type"] == "thinking_delta":
            block["thinking"] += delta["thinking"]
        elif delta["type"] == "signature_delta":
            block["signature"] = delta["signature"]
        elif delta["type"] == "citations_delta":
            block["citations"] = [*block["citations"], delta["citation"]]
        else:
            partial_json += delta["partial_json"]
    if block["type"] in ("tool_use", "server_tool_use"):
        try:
            block["input"] = json.loads(partial_json)
        except ValueError:  # max_tokens cut the JSON short
            block["input"] = {}
    return block
