"""`--web`: the web search server tool, and how its searches look while they happen.

The API runs the searches; the answer carries `server_tool_use` blocks (the query) and
`web_search_tool_result` blocks (the pages found), which go back in the history as they came.
"""

from __future__ import annotations

from typing import Any

from .errors import BadInput
from .view.escape import code, link, text

# The newest web search tool version the installed SDK types know (WebSearchTool20260318Param).
WEB_SEARCH = "web_search_20260318"
SHOWN_SOURCES = 5
MAX_USES = 5  # searches per cell when `--web` gives no number


def web_tool(max_uses: int) -> dict[str, Any]:
    if max_uses < 1:
        raise BadInput(f"--web {max_uses}: the most searches Claude may run must be at least 1 (or leave it out).")
    return {"type": WEB_SEARCH, "name": "web_search", "max_uses": max_uses}


def searching(block: Any) -> str:
    """A server tool call as one line: the search and its query (which may still be streaming)."""
    query = (block.input or {}).get("query") if isinstance(block.input, dict) else None
    if block.name == "web_search":
        return f"🔎 Searching the web for *{text(query)}*…" if query else "🔎 Searching the web…"
    return f"🔧 {code(block.name)}"


def found(block: Any) -> str:
    """What a search found, as a compact list of linked titles; or why it failed."""
    content = block.content
    if not isinstance(content, list):
        return f"⚠ The web search failed ({text(getattr(content, 'error_code', None) or 'unknown error')})."
    if not content:
        return "Found nothing."
    links = [link(result.title, result.url) for result in content[:SHOWN_SOURCES]]
    more = f" and {len(content) - SHOWN_SOURCES} more" if len(content) > SHOWN_SOURCES else ""
    return f"Found: {' · '.join(links)}{more}"


def searches(messages: list[Any]) -> int:
    """Web searches billed for these messages (their usage counts them, failed ones not)."""
    total = 0
    for message in messages:
        server = getattr(message.usage, "server_tool_use", None)
        total += getattr(server, "web_search_requests", 0) or 0
    return total


def footer_note(messages: list[Any]) -> str:
    count = searches(messages)
    return f" · 🔎 {count} web search{'es' if count != 1 else ''}" if count else ""


def joined(turns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`turns` with each assistant turn that follows another merged into it.

    A turn the API paused (`pause_turn`: its server tools ran long) is sent back as it is to go on, and the
    answer that goes on continues the same assistant turn: the two are kept as one, so the history
    never holds two assistant turns in a row.
    """
    merged: list[dict[str, Any]] = []
    for turn in turns:
        if merged and turn["role"] == merged[-1]["role"] == "assistant":
            merged[-1] = {"role": "assistant", "content": [*merged[-1]["content"], *turn["content"]]}
        else:
            merged.append(turn)
    return merged
