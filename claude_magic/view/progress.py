"""A progress bar in one display, for work over many requests (`%claude map`)."""

from __future__ import annotations

import time

from IPython.display import display

from .markdown import bundle
from .throttle import Throttle


class Progress:
    """A progress bar in one display (tqdm-like): throttled updates, the final state always drawn."""

    WIDTH = 24

    def __init__(self, total: int, label: str, *, interval: float = 0.1, clock=time.monotonic):
        self.total = total
        self.label = label
        self.throttle = Throttle(interval, clock)
        self._handle = display(bundle(self._bar(0, 0, "")), raw=True, display_id=True)

    def update(self, done: int, failed: int, note: str = "") -> None:
        if self.throttle.ready() or done == self.total:
            self._handle.update(bundle(self._bar(done, failed, note)), raw=True)

    def finish(self, markdown: str) -> None:
        self._handle.update(bundle(markdown), raw=True)

    def _bar(self, done: int, failed: int, note: str) -> str:
        filled = round(self.WIDTH * done / self.total) if self.total else self.WIDTH
        bar = "█" * filled + "░" * (self.WIDTH - filled)
        extra = f" · ⚠ {failed} failed" if failed else ""
        return f"{self.label}: `{bar}` {done}/{self.total}{extra}{f' · {note}' if note else ''}"
