"""The notebook extension in a real JupyterLab 4 and Notebook 7, driven in headless Chromium.

"Fix with Claude" on a failed cell, the answer under the error and the fix as a diff on that cell;
Accept (one undo step), Reject, Accept all, and `%%claude --edit` over two cells. The tests run in file
order on one tab per frontend.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from browser_support import FRONTENDS, open_notebook
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

CELLS = [
    "%load_ext claude_magic\n%config ClaudeMagics.simulator_pace = 0",
    "numbers = [1, 2, 3]",
    "total = sum(numbers) / len(number)",
    "a = 1",
    "b = a + 1",
    "%%claude --edit\nImprove cells [4] and [5].",
    "victim = len(In) - 1  # this cell's number",
    "other = len(In) - 1",
    (
        "import claude_magic\n"
        "from claude_magic.simulator import Reply\n"
        "def edit(number, source):\n"
        "    return {'type': 'tool_use', 'name': 'propose_cell_edit', 'input': {'cell': f'[{number}]', 'source': source}}\n"
        "slowly = {'type': 'text', 'text': 'Two changes, slowly. ' * 15}\n"
        "claude_magic.offline_simulator().queue(\n"
        "    Reply(content=(slowly, edit(victim, 'victim = 10'), edit(other, \"other = '<img src=x onerror=alert(1)>'\")),\n"
        "          pace=12),\n"
        "    Reply.text('Done.'))"
    ),
    "%%claude --edit\nChange both.",
]
SETUP, NUMBERS, FAILING, A, B, EDIT, VICTIM, OTHER, QUEUE, HOSTILE = range(len(CELLS))
TIMEOUT = 30_000
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
REVISED = "# Revised by Claude (offline simulator)"


@pytest.fixture(scope="module", params=FRONTENDS, ids=lambda frontend: frontend.name)
def notebook(request, browser, tmp_path_factory):
    home = tmp_path_factory.mktemp(request.param.name)
    with open_notebook(browser, request.param, home, "edits.ipynb", CELLS) as page:
        yield page


def source(notebook, index: int) -> str:
    """The cell's source as its editor shows it."""
    return notebook.cells.nth(index).locator(".jp-InputArea-editor .cm-content").inner_text()


def bar(notebook, index: int, kind: str):
    return notebook.cells.nth(index).locator(f".jp-ClaudeMagic-{kind}")


@pytest.fixture(scope="module")
def failed(notebook):
    for index in (SETUP, NUMBERS, FAILING):
        notebook.run(index)
    expect(notebook.output(FAILING)).to_contain_text("NameError", timeout=TIMEOUT)
    return notebook


def test_a_failed_cell_gets_the_buttons_and_a_good_one_does_not(failed):
    expect(bar(failed, FAILING, "failure").get_by_role("button", name="Fix with Claude")).to_be_visible(
        timeout=TIMEOUT)
    expect(bar(failed, FAILING, "failure").get_by_role("button", name="Explain")).to_be_visible()
    expect(bar(failed, NUMBERS, "failure")).to_have_count(0)
    expect(failed.cells.nth(FAILING).locator(".jp-ClaudeMagic-proposal")).to_have_count(0)


def test_fix_shows_the_answer_and_the_fix_as_a_diff_on_the_failed_cell(failed):
    before = source(failed, FAILING)
    bar(failed, FAILING, "failure").get_by_role("button", name="Fix with Claude").click()
    output = failed.output(FAILING)
    expect(output.locator("sub")).to_contain_text("end_turn", timeout=TIMEOUT)
    expect(output).to_contain_text("NameError")  # the error stays, the answer below it
    proposal = bar(failed, FAILING, "proposal")
    expect(proposal).to_be_visible(timeout=TIMEOUT)
    expect(proposal.locator(".jp-ClaudeMagic-removed")).to_contain_text("total = sum(numbers) / len(number)")
    expect(proposal.get_by_role("button", name="Accept all")).to_be_hidden()  # only one proposal
    assert source(failed, FAILING) == before  # nothing changes before Accept
    ARTIFACTS.mkdir(exist_ok=True)
    failed.cells.nth(FAILING).screenshot(path=ARTIFACTS / f"{failed.server.frontend.name}-fix-with-claude.png")


