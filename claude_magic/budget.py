"""A spending cap that is never exceeded: each request's worst case is reserved before it is sent.

As a card authorisation does: before a request goes out, its worst case is reserved (under one lock,
so concurrent requests cannot both take the last dollar); when its answer ends, the real cost from
`usage` replaces the reservation. A request is sent only if what is spent, plus every reservation in
flight, plus its own worst case fits. Every request path goes through `Budget.hold(request, …)`: a cell,
each tool round, `compact`, each `--map` item, a `--batch` as a whole (at batch rates).

Worst case of a request = its input tokens (an upper bound: the request's UTF-8 size, which no
tokenizer exceeds for text, plus allowances for what the API adds; counted exactly with `count_tokens`
near the edge, and always when it holds documents or files) at the input price (the cache-write price
when any part is marked for caching) + `max_tokens` at the output price + web searches at `max_uses`
(each search's price and an allowance of input tokens for its results). An answer that broke off
before its end is settled at its worst case: its real output is not known.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .costs import PRICES, message_cost
from .failures import ClaudeMagicError
from .models import WEB_SEARCH_USD, rules_for
from .view.tables import Rendered

# What the API adds to a request that its JSON does not show: the tool-use system prompt (a few hundred
# tokens), and per web search the results it reads (pages of text).
TOOLS_ALLOWANCE = 1_000
SEARCH_ALLOWANCE = 25_000
# Below this share of the budget left, the footer says so.
LOW = 0.2
_COUNTED_BLOCKS = ("document", "image", "container_upload")


class OverBudget(ClaudeMagicError):
    """A request that would not fit the budget: refused before anything is sent. `short` is for a --map item."""

    def __init__(self, message: str, short: str | None = None):
        super().__init__(message)
        self.short = short or message


def usd(amount: float) -> str:
    """Dollars with cents, and down to a hundredth of a cent below a dollar (a request often costs less)."""
    if amount >= 1:
        return f"${amount:,.2f}"
    digits = f"{amount:.4f}".rstrip("0")
    return "$" + digits + "0" * max(0, 2 - len(digits.split(".")[1]))


@dataclass(frozen=True)
class Entry:
    """One line of the journal: what happened, and the totals right after it."""

    event: str  # "reserve", "settle", "refuse"
    what: str
    amount: float
    spent: float
    reserved: float


def input_bound(request: Mapping[str, Any]) -> int:
    """An upper bound of a text request's input tokens, without asking: its JSON's UTF-8 bytes (a token
    is at least one byte of text), plus what the API adds for tools and per web search."""
    body = {key: value for key, value in request.items() if key not in ("max_tokens", "extra_headers")}
    tokens = len(json.dumps(body, ensure_ascii=False, default=str).encode("utf-8"))
    if request.get("tools"):
        tokens += TOOLS_ALLOWANCE
    return tokens + searches(request) * SEARCH_ALLOWANCE


def searches(request: Mapping[str, Any]) -> int:
    """The most web searches a request may run: its web search tools' `max_uses`."""
    return sum(int(tool.get("max_uses") or 0) for tool in request.get("tools") or ()
               if isinstance(tool, Mapping) and str(tool.get("type", "")).startswith("web_search"))


def needs_counting(request: Mapping[str, Any]) -> bool:
    """Documents, images and files cost more tokens than their bytes can bound: only count_tokens knows."""
    return any(isinstance(block, Mapping) and block.get("type") in _COUNTED_BLOCKS
               for message in request.get("messages") or () if isinstance(message, Mapping)
               for block in (message.get("content") if isinstance(message.get("content"), list) else ()))


def cache_marked(request: Mapping[str, Any]) -> bool:
    return '"cache_control"' in json.dumps(request, default=str)


def worst_case(request: Mapping[str, Any], price: Mapping[str, float], input_tokens: int, *,
               batch: bool = False) -> float:
    """The most a request can cost in USD, given an upper bound of its input tokens."""
    input_price = max(price["input"], price["cache_write"]) if cache_marked(request) else price["input"]
    tokens = input_tokens * input_price + int(request["max_tokens"]) * price["output"]
    cost = tokens / 1_000_000
    return (cost / 2 if batch else cost) + searches(request) * WEB_SEARCH_USD


