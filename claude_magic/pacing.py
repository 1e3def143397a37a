"""How fast `--map` starts requests: paced to the binding rate limit the server reports, not a fixed guess.

Every API response carries `anthropic-ratelimit-{requests,input-tokens,output-tokens}-{limit,remaining,reset}`.
From the latest reading of each kind the pacer models the server's bucket: what remained then, plus what
refilled since (`limit / 60` a second), less the estimated cost of the requests started since (one
request; input tokens as observed, at first from the request's size; output tokens as observed, at first
`max_tokens`). A request starts when every bucket holds its cost with a margin, so starts follow the
binding limit. How many may be in flight grows with what the limits allow (rate × how long answers take,
as Little's law has it), up to CEILING; a 429 halves it and pauses every start for its `retry-after`.
With no headers (a server without limits) it grows by one each time an answer ends while a start waited
on it. A fixed cap (an integer `map_concurrency`) is never changed, but still paced.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

CEILING = 64
START = 4
KINDS = ("requests", "input-tokens", "output-tokens")
# A start needs this many times its cost in the modelled bucket: what other requests in flight may have
# taken that no header has shown yet.
MARGIN = 1.5
_SMOOTHING = 0.3


@dataclass
class Reading:
    """The server's last word on one kind of limit, and where the pacer's own count stood then."""

    rate: float  # per second
    remaining: float
    at: float  # when the request that reported it was started (less refill credited: on the safe side)
    counted: float  # the estimated cost of all starts up to that request's, itself included
    seq: int  # that request's start number: the latest start's reading wins
    capacity: float  # the most ever seen remaining: the bucket holds at least this much


def limits_of(headers: Mapping[str, str]) -> dict[str, tuple[float, float]]:
    """(limit per minute, remaining) of each kind the headers report."""
    found = {}
    for kind in KINDS:
        try:
            limit = float(headers[f"anthropic-ratelimit-{kind}-limit"])
            remaining = float(headers[f"anthropic-ratelimit-{kind}-remaining"])
        except (KeyError, ValueError, TypeError):
            continue
        if limit > 0:
            found[kind] = (limit, remaining)
    return found


@dataclass
class Ticket:
    """One started request: when, and its number."""

    at: float
    seq: int


class Pacer:
    """Thread-safe: workers call `begin()` (which waits) before each request, then one of `headers()` (as
    soon as the response's headers are in), `end()`, `refused()` or `failed()`."""

    def __init__(self, fixed: int | None = None, *, max_tokens: int = 1024, input_guess: float = 1000.0,
                 clock: Callable[[], float] = time.monotonic, ceiling: int = CEILING) -> None:
        self.fixed = fixed
        self.ceiling = fixed or ceiling
        self.cap = fixed or min(START, ceiling)
        self.clock = clock
        self.in_flight = 0
        self.peak = 0
        self.started = 0
        self.refusals = 0
        self.paused_until = 0.0
        self.estimate = {"requests": 1.0, "input-tokens": float(input_guess), "output-tokens": float(max_tokens)}
        self.counted = dict.fromkeys(KINDS, 0.0)
        self.readings: dict[str, Reading] = {}
        self.latency: float | None = None
        self.observed = 0
        self._flying: dict[int, float] = {}
        self._waited_on_cap = False
        self._cond = threading.Condition()

    def begin(self, stopped: Callable[[], bool] = lambda: False) -> Ticket | None:
        """Wait until a request may start, and count it started; None if `stopped()` meanwhile."""
        with self._cond:
            while True:
                if stopped():
                    return None
                now = self.clock()
                self._grow(now)
                wait = max(self.paused_until - now, self._wait_for_limits(now))
                if self.in_flight >= self.cap:
                    self._waited_on_cap = wait <= 0
                    self._cond.wait(0.25)
                elif wait > 0:
                    self._cond.wait(min(wait, 0.25))
                else:
                    self.started += 1
                    self.in_flight += 1
                    self.peak = max(self.peak, self.in_flight)
                    for kind in KINDS:
                        self.counted[kind] += self.estimate[kind]
                    ticket = Ticket(now, self.started)
                    self._flying[ticket.seq] = now
                    self._cond.notify_all()  # the next waiter re-checks the limits at once
                    return ticket

    def headers(self, ticket: Ticket, headers: Mapping[str, str]) -> None:
        """What the server said of its limits when it admitted `ticket`'s request."""
        found = limits_of(headers)
        with self._cond:
            for kind, (limit, remaining) in found.items():
                old = self.readings.get(kind)
                if old is not None and old.seq > ticket.seq:
                    old.capacity = max(old.capacity, remaining)
                    continue
                counted = self.counted[kind] - sum(  # its own and earlier starts' costs, not later ones'
                    self.estimate[kind] for seq in self._flying if seq > ticket.seq)
                capacity = max(remaining, self.estimate[kind], old.capacity if old else 0.0)
                self.readings[kind] = Reading(limit / 60, remaining, ticket.at, counted, ticket.seq, capacity)
            self._cond.notify_all()

    def end(self, ticket: Ticket, usage: Any = None) -> None:
        """`ticket`'s answer ended; its usage refines the estimates."""
        with self._cond:
            self._land(ticket)
            waited, self._waited_on_cap = self._waited_on_cap, False
            took = self.clock() - ticket.at
            self.latency = took if self.latency is None else self.latency + _SMOOTHING * (took - self.latency)
            if usage is not None:
                tokens = (usage.input_tokens or 0) + (usage.cache_read_input_tokens or 0) + \
                         (usage.cache_creation_input_tokens or 0)
                weight = _SMOOTHING if self.observed else 1.0  # the first answer replaces the guesses
                self.observed += 1
                for kind, value in (("input-tokens", tokens), ("output-tokens", usage.output_tokens or 0)):
                    self.estimate[kind] += weight * (value - self.estimate[kind])
            if not self.readings and self.fixed is None and waited:
                self.cap = min(self.ceiling, self.cap + 1)
            self._cond.notify_all()

    def refused(self, ticket: Ticket, headers: Mapping[str, str], retry_after: float) -> None:
        """A 429: every start pauses for `retry_after` seconds, and fewer may be in flight."""
        self.headers(ticket, headers)
        with self._cond:
            self._land(ticket)
            self.refusals += 1
            self.paused_until = max(self.paused_until, self.clock() + retry_after)
            now = self.clock()
            for kind, reading in self.readings.items():  # nothing is left now, whatever the model said
                self.readings[kind] = Reading(reading.rate, 0.0, now, self.counted[kind], self.started,
                                              reading.capacity)
            if self.fixed is None:
                self.cap = max(1, self.cap // 2)
            self._cond.notify_all()

    def failed(self, ticket: Ticket) -> None:
        with self._cond:
            self._land(ticket)
            self._cond.notify_all()

    def wake(self) -> None:
        """Let waiting workers see that they were stopped."""
        with self._cond:
            self._cond.notify_all()

    def note(self, done: int, total: int, elapsed: float) -> str:
        """For the progress line: items a minute, in flight, time left, and the 429s."""
        rate = done / elapsed * 60 if elapsed > 0 and done else 0.0
        left = f" · ETA {_duration((total - done) / rate * 60)}" if rate and done < total else ""
        refused = f" · {self.refusals} × 429 (retried)" if self.refusals else ""
        return f"{rate:,.0f} items/min · {self.in_flight} in flight{left}{refused}"

    def _land(self, ticket: Ticket) -> None:
        if self._flying.pop(ticket.seq, None) is not None:
            self.in_flight -= 1

    def _level(self, kind: str, reading: Reading, now: float) -> float:
        refilled = reading.remaining + reading.rate * max(0.0, now - reading.at)
        return min(reading.capacity, refilled) - (self.counted[kind] - reading.counted)

    def _wait_for_limits(self, now: float) -> float:
        """Seconds until every modelled bucket holds the next request's cost (with the margin)."""
        wait = 0.0
        for kind, reading in self.readings.items():
            need = min(self.estimate[kind] * MARGIN, reading.capacity)
            short = need - self._level(kind, reading, now)
            if short > 0:
                wait = max(wait, short / reading.rate)
        return wait

    def _grow(self, now: float) -> None:
        """With limits known: as many in flight as the binding limit allows over how long answers take."""
        if self.fixed is not None or not self.readings or now < self.paused_until:
            return
        per_second = min(reading.rate / max(self.estimate[kind], 1e-9) for kind, reading in self.readings.items())
        oldest = now - min(self._flying.values()) if self._flying else 0.0
        took = max(self.latency or 0.0, oldest)
        self.cap = max(self.cap, min(self.ceiling, math.ceil(per_second * took * 1.25) + 2))


def _duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"
