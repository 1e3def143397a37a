"""`%%claude` in a real JupyterLab and a real Notebook 7, driven in headless Chromium like a user would.

Each frontend gets its own server and one notebook tab; the tests run in file order on that tab, the
last one shutting the kernel down. Each runs twice: with the display the magic picks ("auto": the
notebook extension's stream renderer, installed with the package) and with a live widget (what a page
without the extension gets); the answer must look the same, and be saved the same.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from answers import shaped
from browser_support import FRONTENDS, open_notebook, poll
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
QUESTION = "How do I reverse a list in Python?"
LAST_WORDS = "w5999 THE-LAST-SENTENCE-IS-HERE."
CELLS = [
    "%load_ext claude_magic\n%config ClaudeMagics.simulator_pace = 25\n%config ClaudeMagics.display = '{display}'",
    f"%%claude\n{QUESTION}",
    "print(last_message.usage.output_tokens)",
    (
        "%config ClaudeMagics.simulator_pace = 0\n"
        "import claude_magic\n"
        "from claude_magic.simulator import Reply\n"
        'claude_magic.offline_simulator().queue(Reply.text(" ".join(f"w{i}" for i in range(6000)) + " THE-LAST-SENTENCE-IS-HERE."))'
    ),
    "%%claude --max-tokens 8000\nWrite a long answer.",
    (
        "from pathlib import Path\n"
        "thinking = {'type': 'thinking', 'thinking': 'First the loading, then the checks.', 'signature': 's'}\n"
        "shaped = {'type': 'text', 'text': Path('shaped.md').read_text()}\n"
        "claude_magic.offline_simulator().queue(Reply(content=(thinking, shaped), pace=400))"
    ),
    "%%claude\nShow me every kind of block.",
]
SETUP, ASK, USAGE, QUEUE_LONG, ASK_LONG, QUEUE_SHAPED, ASK_SHAPED = range(len(CELLS))
SECTIONS = 6
SHAPED = shaped(SECTIONS) + "\nTHE-SHAPED-END."
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
STREAM = "application/vnd.claude-magic.stream+json"
DISPLAYS = ("auto", "widget")
EXPECT_TIMEOUT = 30_000


@pytest.fixture(scope="module", params=[(frontend, display) for frontend in FRONTENDS for display in DISPLAYS],
                ids=lambda param: f"{param[0].name}-{param[1]}")
def notebook(request, browser, tmp_path_factory):
    frontend, display = request.param
    home = tmp_path_factory.mktemp(f"{frontend.name}-{display}")
    cells = [CELLS[SETUP].format(display=display), *CELLS[SETUP + 1 :]]
    with open_notebook(browser, frontend, home, "claude.ipynb", cells, {"shaped.md": SHAPED}) as page:
        page.display = display
        yield page


@pytest.fixture(scope="module")
def answer_states(notebook):
    """Asks the slow simulator one question; every distinct text the answer's output went through."""
    notebook.run(SETUP)
    notebook.start(ASK)
    renderer = notebook.output(ASK).locator(".jp-ClaudeMagic-stream")
    if notebook.display == "auto":  # the extension's renderer shows the stream, not a widget
        expect(renderer).to_have_count(1, timeout=EXPECT_TIMEOUT)
    states = notebook.watch(ASK, until="end_turn")
    notebook.wait(ASK)
    ARTIFACTS.mkdir(exist_ok=True)
    notebook.page.screenshot(path=ARTIFACTS / f"{notebook.server.frontend.name}.png", full_page=True)
    notebook.run(USAGE)
    return states


def test_answer_grows_in_the_page_while_it_streams(answer_states):
    final = answer_states[-1]
    partial = [state for state in answer_states if QUESTION in state and "end_turn" not in state]
    assert len(partial) >= 3, answer_states
    assert all(len(state) < len(final) for state in partial), answer_states


def test_final_answer_is_rendered_markdown(notebook, answer_states):
    output = notebook.output(ASK)
    expect(output.get_by_role("heading", level=2, name=QUESTION)).to_be_visible()
    expect(output.locator("pre code")).to_contain_text("def ")
    expect(output.locator("sub")).to_contain_text(re.compile(r"\d+ in / \d+ out · end_turn"))
    assert "```" not in output.inner_text() and "## " not in output.inner_text()
    # The live Output widget (an output area inside the output area), or the stream renderer, is replaced
    # by the static answer.
    expect(output.locator(".jp-OutputArea")).to_have_count(0)
    expect(output.locator(".jp-ClaudeMagic-stream")).to_have_count(0)


