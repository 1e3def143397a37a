"""What reaches the page: text that did not come from Claude's markdown is shown, never run.

Unit tests of the one escaper with hostile strings, then cells run through a real shell against the
simulator, their markdown rendered by a real CommonMark renderer (mistune, raw HTML let through as a
trusted Jupyter output lets it through) and the HTML checked for anything that could run.
"""

from __future__ import annotations

from html.parser import HTMLParser

import mistune
import pytest
from conftest import error_text, final_markdown

from claude_magic.simulator import Reply
from claude_magic.view.escape import Markdown, code, link, shorten, text

IMG = '<img src="x" onerror="window.__pwned=1">'
HOSTILE = [
    IMG,
    "<script>window.__pwned=1</script>",
    "<a href='javascript:window.__pwned=1'>click</a>",
    "](javascript:window.__pwned=1)",
    "[x](javascript:window.__pwned=1)",
    "`` ` <img src=x onerror=window.__pwned=1> ` ``",
    "&lt;img src=x onerror=window.__pwned=1&gt;",
    "$ <img src=x onerror=window.__pwned=1> $",
    "<details open ontoggle=window.__pwned=1>",
    "<img src=x onerror=alert(1)>",
    "line one\n\n<img src=x onerror=window.__pwned=1>",
    "\\<img src=x onerror=window.__pwned=1>",
    "| a | b |\n|---|---|\n| <img src=x onerror=window.__pwned=1> | c |",
    "\x1b[31mred\x1b[0m \u202egnp.exe",
]
BAD_URLS = ["javascript:window.__pwned=1", "JavaScript:window.__pwned=1", " javascript:window.__pwned=1",
            "java\nscript:window.__pwned=1", "data:text/html,<script>window.__pwned=1</script>",
            "vbscript:msgbox(1)", "https://x.example/a) [y](javascript:window.__pwned=1",
            "//evil.example/", "file:///etc/passwd", "https://x.example/ <img src=x onerror=1>"]
# What markdown may make of an answer's frame (not of Claude's own text): nothing that runs.
ALLOWED_TAGS = {"p", "a", "em", "strong", "code", "pre", "ul", "ol", "li", "table", "thead", "tbody", "tr", "th",
                "td", "sub", "blockquote", "br", "del", "h1", "h2", "h3", "hr"}


class _Renderer(mistune.HTMLRenderer):
    def safe_url(self, url: str) -> str:  # the page follows whatever href it is given: so must the test
        return url


