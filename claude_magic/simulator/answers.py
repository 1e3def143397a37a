"""What the simulator says when nothing is scripted, and how it counts tokens.

Everything here is a pure function of the request body: the same request always gets the same answer,
so notebooks re-run identically and tests can assert on what they see.
"""

from __future__ import annotations

import base64
import hashlib
import json
import keyword
import re
from typing import Any

from ..models import rules_for
from . import code, documents, edits, fixes, structured, web

# Newest first, the order GET /v1/models lists them in. The dates are approximate: only their order matters.
# Models without a lifecycle are active.
MODELS: dict[str, dict[str, str]] = {
    "claude-opus-5-5": {"display_name": "Claude Opus 5.5", "created_at": "2026-11-24T00:00:00Z"},
    "claude-sonnet-5-5": {"display_name": "Claude Sonnet 5.5", "created_at": "2026-11-24T00:00:00Z"},
    "claude-haiku-5-5": {"display_name": "Claude Haiku 5.5", "created_at": "2026-11-24T00:00:00Z"},
    "claude-opus-5": {"display_name": "Claude Opus 5", "created_at": "2026-09-01T00:00:00Z"},
    "claude-sonnet-5": {"display_name": "Claude Sonnet 5", "created_at": "2026-09-01T00:00:00Z"},
    "claude-opus-4-8": {"display_name": "Claude Opus 4.8", "created_at": "2026-06-01T00:00:00Z"},
    "claude-opus-4-7": {"display_name": "Claude Opus 4.7", "created_at": "2026-04-01T00:00:00Z"},
    "claude-sonnet-4-6": {"display_name": "Claude Sonnet 4.6", "created_at": "2026-02-17T00:00:00Z"},
    "claude-opus-4-6": {"display_name": "Claude Opus 4.6", "created_at": "2026-02-05T00:00:00Z"},
    "claude-opus-4-5": {
        "display_name": "Claude Opus 4.5",
        "created_at": "2025-11-24T00:00:00Z",
        "lifecycle": "deprecated",
    },
    "claude-haiku-4-5": {"display_name": "Claude Haiku 4.5", "created_at": "2025-10-15T00:00:00Z"},
    "claude-sonnet-4-5": {
        "display_name": "Claude Sonnet 4.5",
        "created_at": "2025-09-29T00:00:00Z",
        "lifecycle": "deprecated",
    },
}

_TOKEN = re.compile(r"\S+")
_WORD = re.compile(r"\w[\w'-]*")


def count_tokens(body: dict[str, Any]) -> int:
    """Input tokens of a request: one per whitespace-separated word, at least 1.

    The sum over the blocks of `prompt_blocks(body)`. Crude, but deterministic and monotone: adding
    anything to a request never lowers its count.
    """
    return max(1, sum(tokens for _, _, tokens in prompt_blocks(body)))


def prompt_blocks(body: dict[str, Any]) -> list[tuple[str, dict[str, Any], int]]:
    """The blocks the model reads, in its order, as (where, block, tokens): each tool, the system prompt's
    blocks, then each message's blocks; `where` is "tools", "system" or the message's role.

    Split this finely because prompt caching works block by block. A text block counts the words of its
    text, any other block or tool the words of its JSON.
    """
    system = body.get("system") or []
    placed = [("tools", tool) for tool in body.get("tools") or []]
    placed += [("system", block) for block in blocks_of({"content": system})]
    for message in body.get("messages") or []:
        placed += [(message["role"], block) for block in blocks_of(message)]
    return [(where, block, _count(block)) for where, block in placed]


def uncached(block: dict[str, Any]) -> dict[str, Any]:
    """`block` as the model reads it: cache_control is markup for the API, so it counts for nothing."""
    return {key: value for key, value in block.items() if key != "cache_control"}


def _count(block: dict[str, Any]) -> int:
    text = block["text"] if block.get("type") == "text" else json.dumps(uncached(block))
    return len(_TOKEN.findall(text))


