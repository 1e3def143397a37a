"""What a chat may hold to be sent again: the names, model ids, roles, content blocks and numbers the API takes.

A saved chat is read from a file anyone could have written. What it holds becomes the history of every
later request and, exported, the options of generated `%%claude` cells. So a loaded chat is checked
whole, and refused (ValueError saying where and what) if any part would make the API refuse every later
cell with a 400, or would be more than data in a generated cell (a model id holding ` --file …`).
"""

from __future__ import annotations

import re
from typing import Any

from .models import MODELS

# Model ids as the API, Bedrock (`anthropic.claude-…-v1:0`, ARNs), Vertex (`claude-…@2025…`) and gateways
# spell them: no spaces, quotes or line breaks, and no leading `-` that would read as an option.
MODEL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@/+-]{0,199}")
LONGEST_NAME = 200
TOOL_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
EFFORTS = ("low", "medium", "high", "xhigh", "max")
# No model's window holds more than the largest in the table; a count beyond it is not one the API gave.
MOST_TOKENS = max(rules.context_window for rules in MODELS.values())
MOST_OUTPUT = max(rules.max_output for rules in MODELS.values())

_SOURCES = {"image": ("base64", "url", "file"), "document": ("base64", "text", "url", "file", "content")}
_USER = ("text", "image", "document", "tool_result", "search_result")
_ASSISTANT = ("text", "thinking", "redacted_thinking", "tool_use", "server_tool_use", "mcp_tool_use")


def check_name(value: Any, what: str = "name") -> str:
    """A chat (or variable) name: text of one line, neither empty nor absurdly long."""
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{what}: must be non-empty text")
    if len(value) > LONGEST_NAME:
        raise ValueError(f"{what}: {len(value):,} characters, more than the {LONGEST_NAME} a name may have")
    if not value.isprintable():
        raise ValueError(f"{what} {value[:40]!r}: holds a line break or control character")
    return value


def check_model(value: Any, what: str = "model") -> str:
    if not isinstance(value, str) or not MODEL_ID.fullmatch(value):
        raise ValueError(f"{what} {str(value)[:60]!r}: not a model id (letters, digits and . _ : @ / + -, "
                         "no spaces)")
    return value


def check_count(value: Any, what: str, most: int = MOST_TOKENS, least: int = 0) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{what}: must be a whole number")
    if not least <= value <= most:
        raise ValueError(f"{what}: {value:,} is not a count the API gives (between {least:,} and {most:,})")
    return value


def check_messages(messages: list[Any], where: str) -> None:
    """Turns that alternate from user to assistant, with content the API takes, tool calls answered."""
    for number, turn in enumerate(messages):
        at = f"{where}, message {number + 1}"
        if not isinstance(turn, dict) or turn.get("role") != ("user", "assistant")[number % 2]:
            raise ValueError(f"{at}: turns must alternate from user to assistant")
        if set(turn) - {"role", "content"}:
            raise ValueError(f"{at}: unexpected fields {sorted(set(turn) - {'role', 'content'})}")
        content = turn.get("content")
        if isinstance(content, str):
            if not content.strip():
                raise ValueError(f"{at}: empty content, which the API refuses")
            continue
        if not isinstance(content, list) or not content:
            raise ValueError(f"{at}: content must be non-empty text or a non-empty list of blocks")
        for index, block in enumerate(content):
            _check_block(block, turn["role"], f"{at}, block {index + 1}")
    _check_tool_pairs(messages, where)


