"""What each model allows and costs: one table, shared by the magic, the price ledger and the simulator.

Read from Anthropic's docs on 2026-11-30 (`READ_ON`): the models overview and each model's page
(context window, max output, thinking, prices), the "What's new" pages of Claude Sonnet 5.5 and Opus 5.5
(forced tool use, thinking blocks tied to their model, text between tool calls in thinking blocks),
"Troubleshooting thinking" (which `thinking.type` each model refuses) and the API versions page
(`API_VERSIONS`). `SOURCES` lists them. Rules change with models and API versions, so they live here
alone; a model missing from the table gets no checks from the magic (the API decides), the simulator's
defaults, and "price unknown" in `%claude usage`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

READ_ON = "2026-11-30"
SOURCE = "https://platform.claude.com/docs/en/about-claude/models/overview"
SOURCES = (
    SOURCE,
    "https://platform.claude.com/docs/en/about-claude/pricing",
    "https://platform.claude.com/docs/en/models/sonnet-5-5/whats-new-sonnet-5-5",
    "https://platform.claude.com/docs/en/models/opus-5-5/overview",
    "https://platform.claude.com/docs/en/models/haiku-5-5/overview",
    "https://platform.claude.com/docs/en/build-with-claude/thinking-troubleshooting",
    "https://platform.claude.com/docs/en/api/versioning",
)

# The `anthropic-version` header values, oldest first. SDK 2.x (Python) and 1.x (TypeScript) send the
# newest; older SDKs send 2023-06-01. What 2026-10-21 changed is in `simulator/rules.py`.
API_VERSIONS = ("2023-06-01", "2026-10-21")
CURRENT_API_VERSION = API_VERSIONS[-1]

Thinking = Literal["adaptive", "budget"]
Display = Literal["summarized", "omitted"]


@dataclass(frozen=True)
class Price:
    """USD per million tokens. `cache_write` is the 5-minute kind."""

    input: float
    output: float
    cache_read: float
    cache_write: float

    def as_dict(self) -> dict[str, float]:
        return {"input": self.input, "output": self.output, "cache_read": self.cache_read,
                "cache_write": self.cache_write}


@dataclass(frozen=True)
class ModelRules:
    context_window: int
    max_output: int
    # "adaptive": only {"type": "adaptive"} (a manual budget is a 400); "budget": budget_tokens too.
    thinking: Thinking
    forced_tool_choice: bool
    price: Price | None = None
    # Whether {"type": "adaptive"} is accepted at all (Claude 4.5 and earlier know budgets only).
    adaptive: bool = True
    # What a thinking block carries when the request names no `thinking.display`: "omitted" sends
    # it empty (signature only), so a user sees nothing unless "summarized" is asked for.
    display: Display = "summarized"
    # The 5.5 generation: text the model writes between tool calls comes back in thinking blocks, and
    # a thinking block is only accepted back by the model that produced it.
    between_tools_in_thinking: bool = False
    thinking_tied_to_model: bool = False
    # Under API version 2023-06-01, whether temperature / top_p / top_k may differ from their defaults
    # (2026-10-21 removed them for every model).
    sampling: bool = True


_M = 1_000_000
_K = 1_000


def _five_five(context: int, price: Price | None) -> ModelRules:
    """The Sonnet / Opus 5.5 generation (and Fable 5.1): adaptive only, no forced tool use, new blocks."""
    return ModelRules(context, 128 * _K, "adaptive", False, price, display="omitted",
                      between_tools_in_thinking=True, thinking_tied_to_model=True, sampling=False)


def _five(price: Price) -> ModelRules:
    return ModelRules(_M, 128 * _K, "adaptive", True, price, display="omitted", sampling=False)


def _four_seven(output: int, price: Price) -> ModelRules:
    """Claude 4.7 and 4.8: manual budgets refused (400), thinking text omitted unless asked for."""
    return ModelRules(_M, output, "adaptive", True, price, display="omitted")


_OPUS_4 = Price(5.0, 25.0, 0.50, 6.25)

MODELS: dict[str, ModelRules] = {
    # Cache read $0.20 as on the Sonnet 5.5 model page. Copies of the pricing page dated after
    # 2026-10-07 quote a cut to $0.10 (0.05x input); not confirmed at the source here, so not applied.
    "claude-sonnet-5-5": _five_five(_M, Price(2.0, 10.0, 0.20, 2.50)),
    # Cache hits on Opus 5.5 are 0.05x input (pricing page, note 2).
    "claude-opus-5-5": _five_five(_M, Price(4.0, 20.0, 0.20, 5.00)),
    # Priced by prompt length: this is the lower band (prompts up to 100,000 tokens); longer prompts pay
    # $0.50 / $2.50, so `%claude usage` under-estimates them.
    "claude-haiku-5-5": ModelRules(_M, 128 * _K, "adaptive", True, Price(0.10, 0.50, 0.01, 0.125),
                                   display="omitted", sampling=False),
    "claude-fable-5-1": _five_five(_M, Price(10.0, 50.0, 0.25, 12.50)),
    "claude-sonnet-5": _five(Price(2.0, 10.0, 0.20, 2.50)),
    "claude-opus-5": _five(_OPUS_4),
    "claude-opus-4-8": _four_seven(128 * _K, _OPUS_4),
    "claude-opus-4-7": _four_seven(128 * _K, _OPUS_4),
    # The 4.6 models still take manual budgets (deprecated), and show thinking text by default.
    "claude-opus-4-6": ModelRules(_M, 128 * _K, "budget", True, _OPUS_4),
    "claude-sonnet-4-6": ModelRules(_M, 64 * _K, "budget", True, Price(3.0, 15.0, 0.30, 3.75)),
    # Claude 4.5 and earlier: extended thinking (a budget) is their only thinking mode.
    "claude-opus-4-5": ModelRules(200 * _K, 64 * _K, "budget", True, _OPUS_4, adaptive=False),
    "claude-sonnet-4-5": ModelRules(200 * _K, 64 * _K, "budget", True, Price(3.0, 15.0, 0.30, 3.75),
                                    adaptive=False),
    "claude-haiku-4-5": ModelRules(200 * _K, 64 * _K, "budget", True, Price(1.0, 5.0, 0.10, 1.25),
                                   adaptive=False),
}

# Web search (server tool) is billed per search on top of tokens: $10 per 1,000 searches, any model
# (the web search tool's page, "Usage and pricing", read on READ_ON). A failed search is not billed.
WEB_SEARCH_USD = 10.0 / 1000

_DATED = re.compile(r"-\d{8}$")
# Cloud providers' ids for the same models: Bedrock `[us.|eu.|global.]anthropic.claude-…-v1:0`,
# Vertex `claude-…@20251001`.
_BEDROCK = re.compile(r"^(?:[a-z]{2,6}\.)?anthropic\.(.+?)(?:-v\d+(?::\d+)?)?$")
_VERTEX = re.compile(r"@[\w.-]+$")


def table_name(model: str) -> str:
    """The model table's name for a provider's model id (the id itself when it is not one)."""
    bedrock = _BEDROCK.match(model)
    return _VERTEX.sub("", bedrock[1] if bedrock else model)


def rules_for(model: str) -> ModelRules | None:
    """The table's row for a model id, a dated snapshot (`…-20251001`) taking its family's row, and a
    cloud provider's id (`anthropic.claude-…-v1:0`, `claude-…@20251001`) its model's."""
    model = table_name(model)
    return MODELS.get(model) or MODELS.get(_DATED.sub("", model))


def prices() -> dict[str, dict[str, float]]:
    """The built-in price table, by model id, as `ClaudeMagics.prices` spells overrides."""
    return {model: rules.price.as_dict() for model, rules in MODELS.items() if rules.price is not None}
