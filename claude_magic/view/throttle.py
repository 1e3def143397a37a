"""At most one update per interval: what keeps live displays under the rate jupyter_server drops."""

from __future__ import annotations

import time
from collections.abc import Callable


class Throttle:
    """Lets an update through at most once per `interval` seconds of `clock`; the first at once."""

    def __init__(self, interval: float, clock: Callable[[], float] = time.monotonic):
        self.interval = interval
        self.clock = clock
        self._next = float("-inf")

    def ready(self) -> bool:
        now = self.clock()
        if now < self._next:
            return False
        self._next = now + self.interval
        return True
