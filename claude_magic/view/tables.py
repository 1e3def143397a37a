"""Markdown tables for the objects that render themselves: chats, the usage ledger, the model list.

One place makes a cell safe: one line, shown literally (escape.py's `text`) unless it is already safe
`Markdown` (a code span, a link), and no unescaped `|` left to split its row. Each object gives `_repr_markdown_` (a notebook shows the table) and `_repr_pretty_` (a terminal shows
the same text), so `%claude history` and `display(...)` draw the same thing.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Sequence
from typing import Any

from .escape import Markdown, text

_UNESCAPED_PIPE = re.compile(r"(?<!\\)\|")


def cell(value: Any) -> str:
    """One table-safe line: a value shown as it is; `Markdown` kept, its pipes (even in code spans) escaped."""
    if not isinstance(value, Markdown):
        return text(value)  # escapes `|` too
    return _UNESCAPED_PIPE.sub(r"\\|", " ".join(value.split()))


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[Any]], right: Collection[int] = ()) -> str:
    """A GitHub-flavoured markdown table; the columns numbered in `right` are right-aligned (numbers).

    The header is this package's own words; every other cell goes through `cell`: pass values as they
    are, and `Markdown` only for what must render (a code span from `escape.code`, a link from `escape.link`).
    """
    rule = ["---:" if n in right else "---" for n in range(len(header))]
    lines = [list(header), rule, *([cell(value) for value in row] for row in rows)]
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
