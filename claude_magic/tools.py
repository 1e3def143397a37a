"""Python functions Claude may call: schemas from the SDK's own `beta_tool`, calls limited to those named."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .errors import BadInput

RESULT_PREVIEW = 200


def tools_from(names: str | list[Any], namespace: Mapping[str, Any]) -> dict[str, Any]:
    """The named callables as SDK function tools, by name (`--tools f,g`, or callables from Python)."""
    import anthropic

    items = [name.strip() for name in names.split(",") if name.strip()] if isinstance(names, str) else names
    tools = {}
    for item in items:
        function = namespace.get(item) if isinstance(item, str) else item
        if function is None:
            raise BadInput(f"--tools {item}: there is no function {item!r} in the notebook. Define it first.")
        if not callable(function):
            raise BadInput(f"--tools {item}: {item!r} is a {type(function).__name__}, not a function.")
        tool = function if isinstance(function, anthropic.lib.tools.BetaFunctionTool) else anthropic.beta_tool(function)
        tools[tool.name] = tool
    return tools


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
            result["content"] = _as_text(tool.call(block.input))
        except Exception as exc:  # noqa: BLE001 - the model is told what went wrong and can recover
            result["content"] = f"{type(exc).__name__}: {exc}"
            result["is_error"] = True
        results.append(result)
    return results


def results_markdown(results: list[dict[str, Any]]) -> str:
    lines = []
    for result in results:
        text = " ".join(result["content"].split())
        if len(text) > RESULT_PREVIEW:
            text = text[: RESULT_PREVIEW - 1] + "…"
        mark = "⚠ error" if result.get("is_error") else "result"
        lines.append(f"> ↳ {mark}: `{text}`")
    return "\n>\n".join(lines)


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, default=repr)
    except (TypeError, ValueError):
        return repr(value)
