"""Notebook conversations, kept in the Messages API's own shape.

A chat is a list of exchanges (one user turn + the assistant's answer). Only finished answers are
recorded, so whatever goes wrong in a cell, the history that the next cell sends alternates
user/assistant and ends with an assistant turn the API accepts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .citations import as_params

DEFAULT_CHAT = "default"


@dataclass
class Exchange:
    """A user prompt and everything up to the final answer (tool calls and their results between)."""

    turns: list[dict[str, Any]]
    cell_id: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def user(self) -> dict[str, Any]:
        return self.turns[0]

    @property
    def assistant(self) -> dict[str, Any]:
        return self.turns[-1]


@dataclass
class Chat:
    name: str
    exchanges: list[Exchange] = field(default_factory=list)

    def context_for(self, cell_id: str | None) -> list[dict[str, Any]]:
        """The turns a cell builds on: everything before its own earlier exchange, if it had one.

        Re-running a cell replaces its exchange in place, so it sees what it saw the first time.
        """
        position = self._position(cell_id)
        earlier = self.exchanges if position is None else self.exchanges[:position]
        return [turn for exchange in earlier for turn in exchange.turns]

    def record(self, exchange: Exchange) -> None:
        position = self._position(exchange.cell_id)
        if position is None:
            self.exchanges.append(exchange)
        else:
            self.exchanges[position] = exchange

    def undo(self) -> Exchange | None:
        return self.exchanges.pop() if self.exchanges else None

    def messages(self) -> list[dict[str, Any]]:
        return self.context_for(None)

    def _position(self, cell_id: str | None) -> int | None:
        if cell_id is None:
            return None
        for position, exchange in enumerate(self.exchanges):
            if exchange.cell_id == cell_id:
                return position
        return None


class Conversations:
    """All chats of one notebook (one kernel), by name."""

    def __init__(self) -> None:
        self._chats: dict[str, Chat] = {}

    def __getitem__(self, name: str) -> Chat:
        if name not in self._chats:
            self._chats[name] = Chat(name)
        return self._chats[name]

    def __iter__(self):
        return iter(list(self._chats.values()))

    def reset(self, name: str) -> None:
        self._chats.pop(name, None)


def assistant_turn(message: Any, *, answered: bool = False) -> dict[str, Any] | None:
    """The assistant turn to send back for a finished `Message`, or None if the API would reject it.

    Blocks are dumped as the API returned them (thinking keeps its signature, tool_use its id), minus
    empty text blocks, which the API refuses on input (a refusal, for instance, can end with one), and
    minus tool calls nobody `answered` with a tool_result, which would make the next turn invalid.
    """
    blocks = []
    for block in message.content:
        data = block.model_dump(mode="json", exclude_none=True, warnings=False)
        data.pop("parsed_output", None)
        if getattr(block, "citations", None):
            data["citations"] = as_params(block.citations)
        if data.get("type") == "text" and not data.get("text", "").strip():
            continue
        if data.get("type") == "tool_use" and not answered:
            continue
        blocks.append(data)
    if not any(b["type"] not in ("thinking", "redacted_thinking") for b in blocks):
        return None
    return {"role": "assistant", "content": blocks}


def user_turn(prompt: str, context: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A prompt alone is sent as a string; with notebook context, as blocks with the prompt last."""
    if not context:
        return {"role": "user", "content": prompt}
    return {"role": "user", "content": [*context, {"type": "text", "text": prompt}]}


_CACHE_MARK = {"type": "ephemeral"}
_UNMARKABLE = ("thinking", "redacted_thinking")


def mark_for_cache(messages: list[dict[str, Any]], history_end: int) -> list[dict[str, Any]]:
    """A copy of `messages` with prompt-cache breakpoints at the end of the re-sent history and at the end.

    The last turn's mark writes this request's prefix to the cache; the history's mark is where the
    next request finds it (the API also looks back up to 20 blocks from each mark). Stored turns are
    never changed.
    """
    marked = list(messages)
    for position in {history_end - 1, len(messages) - 1}:
        if position < 0:
            continue
        turn = marked[position]
        content = turn["content"]
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else [dict(b) for b in content]
        if blocks and blocks[-1].get("type") not in _UNMARKABLE:
            blocks[-1]["cache_control"] = _CACHE_MARK
            marked[position] = {**turn, "content": blocks}
    return marked