def blocks_of(message: dict[str, Any]) -> list[dict[str, Any]]:
    """A message's content as blocks, whichever of the two shapes the API accepts it was sent in."""
    content = message.get("content")
    return [{"type": "text", "text": content}] if isinstance(content, str) else list(content or [])


def answer(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The content blocks answering `body`; tool_use blocks get their ids when a response is laid out."""
    messages = body["messages"]
    last_user = next(message for message in reversed(messages) if message["role"] == "user")
    prompt = "\n".join(_texts(blocks_of(last_user))).strip()
    turn = sum(message["role"] == "user" for message in messages)
    seed = int.from_bytes(hashlib.sha256(json.dumps(messages, sort_keys=True).encode()).digest()[:4], "big")
    results = [block for block in blocks_of(last_user) if block.get("type") == "tool_result"]
    tool = _offered_tool(body)
    schema = structured.schema(body)
    sourced = None if results or tool else web.searched(body, prompt) or documents.cited(body)

    rules = rules_for(body["model"])
    shown = _display(body, rules) == "summarized"
    content = []
    if _thinks(body):
        thought = _reasoning(prompt) if prompt or not results else "The result is in: I'll say what it shows."
        content.append(_thinking(thought, body["model"], shown))
    if schema is not None and not tool:
        content.append({"type": "text", "text": json.dumps(_example(schema, _WORD.findall(prompt), schema))})
    elif results:
        content.append({"type": "text", "text": _after_tool(results[0], messages, turn)})
    elif sourced:
        content += sourced
    elif tool:
        runs = code.runs_code(tool)
        words = _WORD.findall(prompt)
        if runs:
            calls = [{"type": "tool_use", "name": tool["name"], "input": {"code": code.snippet(prompt)}}]
        else:
            calls = (edits.proposals(tool, _texts(blocks_of(last_user))) if edits.is_edit_tool(tool) else []) or [
                {"type": "tool_use", "name": tool["name"], "input": _example(tool["input_schema"], words)}]
        cells = ", ".join(call["input"]["cell"] for call in calls) if edits.is_edit_tool(tool) else ""
        intro = ("Let me run a little Python in your notebook." if runs else
                 f"I'll propose a new version of cell{'s' if len(calls) > 1 else ''} {cells}." if cells
                 else f"I'll use the `{tool['name']}` tool for this.")
        # The 5.5 generation says what it does between tool calls in a thinking block, not a text block.
        between = rules is not None and rules.between_tools_in_thinking
        content.append(_thinking(intro, body["model"], shown) if between else {"type": "text", "text": intro})
        content += calls
    elif fixes.fixed(prompt):
        content.append({"type": "text", "text": fixes.fixed(prompt)})
    elif body.get("max_tokens", 0) < BRIEF_BELOW:
        content.append({"type": "text", "text": _brief(prompt)})
    else:
        content.append({"type": "text", "text": _markdown(prompt, turn, seed)})
    return content


# A request that leaves room for only a line (a --map over a column, say) gets a line, not an essay.
BRIEF_BELOW = 150


def _brief(prompt: str) -> str:
    words = prompt.split()
    end = " ".join(words[-10:])
    return f"Offline answer to “{'…' if len(words) > 10 else ''}{end}”, from the simulator."


def _texts(blocks: list[Any]) -> list[str]:
    return [block["text"] for block in blocks if isinstance(block, dict) and block.get("type") == "text"]


def _thinks(body: dict[str, Any]) -> bool:
    return (body.get("thinking") or {}).get("type") in ("enabled", "adaptive")


def _display(body: dict[str, Any], rules: Any) -> str:
    """Whether thinking text is "summarized" or "omitted": as the request asks, else the model's default."""
    asked = (body.get("thinking") or {}).get("display")
    return asked or (rules.display if rules is not None else "summarized")


def sign(model: str, thinking: str) -> str:
    """A thinking block's signature: opaque to clients, but it names the model that wrote the block."""
    digest = hashlib.sha256(thinking.encode()).hexdigest()[:32]
    return base64.b64encode(f"{model}\n{digest}".encode()).decode()


def signer(signature: Any) -> str | None:
    """The model that signed a thinking block, or None for a signature the simulator did not make."""
    try:
        model, _ = base64.b64decode(signature, validate=True).decode().split("\n")
    except (TypeError, ValueError):
        return None
    return model


def _offered_tool(body: dict[str, Any]) -> dict[str, Any] | None:
    """The tool to call: the one tool_choice names, else the first one with a schema (a client tool)."""
    choice = body.get("tool_choice") or {}
    if choice.get("type") == "none":
        return None
    tools = [tool for tool in body.get("tools") or [] if "input_schema" in tool]
    named = [tool for tool in tools if tool["name"] == choice.get("name")]
    return (named or tools or [None])[0]


class _Recursive(Exception):
    """A `$ref` met again inside its own expansion: the value must stop here (an empty list, another variant)."""


def _example(schema: dict[str, Any], words: list[str], root: dict[str, Any] | None = None,
             expanding: tuple[str, ...] = ()) -> Any:
    """A value that fits `schema`, filling only required properties, as a model does when it is terse.

    `root` is the whole schema, where `$ref`s (`#/$defs/Name`) point, the root itself included (pydantic's
    schema of a recursive model is `{"$defs": …, "$ref": …}`). A recursive definition ends at the first
    list or alternative that lets it: a tree answers as a single node.
    """
    root = schema if root is None else root
    if "$ref" in schema:
        ref = schema["$ref"]
        if ref in expanding:
            raise _Recursive(ref)
        target: Any = root
        for part in ref.removeprefix("#/").split("/"):
            target = target.get(part, {})
        return _example(target, words, root, (*expanding, ref))
    if "allOf" in schema:  # every part must hold: their merged properties (pydantic < 2.9 wraps a root $ref so)
        merged: dict[str, Any] = {}
        for part in schema["allOf"]:
            value = _example(part, words, root, expanding)
            if not isinstance(value, dict):
                return value
            merged.update(value)
        return merged
    if "anyOf" in schema or "oneOf" in schema:
        variants = schema.get("anyOf") or schema["oneOf"]
        for variant in variants[:-1]:
            try:
                return _example(variant, words, root, expanding)
            except _Recursive:
                continue
        return _example(variants[-1], words, root, expanding)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = kind[0]
    if kind == "object" or "properties" in schema:
        properties = schema.get("properties", {})
        return {name: _example(properties.get(name, {}), words, root, expanding)
                for name in schema.get("required", [])}
    if kind == "array":
        try:
            return [_example(schema.get("items", {}), words, root, expanding)]
        except _Recursive:
            return []
    if schema.get("format") in _FORMATS:
        return _FORMATS[schema["format"]]
    if kind in ("integer", "number"):
        return 1
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    # The object of a request tends to come last: "weather in Paris".
    return " ".join(words[-3:]) or "example"


# Strings in the formats structured outputs support, so a typed field (a date, say) still validates.
_FORMATS = {"date": "2026-11-30", "date-time": "2026-11-30T12:00:00Z", "time": "12:00:00", "email": "ada@example.com",
            "uri": "https://example.com/", "uuid": "00000000-0000-4000-8000-000000000000", "hostname": "example.com",
            "ipv4": "192.0.2.1", "ipv6": "2001:db8::1", "duration": "P1D"}


def _reasoning(prompt: str) -> str:
    return (
        f"The user asks: “{_quote(prompt, 20)}”. I'll answer with a heading, a short explanation, a few "
        "bullet points and a small Python example, and say that this reply comes from the offline simulator."
    )


def _thinking(thinking: str, model: str, shown: bool) -> dict[str, Any]:
    """A thinking block; with display "omitted" its text is empty and only the signature comes back."""
    return {"type": "thinking", "thinking": thinking if shown else "", "signature": sign(model, thinking)}


def _after_tool(result: dict[str, Any], messages: list[dict[str, Any]], turn: int) -> str:
    uses = [block for message in messages for block in blocks_of(message) if block.get("type") == "tool_use"]
    name = next((use["name"] for use in uses if use.get("id") == result.get("tool_use_id")), "tool")
    content = result.get("content")
    output = content if isinstance(content, str) else " ".join(_texts(content or []))
    use = next((use for use in uses if use.get("id") == result.get("tool_use_id")), {})
    if list(use.get("input") or {}) == ["code"]:
        return f"{code.explained(result, [output], _quote)}\n\n{_SIGN_OFF}"
    return (
        f"The `{name}` tool returned: “{_quote(output, 40)}”{_turn_note(turn)}.\n\n"
        "That result answers the question directly, so no further tool call is needed. Ask a follow-up "
        "in the next cell to go further.\n\n"
        f"{_SIGN_OFF}"
    )


_SIGN_OFF = (
    "This is the offline simulator's answer: generated locally from your prompt, without calling Claude."
)
# Left out of topics and names, so "How do I reverse a list?" is about "reverse list".
_STOPWORDS = frozenset(
    "a an and are be can could do does explain for from give how i in "  # noqa: SIM905 - reads best as words
    "is it me my of on or please show tell that the this to what when where which why with would write you "
    "your".split()
)
# Three shapes of answer, picked by a hash of the conversation, so consecutive answers look different.
_POINTS = (
    (
        "- **Start small:** get a first version of *{topic}* working before polishing it.",
        "- **Check it:** try an empty input, a typical one and a very large one.",
        "- **Refine:** name things clearly and remove what you do not need.",
    ),
    (
        "- **What it is:** *{topic}* comes down to a few clear steps.",
        "- **Why it matters:** each step can be tested on its own.",
        "- **How to go on:** ask a follow-up in the next cell; this conversation remembers the turn.",
    ),
    (
        "- **Inputs:** be explicit about what *{topic}* starts from.",
        "- **Outputs:** decide what a good result looks like before writing code.",
        "- **Trade-offs:** prefer the clear version first, then measure before optimising.",
    ),
)
_CODE = (
    '''def {name}(items):
    """Keep the useful items (a sketch for: {topic})."""
    return [item for item in items if item]


print({name}({sample!r}))''',
    '''from collections import Counter


def {name}(text):
    """Count the words of `text`, most common first."""
    return Counter(text.lower().split()).most_common(3)


print({name}({sentence!r}))''',
    '''def {name}(n):
    """The first `n` steps of a plan for: {topic}."""
    steps = ["understand", "try", "check", "refine"]
    return steps[:n]


print({name}(3))''',
)


def _markdown(prompt: str, turn: int, seed: int) -> str:
    words = _WORD.findall(prompt)
    keywords = [word for word in words if word.lower() not in _STOPWORDS] or words
    topic = " ".join(keywords[:3]) or "your question"
    name = "_".join([word.lower() for word in keywords if word.isascii() and word.isalpha()][:3]) or "solve"
    if keyword.iskeyword(name):
        name += "_"
    heading = re.sub(r"[#*`>\[\]]", "", _quote(prompt.split("\n")[0], 8)).strip() or "Your question"
    variant = seed % len(_POINTS)
    points = "\n".join(_POINTS[variant]).format(topic=topic)
    code = _CODE[variant].format(
        name=name, topic=topic, sample=[*keywords[:2], ""], sentence=" ".join(words[:8])
    )
    return (
        f"## {heading[0].upper()}{heading[1:]}\n\n"
        f"You asked{_turn_note(turn)}: “{_quote(prompt, 25)}”. Here is a compact answer shaped like a real "
        "reply: this paragraph, a short list of points and a runnable Python sketch, each streamed "
        f"into the notebook word by word.\n\n{points}\n\n```python\n{code}\n```\n\n"
        f"{_SIGN_OFF}"
    )


def _turn_note(turn: int) -> str:
    return f" (turn {turn} of this conversation)" if turn > 1 else ""


def _quote(text: str, limit: int) -> str:
    words = text.split()
    return " ".join(words[:limit]) + ("…" if len(words) > limit else "")
