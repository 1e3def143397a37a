"""Web search in the simulator: the server tool checked like the API checks it, and answered offline.

A request offering the tool gets one search: a `server_tool_use` block with a query made from the
prompt, a `web_search_tool_result` with deterministic fake pages on example domains (or the domains
`allowed_domains` names), and text citing them with `web_search_result_location` citations.
Tests script a search's results (any titles, URLs and passages) with `Reply.web_search`.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

# The versions the installed SDK knows (its WebSearchTool…Param types).
VERSIONS = ("web_search_20250305", "web_search_20260209", "web_search_20260318")
DOMAINS = ("example.com", "example.org", "example.net")
_WORD = re.compile(r"\w[\w'-]*")


def tool(body: dict[str, Any]) -> dict[str, Any] | None:
    return next((t for t in body.get("tools") or [] if str(t.get("type", "")).startswith("web_search")), None)


def problem(body: dict[str, Any]) -> str | None:
    offered = tool(body)
    if offered is None:
        return None
    if offered["type"] not in VERSIONS:
        return f"tools: unknown tool type {offered['type']!r}; expected one of {', '.join(VERSIONS)}"
    if offered.get("name") != "web_search":
        return "tools.web_search.name: Input should be 'web_search'"
    max_uses = offered.get("max_uses")
    if max_uses is not None and (isinstance(max_uses, bool) or not isinstance(max_uses, int) or max_uses < 1):
        return "tools.web_search.max_uses: Input should be greater than 0"
    if offered.get("allowed_domains") and offered.get("blocked_domains"):
        return "tools.web_search: use allowed_domains or blocked_domains, not both"
    return None


def searched(body: dict[str, Any], prompt: str) -> list[dict[str, Any]] | None:
    """A search and an answer citing what it found, or None when the request offers no web search."""
    offered = tool(body)
    if offered is None:
        return None
    words = _WORD.findall(prompt)
    query = " ".join(words[:8]) or "news"
    digest = hashlib.sha256(f"{len(body['messages'])}:{query}".encode()).hexdigest()
    use_id = f"srvtoolu_sim_{digest[:24]}"
    domains = [d for d in (offered.get("allowed_domains") or DOMAINS) if d not in (offered.get("blocked_domains") or ())]
    results = [_page(query, domain, number) for number, domain in enumerate(domains[:3] or DOMAINS[:1], 1)]
    return search_blocks(query, results, use_id, f"Here is what the web says about *{query}*:",
                         "These pages are the offline simulator's inventions on example domains: nothing was searched.")


def search_blocks(query: str, results: list[dict[str, Any]], use_id: str, intro: str,
                  outro: str) -> list[dict[str, Any]]:
    """One search for `query` that found `results` (each a url, title and snippet), and text citing each
    (a result's `claim`, else its snippet: the passage cited is the snippet)."""
    found = [{"type": "web_search_result", "url": r["url"], "title": r["title"], "page_age": r.get("page_age"),
              "encrypted_content": base64.b64encode(r["snippet"].encode()).decode()} for r in results]
    blocks: list[dict[str, Any]] = [
        {"type": "text", "text": "Let me search the web for this."},
        {"type": "server_tool_use", "id": use_id, "name": "web_search", "input": {"query": query}},
        {"type": "web_search_tool_result", "tool_use_id": use_id, "content": found},
        {"type": "text", "text": f"{intro}\n\n"},
    ]
    for result in results:
        citation = {"type": "web_search_result_location", "url": result["url"], "title": result["title"],
                    "encrypted_index": base64.b64encode(result["url"].encode()).decode(),
                    "cited_text": result["snippet"]}
        blocks.append({"type": "text", "text": "- "})
        blocks.append({"type": "text", "text": result.get("claim", result["snippet"]), "citations": [citation]})
        blocks.append({"type": "text", "text": "\n"})
    blocks.append({"type": "text", "text": f"\n{outro}"})
    return blocks


def _page(query: str, domain: str, number: int) -> dict[str, Any]:
    slug = "-".join(query.lower().split()[:5]) or "page"
    snippet = f"Result {number} for “{query}”: a made-up page that the simulator serves offline."
    return {"type": "web_search_result", "url": f"https://{domain}/{slug}", "title": f"{query.title()} — {domain}",
            "encrypted_content": base64.b64encode(snippet.encode()).decode(), "page_age": "November 30, 2026",
            "snippet": snippet}


def searches(content: list[dict[str, Any]]) -> int:
    return sum(block["type"] == "server_tool_use" and block.get("name") == "web_search" for block in content)
