"""Text that did not come from Claude's own markdown, made safe to put into the markdown the page renders.

Outputs a kernel makes are trusted by Jupyter: raw HTML in their markdown runs (`<img onerror=…>`), and a
`[label](javascript:…)` link runs when clicked. So a title, a URL, a file or chat name, a quoted passage,
a tool's input or result, an error, a model id — anything a server, a file, a web page or a notebook
variable supplied — goes through here before it is joined into markdown:

- `text` shows a value literally, on one line: HTML's specials as entities (safe even where markdown is
  not parsed, inside an HTML block), markdown's as backslash escapes (so `*`, `[`, `|`, `$` stay what they
  are: no emphasis, no link, no table column, no math);
- `code` shows it as an inline code span (whose content markdown never parses);
- `link` makes an http(s) link, and shows anything else as plain text, never as a link;
- `shorten` cuts a value to one line of at most `width` characters, ending in "…" when it cut.

What these return is `Markdown`: already safe, so the table helper (tables.py) puts it in a cell as it is.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

ELLIPSIS = "…"


class Markdown(str):
    """Markdown that is already safe: made here, or written by this package; never escaped again."""


# HTML's specials: `<` and `>` always; `&` where it would start a character reference.
_HTML = re.compile(r"[<>]|&(?=#?\w+;)")
_ENTITIES = {"<": "&lt;", ">": "&gt;", "&": "&amp;"}
# Markdown's inline specials. `_` only at a word's edge: inside a word (snake_case) it is no emphasis.
_MARKDOWN = re.compile(r"[\\`*\[\]|~$]|(?<![0-9A-Za-z])_|_(?![0-9A-Za-z])")
# What would start a block when it begins a line: a heading, a list item, a setext underline.
_LINE_START = re.compile(r"^(\d{1,9}(?=[.)]))?([#+=.)-])")
# C0/C1 controls (ESC would drive a terminal), and the bidi overrides that make text read otherwise.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
# A URL that may become a link: http(s), a host, nothing a browser would strip or re-read.
_WEB_URL = re.compile(r"https?://[^\s/?#\\]+([/?#]\S*)?", re.IGNORECASE)
# Kept as they are in a link's destination; everything else is percent-encoded (`(`, `)`, `<`, `>`,
# quotes, `\`, `` ` ``, `$` and spaces included, so nothing can end the destination or start math).
_URL_SAFE = "/:?#[]@!&*+,;=%~-._"


def one_line(value: Any) -> str:
    """`value` as text on one line: runs of whitespace made one space, control characters made visible."""
    return " ".join(_CONTROL.sub("\ufffd", str(value)).split())


def shorten(value: Any, width: int) -> str:
    """`value` on one line, at most `width` characters (ending in "…" when cut). Plain text: escape it after."""
    line = one_line(value)
    return line if len(line) <= width else line[: max(0, width - 1)] + ELLIPSIS


def text(value: Any) -> Markdown:
    """`value` shown literally, on one line, wherever markdown puts it (emphasis, link label, table cell)."""
    line = one_line(value)
    line = _HTML.sub(lambda match: _ENTITIES[match.group(0)[0]], line)
    line = _MARKDOWN.sub(lambda match: "\\" + match.group(0), line)
    return Markdown(_LINE_START.sub(lambda m: f"{m[1] or ''}\\{m[2]}", line))


def code(value: Any) -> Markdown:
    """`value` as an inline code span, on one line: fenced by more backticks than any run inside it."""
    line = one_line(value)
    if not line:
        return Markdown("")
    longest = max((len(run) for run in re.findall(r"`+", line)), default=0)
    fence = "`" * (longest + 1)
    padded = f" {line} " if line[0] in "` " or line[-1] in "` " else line
    return Markdown(f"{fence}{padded}{fence}")


def web_url(url: Any) -> str | None:
    """`url` made safe as a link's destination if it is an http(s) URL, else None."""
    if not isinstance(url, str) or _CONTROL.search(url) or not _WEB_URL.fullmatch(url):
        return None
    return quote(url, safe=_URL_SAFE)


def link(label: Any, url: Any) -> Markdown:
    """A link to an http(s) `url` labelled `label` (the URL when empty); any other URL as plain text."""
    label = one_line(label or "") or one_line(url or "")
    target = web_url(url)
    if target is not None:
        return Markdown(f"[{text(label)}]({target})")
    return text(label) if label == one_line(url or "") else Markdown(f"{text(label)} ({text(url)})")
