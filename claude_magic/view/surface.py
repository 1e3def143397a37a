"""What an answer is drawn on while it streams: the protocol `AnswerView` drives, and its defaults.

`show` draws the tail; `seal` draws it for good; `mark` / `rewind` take back what a round drew; `delta`
prints a terminal's text as it comes; `flush` sends what the last action drew (`streaming`: a throttled
update, which a surface may hold back for the next); `final` leaves the static answer. Surfaces that draw
at once need no `flush`; those that do not print need no `delta`.
"""

from __future__ import annotations


class Surface:
    outputs_limited = False  # whether each segment is an output of its own (a cell shows 50)

    def delta(self, text: str) -> None:
        pass

    def flush(self, streaming: bool = False) -> None:
        pass
