"""What a request would send, in a few lines: for `--count`, and previews of message contents."""

from __future__ import annotations

from typing import Any

from .escape import code, shorten, text
from .tables import markdown_table


def sent_summary(request: dict[str, Any], from_history: int, tokens: int) -> str:
    """What a request would send, for `--count`: the token count, then each part in a line or a row."""
    messages = request["messages"]
    lines = [(f"**{tokens:,} input tokens** would be sent to {code(request['model'])}: {len(messages)} message(s), "
              f"{from_history} of them from the history.")]
    if request.get("system"):
        lines.append(f"System: {text(preview(request['system']))}")
    if request.get("tools"):
        lines.append("Tools: " + ", ".join(code(tool.get("name") or tool.get("type")) for tool in request["tools"]))
    lines += ["", markdown_table(["#", "role", "content"], [(n, m["role"], preview(m["content"]))
                                                            for n, m in enumerate(messages, 1)], right=[0])]
    return "\n".join(lines)


def preview(content: Any, width: int = 80) -> str:
    """A message's content as one line of plain text of at most `width` characters, whatever its blocks.

    Plain text: whoever puts it into markdown escapes it (a table cell does).
    """
    if not isinstance(content, str):
        content = " ".join(block.get("text") or f"[{block['type']}]" for block in content)
    return shorten(content, width)
