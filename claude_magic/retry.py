"""Retries the magic does itself, before the first byte: visible, capped, interruptible.

The SDK would retry too, but silently and honouring any `retry-after` without a cap, so its own
retries are off (`max_retries=0`) and this module waits instead, with a countdown the user sees.
"""

from __future__ import annotations

import email.utils
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

RETRYABLE_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504, 529})


def status_of(exc: BaseException) -> int | None:
    return getattr(exc, "status_code", None)


def retryable(exc: BaseException) -> bool:
    import anthropic

    if isinstance(exc, anthropic.APIConnectionError):
        return True
    return isinstance(exc, anthropic.APIStatusError) and exc.status_code in RETRYABLE_STATUS


def broke_midstream(exc: BaseException) -> bool:
    """A stream that started and then failed in a way a second try may not: overload, drop, early end."""
    import anthropic

    from .errors import EndedEarly, transport_errors

    return isinstance(exc, (EndedEarly, anthropic.APIStatusError, *transport_errors()))


def reason(exc: BaseException) -> str:
    status = status_of(exc)
    if status == 429:
        return "Rate limited (429)"
    if status in (503, 529):
        return f"Overloaded ({status})"
    if status is not None:
        return f"Server error ({status})"
    return "Cannot connect"


def retry_after(exc: BaseException) -> float | None:
    """The server's requested wait, from `retry-after-ms` or `retry-after` (seconds or an HTTP date)."""
    response = getattr(exc, "response", None)
    if response is None:
        return None
    headers = response.headers
    if "retry-after-ms" in headers:
        try:
            return float(headers["retry-after-ms"]) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        date = email.utils.parsedate_to_datetime(value)
        return max(0.0, date.timestamp() - time.time()) if date else None


class WaitTooLong(Exception):
    def __init__(self, cause: BaseException, wait: float):
        super().__init__(f"asked to wait {wait:.0f} s")
        self.cause = cause
        self.wait = wait


@dataclass
class RetryPolicy:
    max_retries: int = 4
    max_wait: float = 60.0
    base: float = 1.0
    cap: float = 30.0
    random: Callable[[], float] = random.random
    sleep: Callable[[float], None] = field(default=time.sleep)

    def delay(self, exc: BaseException, retry: int) -> float:
        """`retry-after` when the server gives one, else exponential backoff with full jitter."""
        asked = retry_after(exc)
        if asked is not None:
            return asked
        return self.random() * min(self.cap, self.base * 2 ** (retry - 1))

    def wait(self, exc: BaseException, retry: int, show: Callable[[str], None]) -> None:
        """Count down to retry number `retry` (1-based), showing the seconds left each second."""
        delay = self.delay(exc, retry)
        if delay > self.max_wait:
            raise WaitTooLong(exc, delay)
        remaining = delay
        while True:
            show(
                f"⏳ {reason(exc)} — retrying in {math.ceil(remaining)} s, attempt {retry + 1} of "
                f"{self.max_retries + 1} — press Stop to cancel"
            )
            if remaining <= 0:
                return
            step = min(1.0, remaining)
            self.sleep(step)
            remaining -= step
