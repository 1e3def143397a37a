"""The API's rules that depend on the model and the API version, as the simulator enforces them.

Each rule is what Anthropic's docs state (the sources and the date are in claude_magic/models.py):

- API version 2026-10-21 (what SDK 2.x sends) removed `temperature`, `top_p` and `top_k` (a 400 even at
  their defaults), refuses a `document` block in an assistant message and non-empty `citations` on a
  text block of a user message (directly or inside a `search_result` block). 2023-06-01 accepts all
  three, but a model that takes only default sampling values refuses others.
- Any version: an unknown top-level parameter is "…: Extra inputs are not permitted".
- By model (`rules_for`): `max_tokens` up to the model's output limit; manual thinking budgets refused
  on adaptive-only models (Claude 4.7 and later), adaptive thinking refused on budget-only ones (4.5 and
  earlier); forced tool use refused on the 5.5 generation; there, too, a thinking block is accepted
  back only by the model that produced it.

Messages quote the real API where the docs or its users quote it; the rest say the same thing plainly.
"""

from __future__ import annotations

from typing import Any

from ..models import API_VERSIONS, CURRENT_API_VERSION, ModelRules, rules_for
from .answers import blocks_of, signer

Problem = tuple[int, str, str]

_MESSAGES = frozenset({
    "model", "messages", "max_tokens", "system", "metadata", "stop_sequences", "stream", "tools",
    "tool_choice", "thinking", "output_config", "service_tier", "container", "mcp_servers",
    "context_management", "inference_geo", "cache_control",
})
_COUNTING = frozenset({
    "model", "messages", "system", "tools", "tool_choice", "thinking", "output_config", "mcp_servers",
    "context_management", "cache_control",
})
_SAMPLING = ("temperature", "top_p", "top_k")
_DEFAULTS = {"temperature": 1.0, "top_p": 1.0}
_DISPLAYS = ("summarized", "omitted")
_USE_ADAPTIVE = 'Use "thinking.type.adaptive" and "output_config.effort" to control thinking behavior.'


def _invalid(message: str) -> Problem:
    return 400, "invalid_request_error", message


def version_problem(version: str | None) -> Problem | None:
    """The `anthropic-version` header: required, and one the API knows."""
    if not version:
        return _invalid("anthropic-version: header is required")
    if version not in API_VERSIONS:
        known = ", ".join(API_VERSIONS)
        return _invalid(f"anthropic-version: {version!r} is not a valid version; use one of {known}")
    return None


def problem(body: dict[str, Any], version: str | None, *, counting: bool = False) -> Problem | None:
    """What the API refuses in a structurally valid request, under this API version and model."""
    version = version or CURRENT_API_VERSION
    return (
        _parameters(body, version, counting)
        or _content(body["messages"], version)
        or _model(body, rules_for(body["model"]) if isinstance(body["model"], str) else None, counting)
    )


def _parameters(body: dict[str, Any], version: str, counting: bool) -> Problem | None:
    known = _COUNTING if counting else _MESSAGES
    if version == "2023-06-01" and not counting:
        known = known | set(_SAMPLING)
    for name in body:
        if name not in known:
            return _invalid(f"{name}: Extra inputs are not permitted")
    return None


def _content(messages: list[dict[str, Any]], version: str) -> Problem | None:
    if version == "2023-06-01":
        return None
    for index, message in enumerate(messages):
        for position, block in enumerate(blocks_of(message)):
            where = f"messages.{index}.content.{position}"
            if message["role"] == "assistant" and block.get("type") == "document":
                return _invalid(f"{where}: document blocks are not allowed in assistant messages")
            if message["role"] == "user" and _cites(block):
                return _invalid(f"{where}: citations are not allowed on text blocks in user messages")
    return None


def _cites(block: dict[str, Any]) -> bool:
    if block.get("type") == "search_result":
        return any(_cites(inner) for inner in block.get("content") or [] if isinstance(inner, dict))
    return block.get("type") == "text" and bool(block.get("citations"))


def _model(body: dict[str, Any], rules: ModelRules | None, counting: bool) -> Problem | None:
    thinking = body.get("thinking")
    budget_problem = _budget(body, thinking, counting)
    if budget_problem or rules is None:
        return budget_problem
    model = body["model"]
    max_tokens = body.get("max_tokens")
    if not counting and max_tokens > rules.max_output:
        return _invalid(
            f"max_tokens: {max_tokens} > {rules.max_output}, which is the maximum allowed number of output "
            f"tokens for {model}"
        )
    kind = thinking.get("type") if isinstance(thinking, dict) else None
    if kind == "enabled" and rules.thinking == "adaptive":
        return _invalid(f'"thinking.type.enabled" is not supported for this model. {_USE_ADAPTIVE}')
    if kind == "adaptive" and not rules.adaptive:
        return _invalid(
            '"thinking.type.adaptive" is not supported for this model. Use "thinking.type.enabled" with '
            '"budget_tokens" to control thinking behavior.'
        )
    if kind == "disabled" and rules.thinking_tied_to_model:
        return _invalid(f'"thinking.type.disabled" is not supported for this model. {_USE_ADAPTIVE}')
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("type") in ("any", "tool") and not rules.forced_tool_choice:
        return _invalid(
            f'tool_choice.type: "{choice["type"]}" (forced tool use) is not supported for this model. '
            'Use "auto" or "none".'
        )
    if not rules.sampling:
        for name in _SAMPLING:
            if name in body and body[name] != _DEFAULTS.get(name):
                return _invalid(f"{name}: only the default value is supported for this model; remove it")
    if rules.thinking_tied_to_model:
        return _foreign_thinking(body["messages"], model)
    return None


def _budget(body: dict[str, Any], thinking: Any, counting: bool) -> Problem | None:
    """The shape of `thinking`, any model: a budget of 1024 or more, below max_tokens; a known display."""
    if not isinstance(thinking, dict):
        return None
    if thinking.get("display", "summarized") not in _DISPLAYS:
        return _invalid(f"thinking.display: Input should be {' or '.join(repr(d) for d in _DISPLAYS)}")
    if thinking.get("type") != "enabled":
        return None
    budget = thinking.get("budget_tokens")
    if isinstance(budget, bool) or not isinstance(budget, int):
        return _invalid("thinking.enabled.budget_tokens: Field required")
    if budget < 1024:
        return _invalid("thinking.enabled.budget_tokens: Input should be greater than or equal to 1024")
    if not counting and budget >= body["max_tokens"]:
        return _invalid("`max_tokens` must be greater than `thinking.budget_tokens`")
    return None


def _foreign_thinking(messages: list[dict[str, Any]], model: str) -> Problem | None:
    """On the 5.5 generation a thinking block goes back only to the model that signed it."""
    for index, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        for position, block in enumerate(blocks_of(message)):
            if block.get("type") == "thinking" and signer(block.get("signature")) != model:
                return _invalid(
                    f"messages.{index}.content.{position}: Invalid `signature` in `thinking` block: "
                    f"thinking blocks are tied to the model that produced them, and this one is not {model}'s"
                )
    return None
