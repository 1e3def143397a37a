"""What a notebook's questions cost: token totals per chat and model, priced from one small table.

Prices go stale, so they live in the model table (models.py) alone, and
`%config ClaudeMagics.prices = {...}` overrides or adds to them; a model with no price says so rather
than showing a wrong number.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from typing import Any

from .models import WEB_SEARCH_USD, prices, table_name
from .view.escape import code
from .view.tables import Rendered, markdown_table

# USD per million tokens, from the model table (models.py, with its source and date).
PRICES: dict[str, dict[str, float]] = prices()
KINDS = ("input", "output", "cache_read", "cache_write")


class Ledger(Rendered):
    """Tokens spent, by chat and model, since the kernel started (resetting a chat does not unspend).

    Displayed, it is the table of `%claude usage`, priced with `overrides()` over the built-in prices.
    """

    def __init__(self, overrides: Callable[[], Mapping[str, Mapping[str, float]]] = dict) -> None:
        self.overrides = overrides
        self._spent: dict[tuple[str, str, bool], dict[str, int]] = defaultdict(
            lambda: dict.fromkeys(("requests", *KINDS, "web_search"), 0)
        )

    def add(self, chat: str, message: Any, *, batch: bool = False) -> None:
        usage = message.usage
        row = self._spent[(chat, message.model, batch)]
        row["requests"] += 1
        row["input"] += usage.input_tokens or 0
        row["output"] += usage.output_tokens or 0
        row["cache_read"] += usage.cache_read_input_tokens or 0
        row["cache_write"] += usage.cache_creation_input_tokens or 0
        row["web_search"] += getattr(getattr(usage, "server_tool_use", None), "web_search_requests", 0) or 0

    def table(self, overrides: Mapping[str, Mapping[str, float]]) -> str:
        if not self._spent:
            return "Nothing spent yet."
        prices = {**PRICES, **overrides}
        searched = any(row["web_search"] for row in self._spent.values())  # a column only once it counts
        rows = []
        for (chat, model, batch), row in sorted(self._spent.items()):
            cost = estimate(row, prices.get(model) or prices.get(table_name(model)))  # Bedrock's ids too
            if cost is not None and batch:
                cost /= 2  # the Message Batches API bills half of every token price
            if cost is not None:
                cost += row["web_search"] * WEB_SEARCH_USD
            shown = "price unknown" if cost is None else f"${cost:,.4f}"
            searches = [f"{row['web_search']:,}"] if searched else []
            rows.append([chat, code(model), row["requests"], *(f"{row[kind]:,}" for kind in KINDS), *searches, shown])
        header = ["chat", "model", "requests", "input", "output", "cache read", "cache write",
                  *(["web searches"] if searched else []), "estimated cost"]
        return markdown_table(header, rows, right=range(2, len(header)))

    def _repr_markdown_(self) -> str:
        return self.table(self.overrides())


def estimate(row: Mapping[str, int], price: Mapping[str, float] | None) -> float | None:
    if price is None or any(kind not in price for kind in KINDS):
        return None
    return sum(row[kind] * price[kind] for kind in KINDS) / 1_000_000


def message_cost(message: Any, price: Mapping[str, float] | None, *, batch: bool = False) -> float | None:
    """What one answer cost in USD from its usage (batch rates halve the tokens' price); None if unpriced."""
    usage = message.usage
    row = {"input": usage.input_tokens or 0, "output": usage.output_tokens or 0,
           "cache_read": usage.cache_read_input_tokens or 0, "cache_write": usage.cache_creation_input_tokens or 0}
    cost = estimate(row, price)
    if cost is None:
        return None
    searches = getattr(getattr(usage, "server_tool_use", None), "web_search_requests", 0) or 0
    return (cost / 2 if batch else cost) + searches * WEB_SEARCH_USD