class Hold:
    """One request's reservation. `settle(message)` when it ended, `release()` when nothing was billed
    (an HTTP error before any answer); left with neither, the worst case is what it cost."""

    def __init__(self, budget: Budget | None, amount: float, model: str, price: Any, batch: bool, what: str):
        self.budget, self.amount, self.model, self.price, self.batch, self.what = budget, amount, model, price, batch, what
        self.open = budget is not None

    def settle(self, messages: Any) -> float:
        """Replace the reservation with what `messages` (one Message, a list, or None) really cost."""
        cost = 0.0
        for message in messages if isinstance(messages, list) else [messages] if messages is not None else []:
            real = message_cost(message, self.price, batch=self.batch) if message.stop_reason is not None else None
            cost += self.amount if real is None else real  # broke off: its output is not known
        return self._close(cost)

    def release(self) -> float:
        return self._close(0.0)

    def keep(self) -> float:
        """Count the worst case as spent: what it really costs is not known here (a batch left running)."""
        return self._close(self.amount)

    def _close(self, cost: float) -> float:
        if self.open:
            self.open = False
            self.budget._settle(self, cost)
        return cost

    def __enter__(self) -> Hold:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.keep()


class Budget(Rendered):
    """USD for this kernel session, counted from when `cap` was set (None: no cap), with a journal.

    A cell's `--budget` is a child: it reserves in itself and in its parent, under the parent's lock.
    `prices` gives the price table in use (built-in prices under `ClaudeMagics.prices`).
    """

    def __init__(self, prices: Callable[[], Mapping[str, Mapping[str, float]]] = dict, cap: float | None = None,
                 *, parent: Budget | None = None, scope: str = "for this session"):
        self.prices = prices
        self.parent = parent
        self.scope = scope
        self._cond = parent._cond if parent is not None else threading.Condition()
        self.cap = cap
        self.spent = 0.0
        self.reserved = 0.0
        self.peak = 0.0  # the most that spent + reserved ever reached
        self.journal: list[Entry] = []

    def set_cap(self, cap: float | None) -> None:
        """A new cap, counted from now: what was spent before no longer counts (reservations in flight do)."""
        if cap is not None and (isinstance(cap, bool) or not cap >= 0):
            raise ValueError(f"a budget is a number of US dollars, 0 or more, or None; not {cap!r}")
        with self._cond:
            self.cap = None if cap is None else float(cap)
            self.spent = 0.0
            self.peak = self.reserved
            self.journal.clear()
            self._cond.notify_all()

    def child(self, cap: float) -> Budget:
        """A cell's own cap, on top of this one."""
        budget = Budget(self.prices, parent=self, scope="for this cell")
        budget.set_cap(cap)
        return budget

    def _chain(self) -> list[Budget]:
        chain, budget = [], self
        while budget is not None:
            chain.append(budget)
            budget = budget.parent
        return chain

    @property
    def capped(self) -> bool:
        return any(budget.cap is not None for budget in self._chain())

    def price_of(self, model: str) -> Mapping[str, float] | None:
        price = self.prices().get(model) or PRICES.get(model)
        if price is None and (rules := rules_for(model)) is not None and rules.price is not None:
            price = rules.price.as_dict()
        if price is None or any(kind not in price for kind in ("input", "output", "cache_read", "cache_write")):
            return None
        return price

    def hold(self, request: Mapping[str, Any], *, count: Callable[[Mapping[str, Any]], int] | None = None,
             batch: bool = False, wait: bool = False, what: str = "this request",
             stopped: Callable[[], bool] = lambda: False) -> Hold:
        """Reserve the worst case of `request` (or of a list of requests, for a batch), or raise OverBudget.

        `count` gives exact input tokens (count_tokens), used near the edge and for documents. With
        `wait`, a request that would fit once the requests in flight have settled waits for them
        (a --map's items) instead of being refused.
        """
        requests = list(request) if isinstance(request, list) else [request]
        model = str(requests[0]["model"])
        if not self.capped:
            return Hold(None, 0.0, model, self.price_of(model), batch, what)
        price = self.price_of(model)
        if price is None:
            raise OverBudget(
                f"A budget is set, and no price is known for model {model!r}: it cannot be budgeted. Give its "
                "price with `%config ClaudeMagics.prices = {…}`, pick another model, or lift the budget with "
                "`%config ClaudeMagics.budget = None`.")
        bounds = [count(r) if count is not None and needs_counting(r) else input_bound(r) for r in requests]
        amount = sum(worst_case(r, price, bound, batch=batch) for r, bound in zip(requests, bounds))
        if count is not None and not self._fits(amount, everything=True):
            # Near the edge: the exact input count may make it fit.
            bounds = [count(r) + searches(r) * SEARCH_ALLOWANCE for r in requests]
            amount = sum(worst_case(r, price, bound, batch=batch) for r, bound in zip(requests, bounds))
        with self._cond:
            while not self._fits(amount, everything=True):
                if not (wait and self._fits(amount, everything=False)) or stopped():
                    self.journal.append(Entry("refuse", what, amount, self.spent, self.reserved))
                    raise OverBudget(self.refusal(amount, requests[0], batch=batch, what=what),
                                     f"budget: up to {usd(amount)} would not fit ({self._standing()})")
                self._cond.wait(0.1)
            for budget in self._chain():
                budget.reserved += amount
                budget.peak = max(budget.peak, budget.spent + budget.reserved)
                budget.journal.append(Entry("reserve", what, amount, budget.spent, budget.reserved))
        return Hold(self, amount, model, price, batch, what)

    def _fits(self, amount: float, *, everything: bool) -> bool:
        """Whether `amount` fits every cap of the chain, with what is in flight (`everything`) or without it."""
        return all(budget.cap is None or budget.spent + (budget.reserved if everything else 0.0) + amount
                   <= budget.cap + 1e-12 for budget in self._chain())

    def _settle(self, hold: Hold, cost: float) -> None:
        with self._cond:
            for budget in self._chain():
                budget.reserved = max(0.0, budget.reserved - hold.amount)
                budget.spent += cost
                budget.peak = max(budget.peak, budget.spent + budget.reserved)
                budget.journal.append(Entry("settle", hold.what, cost, budget.spent, budget.reserved))
            self._cond.notify_all()

    def refusal(self, amount: float, request: Mapping[str, Any], *, batch: bool = False,
                what: str = "this request") -> str:
        """The one line a refused request gets: the cap, what is spent, its worst case, what to do."""
        tight = next(budget for budget in self._chain()
                     if budget.cap is not None and budget.spent + budget.reserved + amount > budget.cap + 1e-12) \
            if not self._fits(amount, everything=True) else self
        reserved = f" (+ {usd(tight.reserved)} reserved by requests in flight)" if tight.reserved else ""
        rates = " at batch rates" if batch else ""
        raise_it = ("`--budget USD`" if tight.parent is not None else "`%config ClaudeMagics.budget = …`")
        return (f"Budget {usd(tight.cap or 0)} {tight.scope}: {usd(tight.spent)} spent{reserved}; {what} could cost "
                f"up to {usd(amount)}{rates} ({request['model']}, max_tokens {int(request['max_tokens']):,}). "
                f"Nothing was sent: raise the budget with {raise_it}, or lower `--max-tokens`.")

    def _standing(self) -> str:
        tight = [b for b in self._chain() if b.cap is not None]
        return "; ".join(f"{usd(b.spent)} of {usd(b.cap or 0)} spent {b.scope}" for b in tight)

    def left(self) -> float | None:
        return None if self.cap is None else max(0.0, self.cap - self.spent - self.reserved)

    def note(self) -> str:
        """For the footer, when less than 20 % of the budget is left; else nothing."""
        left = self.left()
        if left is None or left >= LOW * self.cap:
            return ""
        return f"⚠ budget: {usd(left)} of {usd(self.cap)} left".replace("$", r"\$")

    def _repr_markdown_(self) -> str:
        if self.cap is None:
            return "No budget set: `%config ClaudeMagics.budget = 5.0` caps this session's spending (US dollars)."
        return (f"**Budget** {usd(self.cap)} {self.scope} (since it was set): spent {usd(self.spent)} · "
                f"reserved {usd(self.reserved)} · left {usd(self.left() or 0)}").replace("$", r"\$")
