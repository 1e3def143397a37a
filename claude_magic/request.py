"""The one request builder: a cell's options, the chat's earlier messages and this cell's turns become the
Messages request's parameters.

Pure: nothing is read, asked or changed here. What the options hold was checked and fitted to the model
before (magic.options_for, fitting.fit, sources.apply); this only lays it out as the API takes it.
"""

from __future__ import annotations

from typing import Any

from . import files
from .conversation import mark_for_cache
from .prompt import with_code_instruction
from .tools import definitions

_COUNTED = ("model", "messages", "system", "tools", "thinking", "output_config", "extra_headers")


def build(options: Any, earlier: list[dict[str, Any]], turns: list[dict[str, Any]], *,
          marks: bool = True) -> dict[str, Any]:
    """The request params: model, max_tokens, messages (`earlier`, then `turns`), system (with the --code
    instruction), output_config (effort, the --schema format), tools (the cell's, then the web search
    tool), thinking, and the Files API beta header when a message names an uploaded file.

    With `options.cache`, prompt-cache breakpoints go at the end of `earlier` and of the last turn, unless
    `marks` is False: a request that is only measured (the window check) or sent alone (a --map item) goes
    unmarked.
    """
    messages = [*earlier, *turns]
    if options.cache and marks:
        messages = mark_for_cache(messages, len(earlier))
    request: dict[str, Any] = {"model": options.model, "max_tokens": options.max_tokens, "messages": messages}
    system = with_code_instruction(options.system) if options.code else options.system
    if system:
        request["system"] = system
    if options.effort:
        request["output_config"] = {"effort": options.effort}
    if options.tools:
        request["tools"] = definitions(options.tools)
    if options.thinking:
        request["thinking"] = options.thinking
    if options.web:
        request["tools"] = [*request.get("tools", []), options.web]
    if options.schema is not None:
        request["output_config"] = {**request.get("output_config", {}), "format": options.schema.output_format()}
    if files.needs_beta(messages):
        request["extra_headers"] = {"anthropic-beta": files.FILES_BETA}
    return request


def countable(request: dict[str, Any]) -> dict[str, Any]:
    """The parts of a Messages request that count_tokens takes."""
    return {key: value for key, value in request.items() if key in _COUNTED}