def _check_block(block: Any, role: str, at: str) -> None:
    kind = block.get("type") if isinstance(block, dict) else None
    if not isinstance(kind, str):
        raise TypeError(f"{at}: a content block must be an object with a type")
    server_result = role == "assistant" and kind.endswith("_tool_result")
    if kind not in (_USER if role == "user" else _ASSISTANT) and not server_result:
        raise ValueError(f"{at}: the API takes no {kind[:40]!r} block in {role} turns")
    if "cache_control" in block and not isinstance(block["cache_control"], dict):
        raise ValueError(f"{at}: cache_control must be an object")
    if kind == "text":
        _text(block, "text", at)
        if "citations" in block and (role == "user" or not isinstance(block["citations"], list)):
            raise ValueError(f"{at}: citations belong to assistant text, as a list")
    elif kind in _SOURCES:
        source = block.get("source")
        if not isinstance(source, dict) or source.get("type") not in _SOURCES[kind]:
            raise ValueError(f"{at}: a {kind} needs a source of type {', '.join(_SOURCES[kind])}")
    elif kind == "thinking":
        _text(block, "thinking", at, empty=True)
        _text(block, "signature", at)
    elif kind == "redacted_thinking":
        _text(block, "data", at)
    elif kind in ("tool_use", "server_tool_use", "mcp_tool_use"):
        _text(block, "id", at)
        if not isinstance(block.get("name"), str) or not TOOL_NAME.fullmatch(block["name"]):
            raise ValueError(f"{at}: a {kind} needs the tool's name")
        if not isinstance(block.get("input"), dict):
            raise ValueError(f"{at}: a {kind}'s input must be an object")
    elif kind.endswith("tool_result"):
        _text(block, "tool_use_id", at)
        content = block.get("content")
        if kind == "tool_result" and content is not None and not isinstance(content, (str, list)):
            raise ValueError(f"{at}: a tool_result's content must be text or a list of blocks")
        if isinstance(content, list) and kind == "tool_result":
            for index, inner in enumerate(content):
                _check_block(inner, "user", f"{at}, part {index + 1}")
    elif kind == "search_result":
        _text(block, "source", at)
        _text(block, "title", at)


def _text(block: dict[str, Any], field: str, at: str, *, empty: bool = False) -> None:
    value = block.get(field)
    if not isinstance(value, str) or not (empty or value.strip()):
        raise ValueError(f"{at}: {block['type']}.{field} must be {'' if empty else 'non-empty '}text")


def _check_tool_pairs(messages: list[dict[str, Any]], where: str) -> None:
    """Each tool call answered in the next turn, each result answering a call of the turn before."""

    def ids(turn: dict[str, Any] | None, kind: str, field: str) -> set[str]:
        content = turn["content"] if turn is not None else []
        return {b[field] for b in content if b.get("type") == kind} if isinstance(content, list) else set()

    for number, turn in enumerate(messages):
        following = messages[number + 1] if number + 1 < len(messages) else None
        if turn["role"] == "assistant":
            unanswered = ids(turn, "tool_use", "id") - ids(following, "tool_result", "tool_use_id")
            if unanswered:
                raise ValueError(f"{where}, message {number + 1}: tool call {min(unanswered)!r} has no result "
                                 "in the next turn")
        elif number:
            stray = ids(turn, "tool_result", "tool_use_id") - ids(messages[number - 1], "tool_use", "id")
            if stray:
                raise ValueError(f"{where}, message {number + 1}: tool result {min(stray)!r} answers no call "
                                 "of the turn before")


def check_asked(asked: Any, where: str) -> dict[str, Any]:
    """The recorded options of an exchange (`rerun.asked_of`), as `rerun.options` reads them."""
    if not isinstance(asked, dict):
        raise TypeError(f"{where}: asked: must be an object of options")
    checks = {
        "max_tokens": lambda v: check_count(v, "max_tokens", MOST_OUTPUT, least=1),
        "thinking": lambda v: check_count(v, "thinking", MOST_OUTPUT),
        "web": lambda v: check_count(v, "web", 1000, least=1),
        "effort": lambda v: v if v in EFFORTS else _no(f"effort {str(v)[:20]!r}: one of {', '.join(EFFORTS)}"),
        "cite": lambda v: v if isinstance(v, bool) else _no("cite: true or false"),
        "code": lambda v: v if isinstance(v, bool) else _no("code: true or false"),
        "tools": lambda v: _names(v, "tools"),
        "schema": lambda v: v is None or _names([v], "schema"),
        "out": lambda v: _names([v], "out"),
        "files": lambda v: _paths(v),
        "missing": lambda v: v if isinstance(v, str) and v.isprintable() else _no("missing: one line of text"),
    }
    for name, value in asked.items():
        if name not in checks:
            raise ValueError(f"{where}: asked: unknown option {str(name)[:40]!r}")
        try:
            checks[name](value)
        except (TypeError, ValueError) as exc:
            raise type(exc)(f"{where}: asked: {exc}") from exc
    return asked


def _no(problem: str) -> Any:
    raise ValueError(problem)


def _names(values: Any, what: str) -> list[str]:
    if not isinstance(values, list) or not all(isinstance(v, str) and v.isidentifier() for v in values):
        raise ValueError(f"{what}: Python names only")
    return values


def _paths(values: Any) -> list[str]:
    if not isinstance(values, list) or not all(isinstance(v, str) and v and "\0" not in v for v in values):
        raise ValueError("files: a list of paths")
    return values
