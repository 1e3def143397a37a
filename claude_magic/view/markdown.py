"""An answer as markdown: one part per content block, in the order Claude sent them."""

from __future__ import annotations

import json
from typing import Any

from .codeblocks import fenced
from .escape import code, text
from .fences import unclosed


def markdown_of(message: Any) -> str:
    """The answer as markdown, one part per content block, in the order Claude sent them."""
    return "\n\n".join(part for part in map(block_markdown, message.content) if part)


def block_markdown(block: Any) -> str:
    """One content block as markdown: thinking folded away, tool calls on one line."""
    kind = block.type
    if kind == "text":
        return block.text
    if kind == "thinking":
        words = len(block.thinking.split())
        return f"<details><summary>Thinking ({words:,} words)</summary>\n\n{block.thinking}\n\n</details>"
    if kind == "redacted_thinking":
        return "*(redacted thinking)*"
    if kind == "tool_use" and _only_code(block.input):
        # Code to run (--run): shown whole, as a block no line of it can close, before anyone is asked.
        return f"🔧 `{block.name}`\n\n{fenced(block.input['code'], 'python')}"
    if kind in ("tool_use", "server_tool_use"):
        arguments = json.dumps(block.input, ensure_ascii=False) if block.input else ""
        return f"🔧 {code(f'{block.name}({arguments})')}"
    return f"*({text(kind.replace('_', ' '))})*"


def _only_code(arguments: object) -> bool:
    return isinstance(arguments, dict) and list(arguments) == ["code"] and isinstance(arguments["code"], str)


def close_fences(text: str) -> str:
    """Close a code fence left open by a partial answer (``` or ~~~, of any length), so what follows —
    the footer, the next segment — is not swallowed by it."""
    fence = unclosed(text)
    if fence is None:
        return text
    separator = "" if text.endswith("\n") else "\n"
    return f"{text}{separator}{' ' * fence.indent}{fence.closing}"


def bundle(markdown: str) -> dict[str, str]:
    return {"text/markdown": markdown, "text/plain": markdown}
