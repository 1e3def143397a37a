"""How an answer with sources reads: numbered markers in the text, footnotes under it, searches inline.

The API splits a cited answer into many text blocks (one per cited passage); shown one paragraph
each they would break every sentence apart, so adjacent text blocks are joined back into one, with
`[n]` after each cited passage. The `Message` itself is never changed: `last_message` keeps the SDK's
citation objects. A structured (JSON) answer is shown as a JSON code block.
"""

from __future__ import annotations

from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from ..web import found, searching
from .codeblocks import fenced
from .escape import link, shorten, text

QUOTE_CHARS = 160


def present(message: Any, *, structured: bool = False) -> Any:
    """What to draw for `message`: itself when plain, else a copy with sources made readable."""
    blocks = list(message.content)
    special = {"server_tool_use", "web_search_tool_result"}
    if not structured and not any(block.type in special or _cites(block) for block in blocks):
        return message
    notes = Footnotes()
    content: list[Any] = []
    joining = False  # whether the last part shown is the answer's own text, which the next text continues
    for block in blocks:
        if block.type == "text":
            text = fenced(block.text, "json") if structured else block.text + notes.markers(block.citations or [])
            if joining and not structured:
                content[-1] = _text(content[-1].text + text)
            else:
                content.append(_text(text))
            joining = True
            continue
        joining = False
        if block.type == "server_tool_use":
            content.append(_text(searching(block)))
        elif block.type == "web_search_tool_result":
            content.append(_text(found(block)))
        else:
            content.append(block)
    if notes.entries:
        content.append(_text(notes.markdown()))
    return SimpleNamespace(content=content)


class Footnotes:
    """Citations numbered in order of first use; the same passage cited twice keeps its number."""

    def __init__(self) -> None:
        self.entries: list[Any] = []
        self._numbers: dict[tuple[Any, ...], int] = {}

    def markers(self, citations: list[Any]) -> str:
        numbers = []
        for citation in citations:
            key = _key(citation)
            if key not in self._numbers:
                self.entries.append(citation)
                self._numbers[key] = len(self.entries)
            if self._numbers[key] not in numbers:
                numbers.append(self._numbers[key])
        return "".join(f" [{number}]" for number in numbers)

    def markdown(self) -> str:
        lines = ["**Sources**", ""]
        lines += [f"{number}. {describe(citation)}" for number, citation in enumerate(self.entries, 1)]
        return "\n".join(lines)


def describe(citation: Any) -> str:
    """One footnote: the quoted passage, then where it is."""
    return f"“{text(shorten(citation.cited_text, QUOTE_CHARS))}” — {where(citation)}"


def where(citation: Any) -> str:
    kind = citation.type
    if kind == "web_search_result_location":
        return link(citation.title, citation.url)
    title = getattr(citation, "document_title", None) or getattr(citation, "title", None)
    title = f"*{text(title)}*" if title else f"document {getattr(citation, 'document_index', 0) + 1}"
    if kind == "page_location":
        first, last = citation.start_page_number, citation.end_page_number - 1
        return f"{title}, {'p. ' + str(first) if last <= first else f'pp. {first}–{last}'}"
    if kind == "char_location":
        return f"{title}, characters {citation.start_char_index:,}–{citation.end_char_index:,}"
    if kind == "content_block_location":
        return f"{title}, blocks {citation.start_block_index}–{citation.end_block_index}"
    return title


class Presenter:
    """An answer view that draws `present(message)` instead of the bare message; the rest is the view's.

    A terminal prints the answer's deltas as they come, not `present`'s copy, so it is told the rest
    as asides: each cited passage's markers when it ends, each search and what it found, and the
    footnotes before the footer.
    """

    def __init__(self, view: Any, *, structured: bool) -> None:
        self._view = view
        self._structured = structured
        self._notes = Footnotes()  # the streamed answer's, for the terminal

    def on_event(self, event: Any, snapshot: Callable[[], Any]) -> None:
        self._view.on_event(event, lambda: present(snapshot(), structured=self._structured))
        if event.type == "content_block_stop":
            aside = self._aside(event.content_block)
            if aside:
                self._view.aside(aside)

    def show_message(self, message: Any) -> None:
        self._view.show_message(present(message, structured=self._structured))

    def finish(self, message: Any | None, footer: str, appendix: str = "") -> None:
        if self._notes.entries:
            self._view.aside(f"\n\n{self._notes.markdown()}")
        shown = None if message is None else present(message, structured=self._structured)
        self._view.finish(shown, footer, appendix)

    def _aside(self, block: Any) -> str:
        if _cites(block) and not self._structured:
            return self._notes.markers(block.citations)
        if block.type == "server_tool_use":
            return f"\n{searching(block)}\n"
        if block.type == "web_search_tool_result":
            return f"{found(block)}\n\n"
        return ""

    def __getattr__(self, name: str) -> Any:
        return getattr(self._view, name)


def _cites(block: Any) -> bool:
    return block.type == "text" and bool(getattr(block, "citations", None))


def _key(citation: Any) -> tuple[Any, ...]:
    return tuple(sorted(citation.model_dump(exclude_none=True).items(), key=lambda item: item[0]))


def _text(text: str) -> Any:
    return SimpleNamespace(type="text", text=text)
