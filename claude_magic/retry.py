"""How long to wait before trying a request again, shown as a countdown: visible, capped, interruptible.

Which failures are retried is `failures.py`'s to say (by the table, and by when they came); this module
only waits. The magic's own streaming requests run with the SDK's retries off (`max_retries=0`), because
the SDK retries silently and honours any `retry-after` without a cap. A failure before the first byte is retried up to
`max_retries` times; one after it (a drop, a stall, an `error` event, an early end) only when
`retry_midstream` is on, since the answer is asked (and paid for) again. `--map` items, which only a
progress line watches, keep the SDK's own retries.
"""

from __future__ import annotations

import email.utils
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .failures import WaitTooLong, When, is_timeout, status, status_of


def reason(exc: BaseException, at: When = When.BEFORE_RESPONSE) -> str:
    """What the countdown says it is waiting out: when the answer broke off, that; else the status's name
    from the one table, or the connection that failed."""
    if at is not When.BEFORE_RESPONSE:
        return "The answer broke off mid-stream"
    code = status_of(exc)
    if code is None:
        return "Timed out" if is_timeout(exc) else "Cannot connect"
    return f"{status(code).name} ({code})"


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

    def wait(self, exc: BaseException, retry: int, show: Callable[[str], None],
             at: When = When.BEFORE_RESPONSE) -> None:
        """Count down to retry number `retry` (1-based), showing the seconds left each second."""
        delay = self.delay(exc, retry)
        if delay > self.max_wait:
            raise WaitTooLong(exc, delay)
        remaining = delay
        while True:
            show(
                f"⏳ {reason(exc, at)} — retrying in {math.ceil(remaining)} s, attempt {retry + 1} of "
                f"{self.max_retries + 1} — press Stop to cancel"
            )
            if remaining <= 0:
                return
            step = min(1.0, remaining)
            self.sleep(step)
            remaining -= step