def test_last_message_holds_the_usage_the_footer_shows(notebook, answer_states):
    footer = notebook.output(ASK).locator("sub").inner_text()
    tokens = re.search(r"([\d,]+) out", footer).group(1).replace(",", "")
    expect(notebook.output(USAGE)).to_have_text(re.compile(rf"^\s*{tokens}\s*$"))


def test_long_fast_answer_arrives_complete(notebook, answer_states):
    notebook.run(QUEUE_LONG)
    assert notebook.output(QUEUE_LONG).inner_text().strip() == ""
    notebook.run(ASK_LONG)
    output = notebook.output(ASK_LONG)
    expect(output).to_contain_text(LAST_WORDS, timeout=EXPECT_TIMEOUT)
    expect(output.locator("sub")).to_contain_text("6,001 out · end_turn")


def test_an_answer_streamed_in_pieces_ends_as_one_rendered_answer(notebook, answer_states):
    notebook.run(QUEUE_SHAPED)
    notebook.run(ASK_SHAPED)
    output = notebook.output(ASK_SHAPED)
    expect(output.locator("sub")).to_contain_text("end_turn", timeout=EXPECT_TIMEOUT)
    shown = [text for text in output.locator(".jp-OutputArea-output").all_inner_texts() if text.strip()]
    assert len(shown) == 1 and "THE-SHAPED-END." in shown[0], shown
    expect(output.get_by_role("heading", level=2)).to_have_count(SECTIONS)
    expect(output.locator("ol")).to_have_count(SECTIONS)  # each list whole, not cut at its blank lines
    expect(output.locator("ol > li")).to_have_count(3 * SECTIONS)
    expect(output.locator("table")).to_have_count(SECTIONS)
    expect(output.locator("pre")).to_have_count(SECTIONS)
    assert all("\n\n" in code for code in output.locator("pre").all_inner_texts())
    expect(output.locator("details summary")).to_contain_text("Thinking (6 words)")
    notebook.save()
    cell = poll(lambda: _saved_cell(notebook.file, ASK_SHAPED), lambda cell: cell and "<sub>" in str(cell["outputs"]),
                30, f"the shaped answer in the saved {notebook.file.name}")
    kept = [o["data"]["text/markdown"] for o in cell["outputs"] if o.get("data", {}).get("text/markdown")]
    assert len(kept) == 1 and SHAPED in kept[0]


def test_saved_notebook_keeps_the_answer_without_the_kernel(notebook, answer_states):
    # Scrolled away from by the cells run since, the output is not rendered: its text, not what shows.
    footer = notebook.output(ASK).locator("sub").text_content()
    notebook.save()
    cell = poll(lambda: _saved_cell(notebook.file, ASK), lambda cell: _answer_in(cell, footer), 30,
                f"the answer in the saved {notebook.file.name}")
    outputs = cell["outputs"]
    assert outputs[-1]["output_type"] == "display_data"
    assert set(outputs[-1]["data"]) == {"text/markdown", "text/plain"}
    assert not [output for output in outputs if {WIDGET_VIEW, STREAM} & set(output.get("data", {}))]
    markdown = outputs[-1]["data"]["text/markdown"]
    assert f"## {QUESTION}" in markdown and "```python" in markdown

    notebook.server.shut_down_kernels()
    notebook.reopen()
    output = notebook.output(ASK)
    expect(output.get_by_role("heading", level=2, name=QUESTION)).to_be_visible(timeout=EXPECT_TIMEOUT)
    expect(output.locator("sub")).to_have_text(footer)


def _saved_cell(path: Path, index: int):
    try:
        return nbformat.read(path, as_version=4).cells[index]
    except (OSError, ValueError):  # caught in the middle of a save
        return None


def _answer_in(cell, footer: str) -> bool:
    last = cell["outputs"][-1] if cell and cell["outputs"] else {}
    return f"<sub>{footer}</sub>" in last.get("data", {}).get("text/markdown", "")
