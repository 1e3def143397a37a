"""Structured outputs in the simulator: `output_config.format` checked like the API checks it."""

from __future__ import annotations

from typing import Any


def schema(body: dict[str, Any]) -> dict[str, Any] | None:
    """The JSON Schema the answer must fit, when the request asks for one."""
    output_format = (body.get("output_config") or {}).get("format")
    return output_format.get("schema") if isinstance(output_format, dict) else None


def problem(body: dict[str, Any]) -> str | None:
    output_format = (body.get("output_config") or {}).get("format")
    if output_format is None:
        return None
    if not isinstance(output_format, dict) or output_format.get("type") != "json_schema":
        return "output_config.format.type: Input should be 'json_schema'"
    if not isinstance(output_format.get("schema"), dict):
        return "output_config.format.schema: Field required"
    return _strictness(output_format["schema"], "output_config.format.schema")


def _strictness(node: Any, where: str) -> str | None:
    """The API needs every object closed: `additionalProperties: false` (the SDK's transform_schema adds it)."""
    if isinstance(node, list):
        return next(filter(None, (_strictness(item, f"{where}.{i}") for i, item in enumerate(node))), None)
    if not isinstance(node, dict):
        return None
    if node.get("type") == "object" and node.get("additionalProperties") is not False:
        return f"{where}: For 'object' type, 'additionalProperties' must be explicitly set to false"
    return next(filter(None, (_strictness(value, f"{where}.{key}") for key, value in node.items()
                              if isinstance(value, (dict, list)))), None)
