"""Markdown tables for the objects that render themselves: chats, the usage ledger, the model list.

One place makes a cell safe: one line, and `|` escaped so a value cannot split its row. Each
object gives `_repr_markdown_` (a notebook shows the table) and `_repr_pretty_` (a terminal shows
the same text), so `%claude history` and `display(...)` draw the same thing.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from typing import Any

_UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")


def cell(value: Any) -> str:
    """One table-safe line; a `|` already escaped (as `render.preview` leaves it) stays as it is."""
    return _UNESCAPED_PIPE.sub(r"\\|", " ".join(str(value).split()))


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[Any]], right: Collection[int] = ()) -> str:
    """A GitHub-flavoured markdown table; the columns numbered in `right` are right-aligned (numbers)."""
    rule = ["---:" if n in right else "---" for n in range(len(header))]
    lines = [header, rule, *([cell(value) for value in row] for row in rows)]
    return "\n".join(f"| {' | '.join(line)} |" for line in lines)


class Rendered:
    """Mixin: `_repr_markdown_` is the object's face, in a notebook and (as text) in a terminal."""

    def _repr_markdown_(self) -> str:
        raise NotImplementedError

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self._repr_markdown_())


class Table(Rendered):
    """A table to display as it is (`%claude models`)."""

    def __init__(self, header: Sequence[str], rows: Iterable[Sequence[Any]], empty: str = "Nothing to show."):
        self.header = list(header)
        self.rows = [list(row) for row in rows]
        self.empty = empty

    def _repr_markdown_(self) -> str:
        return markdown_table(self.header, self.rows) if self.rows else self.empty
