"""`%%claude --run` in a real JupyterLab 4: the question is the frontend's own input box, typing `y` and
Enter runs the code, its figure appears in the transcript, and the code that ran comes back as a cell below.
"""

from __future__ import annotations

import pytest
from browser_support import FRONTENDS, open_notebook
from playwright.sync_api import expect

pytestmark = pytest.mark.browser

CODE = ("import matplotlib.pyplot as plt\nmarker = 'RAN-' + 'HERE'\nprint(marker)\n"
        "plt.plot([1, 3, 2])\nplt.title('rise and fall')")
CELLS = [
    (
        "%load_ext claude_magic\n%config ClaudeMagics.simulator_pace = 0\nimport claude_magic\n"
        "from claude_magic.simulator import Reply\n"
        f"claude_magic.offline_simulator().queue(Reply.tool_use('run_python', {{'code': {CODE!r}}}, "
        "text='Let me plot it.'), Reply.text('The line rises, then falls.'))"
    ),
    "%%claude --run\nPlot 1, 3, 2.",
    "after = 1",
]
SETUP, MAGIC, LAST = range(len(CELLS))
LAB = next(frontend for frontend in FRONTENDS if frontend.name == "jupyterlab")


@pytest.fixture(scope="module")
def notebook(browser, tmp_path_factory):
    with open_notebook(browser, LAB, tmp_path_factory.mktemp("run"), "run.ipynb", CELLS) as page:
        yield page


def test_the_input_box_asks_y_runs_the_code_the_figure_shows_and_the_code_comes_back_below(notebook):
    notebook.run(SETUP)
    notebook.start(MAGIC)
    output = notebook.output(MAGIC)
    box = output.locator("input.jp-Stdin-input")
    expect(box).to_be_visible(timeout=30_000)
    expect(output).to_contain_text("Run this code? [y]es / [n]o / [a]ll in this cell")
    expect(output).to_contain_text("marker = 'RAN-' + 'HERE'")  # the whole code is shown before asking
    expect(output).to_contain_text("plt.title('rise and fall')")
    box.fill("y")
    box.press("Enter")
    notebook.wait(MAGIC)
    expect(output.locator("sub")).to_contain_text("end_turn")
    expect(output).to_contain_text("RAN-HERE")
    expect(output).to_contain_text("The line rises, then falls.")
    figure = output.locator("img[src^='data:image/png;base64,']")
    expect(figure).to_have_count(1)
    assert figure.evaluate("image => image.complete && image.naturalWidth > 100")  # a real picture, drawn
    expect(output).to_contain_text("is offered as a new cell below.")
    expect(notebook.cells).to_have_count(len(CELLS) + 1)
    offered = notebook.cells.nth(MAGIC + 1).locator(".jp-InputArea-editor .cm-line")
    lines = [line.replace("\u200b", "") for line in offered.all_inner_texts()]
    assert lines[0].startswith("# Code Claude ran in cell [") and "\n".join(lines[2:]) == CODE
    editor = notebook.cells.nth(LAST + 1).locator(".jp-InputArea-editor .cm-line")
    assert editor.all_inner_texts() == ["after = 1"]