def test_accept_changes_the_cell_without_running_it_and_ctrl_z_restores_it(failed):
    before = source(failed, FAILING)
    prompt = failed.cells.nth(FAILING).locator(".jp-InputPrompt").inner_text()
    proposal = bar(failed, FAILING, "proposal")
    added = "".join(line[1:] for line in proposal.locator(".jp-ClaudeMagic-added").all_inner_texts()).rstrip("\n")
    proposal.get_by_role("button", name="Accept", exact=True).click()
    expect(proposal).to_have_count(0)
    after = source(failed, FAILING)
    assert after == added == "total = sum(numbers) / len(numbers)"
    assert failed.cells.nth(FAILING).locator(".jp-InputPrompt").inner_text() == prompt  # not run
    failed.cells.nth(FAILING).locator(".jp-InputArea-editor .cm-content").click()
    failed.page.keyboard.press("Control+z")
    expect(failed.cells.nth(FAILING).locator(".jp-InputArea-editor .cm-content")).to_have_text(before)


def test_edit_over_two_cells_shows_two_diffs_and_reject_leaves_them(failed):
    for index in (A, B):
        failed.run(index)
    sources = [source(failed, A), source(failed, B)]
    failed.run(EDIT)
    expect(failed.output(EDIT)).to_contain_text("review the diff on each cell", timeout=TIMEOUT)
    for index in (A, B):
        expect(bar(failed, index, "proposal")).to_contain_text(re.compile(r"cell \[\d+\]"))
        expect(bar(failed, index, "proposal").locator(".jp-ClaudeMagic-added")).to_contain_text(REVISED)
        expect(bar(failed, index, "proposal").get_by_role("button", name="Accept all")).to_be_visible()
    failed.page.screenshot(path=ARTIFACTS / f"{failed.server.frontend.name}-edit-diffs.png", full_page=True)
    for index in (A, B):
        bar(failed, index, "proposal").get_by_role("button", name="Reject").click()
    expect(failed.page.locator(".jp-ClaudeMagic-proposal")).to_have_count(0)
    assert [source(failed, A), source(failed, B)] == sources


def test_accept_all_takes_every_proposal(failed):
    failed.run(EDIT)
    expect(failed.page.locator(".jp-ClaudeMagic-proposal")).to_have_count(2, timeout=TIMEOUT)
    bar(failed, A, "proposal").get_by_role("button", name="Accept all").click()
    expect(failed.page.locator(".jp-ClaudeMagic-proposal")).to_have_count(0)
    assert source(failed, A).startswith(REVISED) and source(failed, B).startswith(REVISED)


def test_a_cell_deleted_meanwhile_is_not_edited_and_markup_stays_text(failed):
    for index in (VICTIM, OTHER, QUEUE):
        failed.run(index)
    failed.start(HOSTILE)
    expect(failed.output(HOSTILE)).to_contain_text("Two changes", timeout=TIMEOUT)
    failed.cells.nth(VICTIM).locator(".jp-InputPrompt").click()  # select it (command mode), then delete it
    failed.page.keyboard.press("Escape")
    failed.page.keyboard.press("d")
    failed.page.keyboard.press("d")
    other, hostile = OTHER - 1, HOSTILE - 1
    expect(failed.cells).to_have_count(len(CELLS) - 1)
    failed.wait(hostile)
    expect(failed.page.get_by_text("which is no longer in this notebook")).to_be_visible(timeout=TIMEOUT)
    proposal = bar(failed, other, "proposal")
    expect(proposal.locator(".jp-ClaudeMagic-added")).to_contain_text("<img src=x onerror=alert(1)>")
    expect(proposal.locator("img")).to_have_count(0)
    expect(failed.page.locator(".jp-ClaudeMagic-proposal")).to_have_count(1)
    proposal.get_by_role("button", name="Reject").click()
    assert source(failed, other) == "other = len(In) - 1"


def test_a_reloaded_page_finds_the_magic_and_answers_stream_through_its_renderer(failed):
    # The magic's comm opened before this page existed: the page finds it by asking the kernel (comm info).
    failed.save()
    failed.count = len(CELLS) - 1  # the cell deleted above
    failed.page.wait_for_timeout(1000)
    failed.reopen()
    failed.page.evaluate("""() => {
      window.__streams = 0;
      new MutationObserver(records => {
        for (const record of records) for (const node of record.addedNodes)
          if (node.nodeType === 1 && (node.matches('.jp-ClaudeMagic-stream') || node.querySelector('.jp-ClaudeMagic-stream'))) window.__streams++;
      }).observe(document.body, {childList: true, subtree: true});
    }""")
    failed.run(FAILING)
    failure = bar(failed, FAILING, "failure")
    expect(failure.get_by_role("button", name="Explain")).to_be_visible(timeout=TIMEOUT)
    failure.get_by_role("button", name="Explain").click()
    expect(failed.output(FAILING).locator("sub")).to_contain_text("end_turn", timeout=TIMEOUT)
    assert failed.page.evaluate("window.__streams") >= 1  # streamed by the renderer, not a widget
    expect(failed.output(FAILING).locator(".jp-ClaudeMagic-stream")).to_have_count(0)  # static at the end
