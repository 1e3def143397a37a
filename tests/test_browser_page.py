"""Nothing from outside runs in the page: hostile titles, URLs, chat and file names, tool results in JupyterLab 4.

Outputs a kernel makes are trusted, so JupyterLab renders their markdown's raw HTML as it is: an
`<img onerror=…>` in a web result's title would run. Each hostile value below sets `window.__pwned`
if it runs; after every cell has rendered, it must still be undefined, no `javascript:` link may exist,
and the values must be on the page as text.
"""

from __future__ import annotations

import pytest
from browser_support import FRONTENDS, open_notebook
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def hostile(n: int) -> str:
    return f'<img src="x" onerror="window.__pwned={n}">'


RESULTS = [
    {"url": "javascript:window.__pwned=10", "title": hostile(1), "snippet": f"{hostile(2)} quoted"},
    {"url": "https://good.example/page", "title": "Good page", "snippet": "A normal passage."},
    {"url": "https://x.example/a)[y](javascript:window.__pwned=11)", "title": "](javascript:window.__pwned=12)",
     "snippet": f"`{hostile(3)}`"},
]
FILE = f"{hostile(4)}.txt"
CHAT = hostile(5)
SETUP = (
    "%load_ext claude_magic\n%config ClaudeMagics.simulator_pace = 0\nimport claude_magic\n"
    "from claude_magic.simulator import Reply\n"
    f"def lookup(q: str) -> str:\n    '''Look something up.'''\n    return {hostile(6)!r} + ' and ``{hostile(7)}``'\n"
    "claude_magic.offline_simulator().queue(\n"
    f"    Reply.web_search({RESULTS!r}, query={hostile(8)!r}),\n"
    "    Reply.text('Fine.'), Reply.text('Read it.'),\n"
    f"    Reply.tool_use('lookup', {{'q': {hostile(9)!r}}}), Reply.text('Done.'))"
)
CELLS = [
    SETUP,
    "%%claude --web\nWhat is new?",
    f"%%claude --chat '{CHAT}'\nhello",
    "%claude chats",
    f"%%claude --file '{FILE}'\nSummarise it.",
    "%%claude --tools lookup\nLook it up.",
    "%claude usage",
]
WEB, CHATS, TOOLS = 1, 3, 5


@pytest.fixture(scope="module")
def notebook(browser, tmp_path_factory):
    lab = FRONTENDS[0]
    assert lab.module == "jupyterlab"
    with open_notebook(browser, lab, tmp_path_factory.mktemp("page"), "page.ipynb", CELLS,
                       {FILE: "Ravens remember faces.\n"}) as page:
        for index in range(len(CELLS)):
            page.run(index)
        page.page.wait_for_timeout(1500)  # an <img src=x> fails to load (and its onerror runs) within this
        yield page


def test_no_injected_handler_runs(notebook):
    assert notebook.page.evaluate("() => window.__pwned") is None
    assert notebook.page.locator(".jp-OutputArea-output img").count() == 0


def test_no_javascript_link_exists(notebook):
    assert notebook.page.locator("a[href^='javascript' i]").count() == 0
    links = notebook.output(WEB).locator("a")
    hrefs = {links.nth(n).get_attribute("href") for n in range(links.count())}
    # The good page, and the URL that tried to break out of its link, still a link to its own https host.
    assert hrefs == {"https://good.example/page", "https://x.example/a%29%5By%5D%28javascript:window.__pwned=11%29"}


def test_the_hostile_values_are_shown_as_text(notebook):
    expect(notebook.output(WEB)).to_contain_text(f"Found: {hostile(1)} (javascript:window.__pwned=10)")
    expect(notebook.output(WEB)).to_contain_text(f"“{hostile(2)} quoted”")
    expect(notebook.output(WEB)).to_contain_text(f"Searching the web for {hostile(8)}")
    expect(notebook.output(CHATS)).to_contain_text(CHAT)
    expect(notebook.output(CHATS + 1)).to_contain_text(FILE)
    expect(notebook.output(TOOLS)).to_contain_text(hostile(6))
