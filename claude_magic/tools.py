"""Python functions Claude may call: schemas from the SDK's own `beta_tool`, calls limited to those named."""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import BadInput
from .view.codeblocks import fenced
from .view.escape import code, shorten

RESULT_PREVIEW = 200
# The content blocks a tool_result takes.
_BLOCKS = ("text", "image", "document", "search_result")
# The API's pattern for a tool's name.
TOOL_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")


def tools_from(names: str | list[Any], namespace: Mapping[str, Any]) -> dict[str, Any]:
    """The named callables as SDK function tools, by name (`--tools f,g`, or callables from Python).

    A tool is named after its function, or after the variable holding it where the function's own
    name is not one the API takes (`a = lambda q: …` becomes the tool `a`).
    """
    import anthropic

    items = [name.strip() for name in names.split(",") if name.strip()] if isinstance(names, str) else names
    tools: dict[str, Any] = {}
    for item in items:
        function = namespace.get(item) if isinstance(item, str) else item
        label = item if isinstance(item, str) else getattr(item, "__name__", repr(item))
        if function is None:
            raise BadInput(f"--tools {label}: there is no function {label!r} in the notebook. Define it first.")
        if not callable(function):
            raise BadInput(f"--tools {label}: {label!r} is a {type(function).__name__}, not a function.")
        tool = function if isinstance(function, anthropic.lib.tools.BetaFunctionTool) else _tool(function, item)
        if tool.name in tools:
            raise BadInput(f"--tools: two tools are named {tool.name!r}; give each function its own name.")
        tools[tool.name] = tool
    return tools


def _tool(function: Any, item: Any) -> Any:
    """`function` as an SDK tool, or one line saying why it cannot be one."""
    import anthropic

    name = getattr(function, "__name__", "")
    if not TOOL_NAME.fullmatch(name):
        if not (isinstance(item, str) and TOOL_NAME.fullmatch(item)):
            raise BadInput(f"--tools: {name or repr(function)!r} is not a valid tool name (letters, digits, _ "
                           "and -, at most 64); assign the function to a variable and name that.")
        name = item
    label = item if isinstance(item, str) else name
    if inspect.isbuiltin(function) or inspect.isclass(function):
        kind = "a built-in" if inspect.isbuiltin(function) else "a class"
        raise BadInput(f"--tools {label}: {label!r} is {kind}, whose parameters cannot be described to Claude; "
                       f"wrap it in a function with typed parameters (def {name}(text: str): …).")
    try:
        return anthropic.beta_tool(function, name=name)
    except Exception as exc:  # the SDK (pydantic) cannot describe it: say so in a line
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BadInput(f"--tools {label}: cannot describe it as a tool ({reason}); "
                       "wrap it in a function with typed parameters.") from exc


@dataclass(frozen=True)
class Result:
    """What a tool's `call` may return instead of a plain value: the result's content (text, or text and
    image blocks) and whether it is an error Claude should read as one."""

    content: str | list[dict[str, Any]]
    is_error: bool = False


def definitions(tools: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [tool.to_dict() for tool in tools.values()]


def run_calls(message: Any, tools: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Run each tool_use block of `message`; a failure becomes an `is_error` result Claude can read."""
    results = []
    for block in message.content:
        if block.type != "tool_use":
            continue
        result: dict[str, Any] = {"type": "tool_result", "tool_use_id": block.id}
        tool = tools.get(block.name)
        try:
            if tool is None:
                raise LookupError(f"no tool named {block.name!r} was offered")
            value = tool.call(block.input)
            result["content"] = value.content if isinstance(value, Result) else _content(value)
            if isinstance(value, Result) and value.is_error:
                result["is_error"] = True
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # noqa: BLE001 - even SystemExit: the model is told and can recover
            # The SDK's ToolError (an MCP server's error result) carries its own content blocks.
            blocks = getattr(exc, "content", None)
            result["content"] = _content(blocks) if blocks else f"{type(exc).__name__}: {exc}"
            result["is_error"] = True
        results.append(result)
    return results


def status_line(message: Any, tools: Mapping[str, Any]) -> str:
    """What the answer shows while the calls of `message` run: a tool may say it waits for the user."""
    called = [block.name for block in message.content if block.type == "tool_use"]
    own = [tools[name].status() for name in called if hasattr(tools.get(name), "status")]
    plain = [code(name) for name in called if not hasattr(tools.get(name), "status")]
    return "\n\n".join([*([f"⚙ Running {', '.join(plain)}…"] if plain else []), *dict.fromkeys(own)])


def results_markdown(results: list[dict[str, Any]]) -> str:
    """The results under the calls: a function's value on one line; content blocks (a run's output, an MCP
    tool's answer) whole, as Claude got them, fenced so nothing in them is read as markup, and their pictures."""
    lines = []
    for result in results:
        content = result["content"]
        if isinstance(content, list):  # content blocks (a run's output, an MCP tool's text and images)
            lines.append(_blocks_markdown(result))
            continue
        mark = "⚠ error" if result.get("is_error") else "result"
        lines.append(f"> ↳ {mark}: {code(shorten(content, RESULT_PREVIEW))}")
    return "\n>\n".join(lines)


def _blocks_markdown(result: dict[str, Any]) -> str:
    mark = "⚠ error" if result.get("is_error") else "output"
    parts = [f"↳ {mark}:"]
    for block in result["content"]:
        if block.get("type") == "text":
            parts.append(fenced(block["text"]))
        elif block.get("type") == "image" and block["source"].get("type") == "base64":
            source = block["source"]
            parts.append(f"![figure](data:{source['media_type']};base64,{source['data']})")
    return "\n\n".join(parts)


def results_text(results: list[dict[str, Any]]) -> str:
    """A run's results for a terminal: their text, pictures only counted ("" for a function's results,
    whose one-line markdown a terminal shows as it is)."""
    lines = []
    for result in results:
        content = result["content"]
        if isinstance(content, str):
            continue
        lines += [block["text"] for block in content if block.get("type") == "text"]
        pictures = sum(block.get("type") == "image" for block in content)
        if pictures:
            lines.append(f"[{pictures} figure{'s' if pictures > 1 else ''} sent to Claude]")
    return "\n".join(lines)


def _content(value: Any) -> Any:
    """A tool's return value as tool_result content: content blocks as they are (an MCP tool's text
    and images, converted by the SDK), anything else as text."""
    if isinstance(value, list) and value and all(isinstance(block, dict) and block.get("type") in _BLOCKS
                                                 for block in value):
        return value
    return _as_text(value)


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, default=repr)
    except (TypeError, ValueError):
        return repr(value)
