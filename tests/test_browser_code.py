"""`%%claude --code` in a real JupyterLab 4 and Notebook 7: the answer's code becomes a new cell below.

IPython's `set_next_input` payload is turned into a cell by the frontend only, so only a browser can
show it: the new cell must sit right under the magic cell (not replace it, not at the end), hold the
code without the fences or the prose, run, and be saved with the notebook.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from browser_support import FRONTENDS, NotebookPage, open_notebook, poll
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

CODE = 'marker = "OFFERED-" + "CELL"\nprint(marker)'
ANSWER = f"Here you are:\n\n```python\n{CODE}\n```\n\nRun it below."
ASK = "%%claude --code\nPrint a marker."
AFTER = "after = 1"
CELLS = [
    (
        "%load_ext claude_magic\n%config ClaudeMagics.simulator_pace = 0\nimport claude_magic\n"
        "from claude_magic.simulator import Reply\n"
        f"claude_magic.offline_simulator().queue(Reply.text({ANSWER!r}))"
    ),
    ASK,
    AFTER,
]
SETUP, MAGIC, LAST = range(len(CELLS))


@pytest.fixture(scope="module", params=FRONTENDS, ids=lambda frontend: frontend.name)
def notebook(request, browser, tmp_path_factory):
    with open_notebook(browser, request.param, tmp_path_factory.mktemp(request.param.name), "code.ipynb",
                       CELLS) as page:
        yield page


def source_of(notebook: NotebookPage, index: int) -> str:
    """What a cell's editor shows (CodeMirror draws one `.cm-line` per line)."""
    lines = notebook.cells.nth(index).locator(".jp-InputArea-editor .cm-line")
    return "\n".join(lines.all_inner_texts()).replace("\u200b", "")


def test_the_code_appears_as_a_new_cell_right_below_the_magic_cell(notebook):
    notebook.run(SETUP)
    notebook.run(MAGIC)
    expect(notebook.output(MAGIC).locator("sub")).to_contain_text("end_turn")
    expect(notebook.output(MAGIC)).to_contain_text("↓ 2 lines of code offered as a new cell below.")
    expect(notebook.cells).to_have_count(len(CELLS) + 1)
    assert source_of(notebook, MAGIC) == ASK
    assert source_of(notebook, MAGIC + 1) == CODE
    assert source_of(notebook, LAST + 1) == AFTER
    assert "jp-CodeCell" in notebook.cells.nth(MAGIC + 1).get_attribute("class").split()  # not markdown


def test_the_new_cell_runs_and_is_saved_with_the_notebook(notebook):
    notebook.run(MAGIC + 1)
    expect(notebook.output(MAGIC + 1)).to_have_text("OFFERED-CELL")
    notebook.save()
    saved = poll(lambda: _sources(notebook.file), lambda sources: sources is not None and len(sources) == 4, 30,
                 f"four cells in the saved {notebook.file.name}")
    assert saved == [CELLS[SETUP], ASK, CODE, AFTER]


def _sources(path: Path) -> list[str] | None:
    try:
        return [cell.source for cell in nbformat.read(path, as_version=4).cells]
    except (OSError, ValueError):  # caught in the middle of a save
        return None
