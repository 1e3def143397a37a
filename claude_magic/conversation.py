"""Notebook conversations, kept in the Messages API's own shape.

A chat is a list of exchanges (one user turn + the assistant's answer). Only finished answers are
recorded, so whatever goes wrong in a cell, the history that the next cell sends alternates
user/assistant and ends with an assistant turn the API accepts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .chat_rules import check_asked, check_count, check_messages, check_model, check_name
from .secrets import redact_content
from .view.escape import code
from .view.request_summary import preview
from .view.tables import Rendered, markdown_table

DEFAULT_CHAT = "default"
# Blocks that take no cache mark, and that only the model that wrote them may be sent back.
_THINKING = ("thinking", "redacted_thinking")


@dataclass
class Exchange:
    """A user prompt and everything up to the final answer (tool calls and their results between)."""

    turns: list[dict[str, Any]]
    cell_id: str | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    # What the window holds after this exchange needs the cached input too: usage.input_tokens excludes it.
    cached_tokens: int = 0
    model: str | None = None  # whose answer: its thinking blocks go back to that model only
    system: str | None = None
    # The cell's options that shaped the request (`rerun.asked_of`), so an export can ask it again.
    asked: dict[str, Any] = field(default_factory=dict)

    def turns_for(self, model: str | None) -> list[dict[str, Any]]:
        """The turns as `model` may be sent them: another model's thinking blocks are left out.

        Claude Sonnet 5.5 and Opus 5.5 refuse a thinking block another model produced, and no model
        reads an earlier turn's thinking, so leaving them out on a switch loses nothing.
        """
        if model is None or self.model in (None, model):
            return self.turns
        return [
            {**turn, "content": [b for b in turn["content"] if b.get("type") not in _THINKING]}
            if turn["role"] == "assistant" and isinstance(turn["content"], list) else turn
            for turn in self.turns
        ]

    @property
    def user(self) -> dict[str, Any]:
        return self.turns[0]

    @property
    def assistant(self) -> dict[str, Any]:
        return self.turns[-1]

    @property
    def window_tokens(self) -> int:
        """Tokens of the whole conversation up to and including this answer, as the API counted them."""
        return self.input_tokens + self.cached_tokens + self.output_tokens

    def to_dict(self) -> dict[str, Any]:
        """Everything but the turns, which a saved chat keeps together as one list of API messages."""
        data = {"turns": len(self.turns), "cell_id": self.cell_id, "model": self.model, "system": self.system,
                "usage": {"input_tokens": self.input_tokens, "output_tokens": self.output_tokens,
                          "cached_tokens": self.cached_tokens}}
        return {**data, "asked": self.asked} if self.asked else data

    @classmethod
    def from_dict(cls, data: Any, turns: list[dict[str, Any]], where: str = "exchange") -> Exchange:
        """The exchange `to_dict` wrote; ValueError or TypeError (naming `where`) for what the API would refuse."""
        usage = data.get("usage") or {}
        if not isinstance(usage, dict):
            raise TypeError(f"{where}: usage: must be an object of token counts")
        try:
            counts = [check_count(usage.get(name, 0), f"usage: {name}")
                      for name in ("input_tokens", "output_tokens", "cached_tokens")]
            check_count(sum(counts), "usage: tokens in all")
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"{where}: {exc}") from exc
        for name in ("cell_id", "model", "system"):
            if not isinstance(data.get(name), (str, type(None))):
                raise TypeError(f"{where}: {name}: must be text or null")
        try:
            if data.get("model") is not None:
                check_model(data["model"])
            if data.get("cell_id") is not None:
                check_name(data["cell_id"], "cell_id")
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from exc
        if data.get("system") is not None and not data["system"].strip():
            raise ValueError(f"{where}: system: an empty system prompt, which the API refuses")
        asked = check_asked(data.get("asked", {}), where)
        return cls(turns, data.get("cell_id"), *counts, model=data.get("model"), system=data.get("system"),
                   asked=asked)


@dataclass(repr=False)
class Chat(Rendered):
    """One conversation; displayed, it is the table of its exchanges with their token counts."""

    name: str
    exchanges: list[Exchange] = field(default_factory=list)

    def __repr__(self) -> str:
        return f"Chat({self.name!r}, {len(self.exchanges)} exchanges)"

    def _repr_markdown_(self) -> str:
        if not self.exchanges:
            return f"Chat {code(self.name)} has no exchanges yet."
        rows = [(number, preview(exchange.user["content"], 60), preview(exchange.assistant["content"], 60),
                 f"{exchange.input_tokens:,} / {exchange.output_tokens:,}")
                for number, exchange in enumerate(self.exchanges, 1)]
        return markdown_table(["#", "you", "Claude", "tokens in / out"], rows)

    def context_for(self, cell_id: str | None, model: str | None = None) -> list[dict[str, Any]]:
        """The turns a cell builds on: everything before its own earlier exchange, if it had one.

        Re-running a cell replaces its exchange in place, so it sees what it saw the first time. Sent to
        `model`, other models' thinking blocks are left out (see `Exchange.turns_for`).
        """
        return [turn for exchange in self.earlier(cell_id) for turn in exchange.turns_for(model)]

    def earlier(self, cell_id: str | None) -> list[Exchange]:
        """The exchanges a cell builds on (see `context_for`)."""
        position = self._position(cell_id)
        return self.exchanges if position is None else self.exchanges[:position]

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

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON data: the messages exactly as the API takes them, and each exchange's share of them."""
        return {"name": self.name, "messages": self.messages(),
                "exchanges": [exchange.to_dict() for exchange in self.exchanges]}

    @classmethod
    def from_dict(cls, data: Any) -> Chat:
        """The chat `to_dict` wrote; ValueError or TypeError says what is wrong with anything else."""
        if not isinstance(data, dict):
            raise TypeError("a chat must be a JSON object")
        name, messages, exchanges = data.get("name"), data.get("messages"), data.get("exchanges")
        if not isinstance(name, str) or not name.strip():
            raise ValueError("name: a chat needs a non-empty name")
        check_name(name, "chat name")
        if not isinstance(messages, list) or not isinstance(exchanges, list):
            raise TypeError(f"chat {name!r}: needs lists of messages and exchanges")
        chat, start = cls(name), 0
        for number, entry in enumerate(exchanges, 1):
            where = f"chat {name!r}, exchange {number}"
            count = entry.get("turns") if isinstance(entry, dict) else None
            if not isinstance(count, int) or isinstance(count, bool) or count < 2:
                raise ValueError(f"{where}: needs its number of turns (at least 2)")
            turns = messages[start:start + count]
            start += count
            if len(turns) != count or count % 2 or not _alternates(turns):
                raise ValueError(f"{where}: turns must alternate from user to assistant")
            chat.exchanges.append(Exchange.from_dict(entry, turns, where))
        if start != len(messages):
            raise ValueError(f"chat {name!r}: the exchanges do not account for all {len(messages)} messages")
        check_messages(messages, f"chat {name!r}")
        return chat

    def _position(self, cell_id: str | None) -> int | None:
        if cell_id is None:
            return None
        for position, exchange in enumerate(self.exchanges):
            if exchange.cell_id == cell_id:
                return position
        return None


