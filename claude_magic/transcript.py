"""A chat exported for people: a markdown transcript, or a notebook with one `%%claude` cell per prompt.

Answers are drawn by the same `markdown_of` as a live cell, from the SDK's own block types, so an
exported answer looks like the one the notebook showed. A notebook's cells ask again what was asked,
with the options that shaped it (`rerun.py`).
"""

from __future__ import annotations

import uuid
from types import SimpleNamespace
from typing import Any

from .conversation import Chat, Exchange
from .rerun import cells_for
from .tools import results_markdown
from .view.markdown import markdown_of

KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}


def prompt_of(exchange: Exchange) -> str:
    """What the user wrote: the prompt, after any context blocks (shown by kind)."""
    content = exchange.user["content"]
    if isinstance(content, str):
        return content
    return "\n\n".join(block["text"] if block.get("type") == "text" else f"*[{block.get('type')}]*"
                       for block in content)


def answer_of(exchange: Exchange) -> str:
    """The answer as the cell showed it: tool rounds first, then the final turn, all as markdown."""
    from anthropic.types import ContentBlock
    from pydantic import TypeAdapter

    blocks = TypeAdapter(list[ContentBlock])
    parts = []
    for turn in exchange.turns[1:]:
        if turn["role"] == "assistant":
            parts.append(markdown_of(SimpleNamespace(content=blocks.validate_python(turn["content"]))))
        else:
            results = [block for block in turn["content"] if block.get("type") == "tool_result"
                       and isinstance(block.get("content"), (str, list))]
            parts.append(results_markdown(results))
    return "\n\n".join(part for part in parts if part)


def usage_of(exchange: Exchange) -> str:
    model = f"{exchange.model} · " if exchange.model else ""
    return f"<sub>{model}{exchange.input_tokens:,} in / {exchange.output_tokens:,} out</sub>"


def markdown(chat: Chat) -> str:
    """A readable transcript: each prompt quoted, each answer as markdown, each exchange's usage."""
    parts = [f"# Chat `{chat.name}`"]
    for number, exchange in enumerate(chat.exchanges, 1):
        system = f"*System prompt:* {exchange.system}\n\n" if exchange.system else ""
        quoted = "\n".join(f"> {line}" if line else ">" for line in prompt_of(exchange).splitlines())
        parts.append(f"## {number}. You\n\n{system}{quoted}\n\n### Claude\n\n{answer_of(exchange)}\n\n"
                     f"{usage_of(exchange)}")
    return "\n\n".join(parts) + "\n"


def notebook(chat: Chat, folder: str = ".") -> dict[str, Any]:
    """An nbformat 4 notebook to be written in `folder`: `%load_ext`, then per exchange the Python cells it
    needs first (if any) and a `%%claude` cell that asks it again, with its answer as output."""
    cells = [_code("%load_ext claude_magic", [])]
    for number, exchange in enumerate(chat.exchanges, 1):
        before, source = cells_for(exchange, chat.name, number, str(folder))
        cells += [_code(code, []) for code in before]
        shown = f"{answer_of(exchange)}\n\n{usage_of(exchange)}"
        output = {"output_type": "display_data", "metadata": {},
                  "data": {"text/markdown": shown, "text/plain": shown}}
        cells.append(_code(source, [output]))
    return {"cells": cells, "metadata": {"kernelspec": KERNELSPEC, "language_info": {"name": "python"}},
            "nbformat": 4, "nbformat_minor": 5}


def _code(source: str, outputs: list[dict[str, Any]]) -> dict[str, Any]:
    return {"cell_type": "code", "id": uuid.uuid4().hex[:8], "execution_count": None, "metadata": {},
            "source": source, "outputs": outputs}

