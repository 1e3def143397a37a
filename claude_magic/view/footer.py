"""The compact line under an answer: model, tokens, how it ended, timings."""

from __future__ import annotations

from typing import Any

from .escape import text


def footer(messages: list[Any], *, model: str, seconds: float, first_token: float | None, state: str | None,
           max_tokens: int | None = None, context: list[str] = (), replayed: bool = False,
           retries: int = 0) -> str:
    """One compact line: model · tokens (all rounds) · how it ended · time to first token · total time."""
    last = messages[-1] if messages else None
    parts = [text(getattr(last, "model", None) or model)]
    if messages:
        usages = [message.usage for message in messages]
        # An unfinished message still holds message_start's placeholder output count.
        output = f"{sum(u.output_tokens for u in usages):,}" if last.stop_reason is not None else "?"
        parts.append(f"{sum(u.input_tokens for u in usages):,} in / {output} out")
        thinking = sum(getattr(u.output_tokens_details, "thinking_tokens", 0) or 0 for u in usages)
        for label, value in (("thinking", thinking),
                             ("cache read", sum(u.cache_read_input_tokens or 0 for u in usages)),
                             ("cache write", sum(u.cache_creation_input_tokens or 0 for u in usages))):
            if value:
                parts.append(f"{label} {value:,}")
    if len(messages) > 1:
        parts.append(f"{len(messages) - 1} tool round{'s' if len(messages) > 2 else ''}")
    parts.append(state or getattr(last, "stop_reason", None) or "no answer")
    if replayed:
        parts.append("↺ replayed, not re-asked (`--fresh` to ask again)")
    if retries:
        parts.append(f"↻ {retries} retr{'ies' if retries > 1 else 'y'}")
    if first_token is not None:
        parts.append(f"first token {first_token:.2f} s")
    parts.append(f"{seconds:.1f} s")
    if context:
        parts.append(f"context: {', '.join(map(text, context))}")
    line = " · ".join(parts)
    if state is None and getattr(last, "stop_reason", None) == "max_tokens":
        line += (f" — cut at max_tokens ({max_tokens}): raise it with `--max-tokens N` "
                 "or `%config ClaudeMagics.max_tokens = N`")
    return line
