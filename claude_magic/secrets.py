"""Credentials kept out of what the magic sends: the values of the environment's known secret variables.

A cell that failed while holding the API key, a `{In[N]}`, `--cells`, `--context`, a `--file` or a tool
result would otherwise carry the key to the API and from there into the chat's history, its autosave
and its export. `redact` is the one pure function that blanks such values out; the user turn is
built through it (`conversation.user_turn`), and whatever else sends text of the notebook's (an
uploaded text file, a tool's result, code output) calls it too.

Only values at least `MIN_LENGTH` characters long are redacted: a short value (`HF_TOKEN=1`) would
blank out ordinary words.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from typing import Any

# The credential variables whose values never leave the notebook: Anthropic's own first, then the keys
# of services a data notebook commonly holds. Documented in the README ("What is never sent").
VARIABLES = (
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AZURE_OPENAI_API_KEY",
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "GOOGLE_API_KEY",
    "GEMINI_API_KEY",
    "HF_TOKEN",
    "HUGGING_FACE_HUB_TOKEN",
    "OPENAI_API_KEY",
    "MISTRAL_API_KEY",
    "COHERE_API_KEY",
    "GROQ_API_KEY",
    "WANDB_API_KEY",
)
MIN_LENGTH = 12
# The shortest piece of a value, at its start or end, redacted when the text holding it was cut.
FRAGMENT = 16


def placeholder(name: str) -> str:
    """What stands where a credential's value was: its variable's name, so Claude can still talk about it."""
    return f"[redacted: ${name}]"


def known(environ: Mapping[str, str] | None = None) -> list[tuple[str, str]]:
    """(name, value) of each credential set in the environment, longest value first (one may hold another)."""
    environ = os.environ if environ is None else environ
    found = [(name, environ.get(name) or "") for name in VARIABLES]
    return sorted(((n, v) for n, v in found if len(v) >= MIN_LENGTH), key=lambda item: -len(item[1]))


def redact(text: str, environ: Mapping[str, str] | None = None) -> tuple[str, list[str]]:
    """`text` with every known credential's value replaced by `[redacted: $NAME]`, and the names replaced.

    A value cut short where the text was shortened (a long traceback's middle, a DataFrame cell's end)
    still shows its start or its end: `FRAGMENT` characters of either, and as much more of the value as
    follows or precedes them, are replaced too.
    """
    names: list[str] = []
    for name, value in known(environ):
        found = value in text
        text = text.replace(value, placeholder(name))
        text, cut = _fragments(text, value, placeholder(name))
        if found or cut:
            names.append(name)
    return text, names


def _fragments(text: str, value: str, mark: str) -> tuple[str, bool]:
    """`text` with what is left of a cut `value` (its start or its end, FRAGMENT characters at least) marked."""
    size = min(FRAGMENT, len(value))
    if value[:size] not in text and value[-size:] not in text:  # the usual case, at str.find's speed
        return text, False
    spans = []
    # Overlapping matches (a lookahead), so a value with repeats in it is found at every place it could sit.
    for match in re.finditer(f"(?={re.escape(value[:size])})", text):  # the start of the value, cut after it
        begin = end = match.start()
        while end - begin < len(value) and end < len(text) and text[end] == value[end - begin]:
            end += 1
        spans.append((begin, end))
    for match in re.finditer(f"(?={re.escape(value[-size:])})", text):  # the end of the value, cut before it
        start, offset = match.start(), len(value) - size
        while offset > 0 and start > 0 and text[start - 1] == value[offset - 1]:
            start, offset = start - 1, offset - 1
        spans.append((start, match.start() + size))
    if not spans:
        return text, False
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    for start, end in reversed(merged):
        text = text[:start] + mark + text[end:]
    return text, True


def redact_content(content: Any, environ: Mapping[str, str] | None = None) -> tuple[Any, list[str]]:
    """A message's content (a string, or blocks) with credentials redacted from every text it holds.

    Text blocks, plain-text documents and tool results are rewritten (as copies); binary sources
    (base64 images and PDFs, file ids) are left as they are.
    """
    pairs = known(environ)
    if not pairs:
        return content, []
    names: set[str] = set()

    def text(value: str) -> str:
        value, found = redact(value, dict(pairs))
        names.update(found)
        return value

    def walk(value: Any) -> Any:
        if isinstance(value, str):
            return text(value)
        if isinstance(value, list):
            return [walk(item) for item in value]
        if not isinstance(value, dict):
            return value
        kind = value.get("type")
        if kind == "text" and isinstance(value.get("text"), str):
            return {**value, "text": text(value["text"])}
        if kind == "tool_result" and "content" in value:
            return {**value, "content": walk(value["content"])}
        if kind == "document" and isinstance(value.get("source"), dict):
            source = value["source"]
            if source.get("type") == "text" and isinstance(source.get("data"), str):
                return {**value, "source": {**source, "data": text(source["data"])}}
            if source.get("type") == "content":
                return {**value, "source": {**source, "content": walk(source.get("content"))}}
        return value

    redacted = walk(content)
    return redacted, [name for name, _ in sorted(pairs) if name in names]


def note(names: Iterable[str], where: str = "what was sent") -> str | None:
    """The line said when something was redacted (under the answer: from what was sent), or None."""
    names = sorted(set(names))
    if not names:
        return None
    what = "the value of " + (names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1])
    return f"Redacted {what} from {where}."
