"""What a request would send, in a few lines: for `--count`, and previews of message contents."""

from __future__ import annotations

import html
from typing import Any


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
    """One table-safe line for a message's content, whatever its blocks (HTML, `|` and `$` escaped)."""
    if not isinstance(content, str):
        content = " ".join(block.get("text") or f"[{block['type']}]" for block in content)
    content = " ".join(content.split())
    short = content if len(content) <= width else content[: width - 1] + "…"
    # `$` escaped too: two of them in one paragraph are TeX to JupyterLab's markdown renderer.
    return html.escape(short).replace("|", "\\|").replace("$", "\\$")
