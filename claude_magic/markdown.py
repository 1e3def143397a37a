"""An answer as markdown: one part per content block, in the order Claude sent them."""

from __future__ import annotations

import json
from typing import Any


def markdown_of(message: Any) -> str:
    """The answer as markdown, one part per content block, in the order Claude sent them."""
    parts = []
    for block in message.content:
        kind = block.type
        if kind == "text":
            parts.append(block.text)
        elif kind == "thinking":
            words = len(block.thinking.split())
            parts.append(f"<details><summary>Thinking ({words:,} words)</summary>\n\n{block.thinking}\n\n</details>")
        elif kind == "redacted_thinking":
            parts.append("*(redacted thinking)*")
        elif kind in ("tool_use", "server_tool_use"):
            arguments = json.dumps(block.input, ensure_ascii=False) if block.input else ""
            parts.append(f"🔧 `{block.name}({arguments})`")
        else:
            parts.append(f"*({kind.replace('_', ' ')})*")
    return "\n\n".join(part for part in parts if part)


def close_fences(text: str) -> str:
    """Close a code fence left open by a partial answer, so what follows is not swallowed by it."""
    fences = sum(1 for line in text.splitlines() if line.lstrip().startswith("```"))
    return text + "\n```" if fences % 2 else text


def bundle(markdown: str) -> dict[str, str]:
    return {"text/markdown": markdown, "text/plain": markdown}