def _alternates(turns: list[Any]) -> bool:
    """An exchange's turns: user first, assistant last, alternating (their content: `check_messages`)."""
    roles = [turn.get("role") if isinstance(turn, dict) else None for turn in turns]
    return roles == ["user", "assistant"] * (len(turns) // 2)


class Conversations(Rendered):
    """All chats of one notebook (one kernel), by name; displayed, the table of chats."""

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

    def _repr_markdown_(self) -> str:
        rows = [(chat.name, len(chat.exchanges)) for chat in self]
        return markdown_table(["chat", "exchanges"], rows) if rows else "No chats yet."


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


def user_turn(prompt: str, context: list[dict[str, Any]] | None = None,
              redacted: set[str] | None = None) -> dict[str, Any]:
    """A prompt alone is sent as a string; with notebook context, as blocks with the prompt last.

    Credentials are redacted here (`secrets.redact_content`), where every user turn is built, so the
    request, the history and what is saved from it never hold them; their names go into `redacted`.
    """
    content, names = redact_content(prompt if not context else [*context, {"type": "text", "text": prompt}])
    if redacted is not None:
        redacted.update(names)
    return {"role": "user", "content": content}


_CACHE_MARK = {"type": "ephemeral"}


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
        if blocks and blocks[-1].get("type") not in _THINKING:
            blocks[-1]["cache_control"] = _CACHE_MARK
            marked[position] = {**turn, "content": blocks}
    return marked


def as_params(citations: list[Any]) -> list[dict[str, Any]]:
    """Citations as the API takes them back in an assistant turn: the SDK's param shape for each kind.

    A response's citation carries more than its param (`file_id`), and a dump without None values would
    lose `document_title` / `title`, which the params require even when null.
    """
    from anthropic import types

    params = {
        "char_location": types.CitationCharLocationParam,
        "page_location": types.CitationPageLocationParam,
        "content_block_location": types.CitationContentBlockLocationParam,
        "web_search_result_location": types.CitationWebSearchResultLocationParam,
        "search_result_location": types.CitationSearchResultLocationParam,
    }
    shaped = []
    for citation in citations:
        data = citation.model_dump(mode="json")
        param = params.get(data.get("type"))
        keys = param.__required_keys__ | param.__optional_keys__ if param else data.keys()
        shaped.append({key: data[key] for key in keys if key in data})
    return shaped
