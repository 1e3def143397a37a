"""Notebook values turned into prompt text without letting their own code break or hang the cell.

`{name}`, `{Out[N]}`, `--cells` and `--context` run the value's `__str__` / `__repr__` (or a DataFrame's
`to_string`): user code. One that raises becomes a placeholder (`<repr failed: ValueError>`) and the
rest of the prompt is sent; one that runs longer than `LIMIT` seconds is refused in one line, and a
Stop while it runs is one line too. The time limit is a SIGALRM timer, so it holds in the kernel's
main thread (where cells run); from another thread (`aask`) the value's code runs unbounded.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from .errors import BadInput, Stopped

# Seconds one value may take to show itself as text (README: "A value that cannot be shown").
LIMIT = 5.0

T = TypeVar("T")


class _TooSlow(BaseException):
    """The value's code outran LIMIT (a BaseException, so the value's own `except Exception` cannot eat it)."""


def placeholder(exc: BaseException, how: str = "repr") -> str:
    return f"<{how} failed: {type(exc).__name__}>"


def bounded(call: Callable[[], T], what: str, failed: Callable[[BaseException], T],
            seconds: float | None = None) -> T:
    """`call()`, or `failed(exc)` if it raises; BadInput if it takes longer than `seconds`; Stopped on Stop.

    `what` names the value in the messages (`{Out[3]}`, `--context df`); `seconds` is LIMIT unless given.
    """
    seconds = LIMIT if seconds is None else seconds
    try:
        with _deadline(seconds):
            return call()
    except _TooSlow:
        raise BadInput(f"{what}: showing it as text took longer than {seconds:g} s (a slow __repr__ or "
                       "__str__?), so nothing was sent. Leave it out, or give it a quicker repr.") from None
    except KeyboardInterrupt:
        raise Stopped(f"stopped while showing {what} as text; nothing was sent.") from None
    except Exception as exc:  # noqa: BLE001 - the value's own code failed: a placeholder, not the cell's failure
        return failed(exc)


def as_text(call: Callable[[], str], what: str, how: str = "repr") -> str:
    """`call()`'s text, `<repr failed: …>` if it raises; bounded in time as `bounded` is."""
    return bounded(call, what, lambda exc: placeholder(exc, how))


_armed = threading.local()


@contextmanager
def _deadline(seconds: float) -> Iterator[None]:
    """Raise _TooSlow in the main thread after `seconds`; a no-op elsewhere, or inside another deadline."""
    if (seconds <= 0 or not hasattr(signal, "setitimer") or getattr(_armed, "on", False)
            or threading.current_thread() is not threading.main_thread()):
        yield
        return

    def expire(signum: int, frame: object) -> None:
        raise _TooSlow

    previous = signal.signal(signal.SIGALRM, expire)
    earlier = signal.setitimer(signal.ITIMER_REAL, seconds)
    _armed.on = True
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        _armed.on = False
        if earlier[0]:  # someone else's timer was running: let it go on
            signal.setitimer(signal.ITIMER_REAL, *earlier)
