"""Rate limits as the API enforces them: per model, requests and input / output tokens per minute.

Each limit is a token bucket refilled continuously at `limit / 60` per second. As the API documents, a
per-minute limit may be enforced over shorter intervals: a bucket holds `interval` seconds' worth of its
limit (1 s by default, so 600 requests a minute refuses an 11th request within one second). A request
is admitted when the requests bucket holds one, the input bucket holds its input tokens (or is full: a
request larger than the bucket waits for a full one rather than for ever), and the output bucket is not
exhausted; its output tokens are charged as it is answered (the API estimates them from `max_tokens`
and corrects the estimate at the end; the simulator knows them at once). Every response carries the
`anthropic-ratelimit-*` headers; a refusal is a 429 `rate_limit_error` with `retry-after`.

Limits are given as `{"requests": 600, "input_tokens": 400_000, "output_tokens": 60_000}` for every
model (each model keeping its own buckets), optionally with per-model entries over them:
`{"requests": 600, "claude-haiku-5-5": {"requests": 4000}}`. A kind left out is not limited.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

KINDS = ("requests", "input_tokens", "output_tokens")
_UNITS = {"requests": "requests", "input_tokens": "input tokens", "output_tokens": "output tokens"}
DOCS = "https://docs.claude.com/en/api/rate-limits"


def check(limits: Any) -> dict[str, Any]:
    """`limits` validated (positive numbers by kind, optionally per model); ValueError saying what is wrong."""
    if limits is None:
        return {}
    if not isinstance(limits, Mapping):
        raise ValueError(f"rate limits must be a dict such as {{'requests': 600}}, not {type(limits).__name__}")
    checked: dict[str, Any] = {}
    for key, value in limits.items():
        if key in KINDS:
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ValueError(f"rate limit {key!r} must be a positive number per minute, not {value!r}")
            checked[key] = float(value)
        elif isinstance(value, Mapping) and isinstance(key, str):
            nested = check(value)
            if any(isinstance(v, dict) for v in nested.values()):
                raise ValueError(f"rate limits of model {key!r} take {', '.join(KINDS)} only")
            checked[key] = nested
        else:
            raise ValueError(f"rate limits: {key!r} is neither one of {', '.join(KINDS)} nor a model's limits")
    return checked


@dataclass
class Bucket:
    limit: float  # per minute
    capacity: float
    level: float
    at: float

    def refill(self, now: float) -> None:
        self.level = min(self.capacity, self.level + (now - self.at) * self.limit / 60)
        self.at = now

    def full_in(self) -> float:
        """Seconds until the bucket is full again."""
        return max(0.0, (self.capacity - self.level) * 60 / self.limit)

    def wait_for(self, amount: float) -> float:
        """Seconds until it holds `amount` (or is full, when it can never hold that much)."""
        return max(0.0, (min(amount, self.capacity) - self.level) * 60 / self.limit)


class RateLimits:
    """The buckets of every model, behind one lock; `clock` in seconds (monotonic)."""

    def __init__(self, limits: Any = None, *, interval: float = 1.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limits = check(limits)
        self.interval = interval
        self.clock = clock
        self._buckets: dict[tuple[str, str], Bucket] = {}
        self._lock = threading.Lock()

    def __bool__(self) -> bool:
        return bool(self.limits)

    def _limit(self, model: str, kind: str) -> float | None:
        own = self.limits.get(model)
        if isinstance(own, dict) and kind in own:
            return own[kind]
        return self.limits.get(kind)

    def _buckets_of(self, model: str, now: float) -> dict[str, Bucket]:
        buckets = {}
        for kind in KINDS:
            limit = self._limit(model, kind)
            if limit is None:
                continue
            bucket = self._buckets.get((model, kind))
            if bucket is None or bucket.limit != limit:
                capacity = max(1.0, limit * self.interval / 60)
                bucket = self._buckets[(model, kind)] = Bucket(limit, capacity, capacity, now)
            bucket.refill(now)
            buckets[kind] = bucket
        return buckets

    def admit(self, model: str, input_tokens: int) -> tuple[float | None, dict[str, str]]:
        """(None, headers) when admitted, charging one request and its input tokens; else (seconds to wait,
        headers) and the kind that refused, in the headers' `_refused` entry."""
        with self._lock:
            now = self.clock()
            buckets = self._buckets_of(model, now)
            needs = {"requests": 1.0, "input_tokens": float(input_tokens), "output_tokens": 0.0}
            for kind, bucket in buckets.items():
                enough = bucket.level >= needs[kind] if kind != "output_tokens" else bucket.level > 0
                if not enough and not (kind == "input_tokens" and bucket.level >= bucket.capacity):
                    wait = bucket.wait_for(needs[kind]) if kind != "output_tokens" else -bucket.level * 60 / bucket.limit
                    return max(wait, 0.001), {**self._headers(buckets, now), "_refused": kind}
            for kind, bucket in buckets.items():
                bucket.level -= needs[kind]
            return None, self._headers(buckets, now)

    def charge_output(self, model: str, output_tokens: int) -> dict[str, str]:
        """Charge the answer's output tokens; the headers as they stand after it."""
        with self._lock:
            now = self.clock()
            buckets = self._buckets_of(model, now)
            if "output_tokens" in buckets:
                buckets["output_tokens"].level -= output_tokens
            return self._headers(buckets, now)

    def headers(self, model: str) -> dict[str, str]:
        with self._lock:
            now = self.clock()
            return self._headers(self._buckets_of(model, now), now)

    def refusal(self, model: str, kind: str) -> str:
        """The 429's message, worded as the API's."""
        return (f"This request would exceed the rate limit for your organization of "
                f"{self._limit(model, kind):,.0f} {_UNITS[kind]} per minute (model: {model}). "
                f"For details, refer to: {DOCS}. You can see the response headers for current usage. "
                "Please reduce the prompt length or the maximum tokens requested, or try again later.")

    def _headers(self, buckets: dict[str, Bucket], now: float) -> dict[str, str]:
        headers: dict[str, str] = {}
        wall = time.time()

        def put(name: str, bucket: Bucket) -> None:
            # Whole seconds, rounded up: the bucket is full by then.
            reset = datetime.fromtimestamp(math.ceil(wall + bucket.full_in()), tz=timezone.utc)
            headers[f"anthropic-ratelimit-{name}-limit"] = str(int(bucket.limit))
            headers[f"anthropic-ratelimit-{name}-remaining"] = str(max(0, math.floor(bucket.level)))
            headers[f"anthropic-ratelimit-{name}-reset"] = reset.isoformat(timespec="seconds").replace("+00:00", "Z")

        for kind, bucket in buckets.items():
            put(kind.replace("_", "-"), bucket)
        tokens = [buckets[kind] for kind in ("input_tokens", "output_tokens") if kind in buckets]
        if tokens:  # the most restrictive of the two, as the API reports it
            put("tokens", min(tokens, key=lambda bucket: bucket.level / bucket.capacity))
        return headers


def retry_after(seconds: float) -> str:
    """Whole seconds, rounded up, as the API sends `retry-after`."""
    return str(max(1, math.ceil(seconds)))