_markdown = mistune.create_markdown(renderer=_Renderer(escape=False), plugins=["table", "strikethrough"])


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def tags_of(markdown: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = _Tags()
    parser.feed(_markdown(markdown))
    return parser.tags


def assert_inert(markdown: str) -> None:
    """Rendered, `markdown` holds only harmless tags, no handler attribute, and links only to http(s)."""
    for tag, attrs in tags_of(markdown):
        assert tag in ALLOWED_TAGS, (tag, attrs, markdown)
        assert not any(name.startswith("on") for name in attrs), (tag, attrs, markdown)
        if tag == "a":
            assert set(attrs) == {"href"} and attrs["href"].lower().startswith(("http://", "https://")), attrs


def links_of(markdown: str) -> list[str]:
    return [attrs["href"] for tag, attrs in tags_of(markdown) if tag == "a"]


# --- the escaper ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("value", HOSTILE)
def test_text_is_inert_and_shows_the_value_as_it_was(value):
    escaped = text(value)
    assert isinstance(escaped, Markdown) and "\n" not in escaped
    assert_inert(f"before {escaped} after")
    assert_inert(f"*{escaped}*")
    assert_inert(f"| {escaped} |\n|---|")
    shown = mistune.html(f"before {escaped} after")  # mistune.html escapes nothing itself: what is literal is ours
    assert "<img" not in shown and "<script" not in shown


def test_text_keeps_plain_text_plain_and_renders_to_the_same_words():
    assert text("Latest Pandas Release — example.com") == "Latest Pandas Release — example.com"
    assert text("snake_case and AT&T, 3 < 4") == "snake_case and AT&T, 3 &lt; 4"
    for value in ("*bold* _it_ [x](y) `c` ~s~ $x$ a|b", "1. not a list", "# not a heading", "- not an item"):
        html = _markdown(text(value))
        assert html.strip() == f"<p>{value.replace('&', '&amp;')}</p>", html


@pytest.mark.parametrize("value", HOSTILE)
def test_code_is_one_code_span_whatever_it_holds(value):
    span = code(value)
    tags = tags_of(span)
    assert [tag for tag, _ in tags] == ["p", "code"], (span, tags)


@pytest.mark.parametrize("url", BAD_URLS)
def test_only_web_urls_become_links(url):
    shown = link("<b>title</b>", url)
    assert links_of(shown) == []
    assert_inert(shown)


def test_a_web_url_is_a_link_that_nothing_in_it_can_break_out_of():
    assert links_of(link("Docs", "https://docs.example/a_b?q=1#x")) == ["https://docs.example/a_b?q=1#x"]
    tricky = "https://x.example/a(b)c)<img/src=x/onerror=1>'\"onmouseover=\"x$`"
    shown = link(IMG, tricky)
    assert_inert(shown)
    [href] = links_of(shown)
    assert href.startswith("https://x.example/a%28b%29c%29%3Cimg") and not set("<>\"'`$ ") & set(href)
    assert links_of(link("", "https://plain.example")) == ["https://plain.example"]


def test_shorten_is_the_one_ellipsis():
    assert shorten("a  b\nc", 10) == "a b c"
    assert shorten("x" * 20, 10) == "x" * 9 + "…"
    assert len(shorten("y" * 500, 160)) == 160


# --- through the shell: what each kind of outside text looks like in the page --------------------------

HOSTILE_RESULTS = [
    {"url": "javascript:window.__pwned=1", "title": IMG, "snippet": "<script>window.__pwned=1</script> quoted"},
    {"url": "https://good.example/page", "title": "A [good](javascript:window.__pwned=1) page *x*",
     "snippet": "A normal passage."},
    {"url": "https://x.example/a) [y](javascript:window.__pwned=1", "title": "](javascript:window.__pwned=1)",
     "snippet": f"`{IMG}`"},
]


def test_hostile_web_results_reach_the_page_as_text(nb):
    nb.sim.queue(Reply.web_search(HOSTILE_RESULTS, query=f"{IMG} *news*"))
    result, captured = nb.run("%%claude --web\nWhat is new?")
    assert result.error_in_exec is None, error_text(captured)
    markdown = final_markdown(captured)
    assert_inert(markdown)
    assert links_of(markdown) == ["https://good.example/page", "https://good.example/page"]  # Found:, Sources
    assert "Found: &lt;img src=\"x\" onerror=\"window.\\_\\_pwned=1\"&gt; (javascript:window.\\_\\_pwned=1)" in markdown
    assert "**Sources**" in markdown and "“&lt;script&gt;window.\\_\\_pwned=1&lt;/script&gt; quoted”" in markdown
    # Every update drawn while it streamed is inert too, not only the final bundle.
    for output in captured.outputs:
        assert_inert(output.data.get("text/markdown", ""))


def test_a_hostile_chat_name_is_shown_not_run(nb):
    nb.sim.queue(Reply.text("Fine."))
    nb.run(f"%%claude --chat '{IMG}'\nhello")
    for command in ("chats", "usage"):
        _, captured = nb.run(f"%claude {command}")
        markdown = final_markdown(captured)
        assert "&lt;img src=\"x\"" in markdown, command
        assert_inert(markdown)
    _, captured = nb.run(f"%claude history --chat '{IMG}x'")
    assert_inert(final_markdown(captured))


def test_a_file_named_with_markup_is_shown_not_run(nb, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    name = f"{IMG}.txt"
    (tmp_path / name).write_text("Ravens remember faces.", encoding="utf-8")
    result, captured = nb.run(f"%%claude --file '{name}' --cite\nWhat does it say?")
    assert result.error_in_exec is None, error_text(captured)
    markdown = final_markdown(captured)
    # Claude's own text (here the simulator's) is Claude's markdown; the frame around it is ours.
    frame = markdown[markdown.index("**Sources**"):]
    assert "&lt;img src=\"x\" onerror=\"window.\\_\\_pwned=1\"&gt;.txt" in frame
    assert_inert(frame)


def test_tool_calls_and_results_are_shown_as_code(nb):
    def lookup(q: str) -> str:
        """Look something up."""
        return f"``{IMG}`` and </code>{IMG}"

    nb.ns["lookup"] = lookup
    nb.sim.queue(Reply.tool_use("lookup", {"q": f"`{IMG}`"}), Reply.text("Done."))
    result, captured = nb.run("%%claude --tools lookup\nLook it up.")
    assert result.error_in_exec is None, error_text(captured)
    for output in captured.outputs:
        assert_inert(output.data.get("text/markdown", ""))
    assert "↳ result:" in final_markdown(captured)


def test_timeline_count_and_map_tables_are_inert(nb):
    nb.sim.queue(Reply.text("ok"))
    _, captured = nb.run("%%claude --events\nhi")
    markdown = final_markdown(captured)
    assert "| ms | event | block | count | chars |" in markdown and "`message_start`" in markdown
    assert_inert(markdown)
    nb.ns["evil"] = IMG
    _, captured = nb.run(f"%%claude --count -s '{IMG}'\n{{evil}} and | pipes")
    markdown = final_markdown(captured)
    assert "System: &lt;img" in markdown and "\\| pipes" in markdown
    assert_inert(markdown)
    nb.ns["items"] = [IMG, "| x |"]
    _, captured = nb.run("%%claude --map items\nSay {item}")
    markdown = final_markdown(captured)
    assert "| # | prompt | answer |" in markdown and "Say &lt;img" in markdown
    assert_inert(markdown)
    _, captured = nb.run("%%claude --map items --count\nSay {item}")
    assert_inert(final_markdown(captured))


def test_a_hostile_model_name_in_the_status_and_footer_is_text(nb):
    nb.sim.queue(Reply.text("ok"))
    _, captured = nb.run(f"%%claude -m '{IMG}'\nhi")
    for output in captured.outputs:
        assert_inert(output.data.get("text/markdown", ""))


def test_every_table_cell_is_text_unless_made_safe_here():
    from claude_magic.view.tables import Table

    table = Table(["model", "name"], [(code(IMG), IMG), ("a|b", Markdown("`x|y`"))])._repr_markdown_()
    assert_inert(table)
    assert [len(row.split(" | ")) for row in table.splitlines()] == [2, 2, 2, 2]  # no pipe split a row
