"""What each model allows and costs: one table, shared by the magic, the price ledger and the simulator.

Read from Anthropic's model pages (platform.claude.com/docs, "Models overview" and each model's page)
on 2026-11-30. Rules change with models and API versions, so they live here alone; a model missing
from the table gets no checks from the magic (the API decides) and "price unknown" in `%claude usage`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

READ_ON = "2026-11-30"
SOURCE = "https://platform.claude.com/docs/en/about-claude/models/overview"

Thinking = Literal["adaptive", "budget"]


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
    # "adaptive": only {"type": "adaptive"} (manual budgets are a 400); "budget": budget_tokens too.
    thinking: Thinking
    forced_tool_choice: bool
    price: Price | None = None


_M = 1_000_000
_K = 1_000

MODELS: dict[str, ModelRules] = {
    "claude-sonnet-5-5": ModelRules(_M, 128 * _K, "adaptive", False, Price(2.0, 10.0, 0.20, 2.50)),
    "claude-opus-5-5": ModelRules(_M, 128 * _K, "adaptive", False, Price(4.0, 20.0, 0.40, 5.00)),
    "claude-sonnet-5": ModelRules(_M, 128 * _K, "adaptive", True, Price(2.0, 10.0, 0.20, 2.50)),
    "claude-opus-5": ModelRules(_M, 128 * _K, "adaptive", True, Price(5.0, 25.0, 0.50, 6.25)),
    "claude-opus-4-5": ModelRules(200 * _K, 64 * _K, "budget", True, Price(5.0, 25.0, 0.50, 6.25)),
    "claude-sonnet-4-5": ModelRules(200 * _K, 64 * _K, "budget", True, Price(3.0, 15.0, 0.30, 3.75)),
    "claude-haiku-4-5": ModelRules(200 * _K, 64 * _K, "budget", True, Price(1.0, 5.0, 0.10, 1.25)),
}

# Web search (server tool) is billed per search on top of tokens: $10 per 1,000 searches, any model
# (the web search tool's page, "Usage and pricing", read on READ_ON). A failed search is not billed.
WEB_SEARCH_USD = 10.0 / 1000

_DATED = re.compile(r"-\d{8}$")


def rules_for(model: str) -> ModelRules | None:
    """The table's row for a model id, a dated snapshot (`…-20251001`) taking its family's row."""
    return MODELS.get(model) or MODELS.get(_DATED.sub("", model))


def prices() -> dict[str, dict[str, float]]:
    """The built-in price table, by model id, as `ClaudeMagics.prices` spells overrides."""
    return {model: rules.price.as_dict() for model, rules in MODELS.items() if rules.price is not None}
