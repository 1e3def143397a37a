"""`%%claude --edit` without the notebook extension, in a real InteractiveShell: proposals as diffs and a
new cell below; and every proposal a hostile (or mistaken) Claude could make.

Cells run numbered, as in a notebook; scripted replies make the simulator call the edit tool with the
inputs under test, and what Claude was told comes back in the next request's tool_result.
"""

from __future__ import annotations

import pytest
from conftest import error_text
from IPython.utils.capture import capture_output

from claude_magic.edits import EDIT_TOOL
from claude_magic.simulator import Reply


def numbered(nb, source: str, cell_id: str | None = None) -> int:
    number = nb.shell.execution_count
    nb.shell.run_cell(source, store_history=True, cell_id=cell_id)
    return number


def ask(nb, prompt: str):
    with capture_output() as captured:
        nb.shell.run_cell(f"%%claude --edit\n{prompt}", store_history=True)
    return captured


def shown(captured) -> str:
    return "\n".join(o.data.get("text/markdown", "") for o in captured.outputs) + captured.stdout


def results(nb) -> list[dict]:
    """The tool results Claude was sent in the last request."""
    content = nb.requests[-1]["body"]["messages"][-1]["content"]
    return [block for block in content if block.get("type") == "tool_result"]


@pytest.fixture
def loop(nb):
    nb.shell.rl_next_input = None
    yield nb
    nb.shell.rl_next_input = None


def test_the_simulator_proposes_and_the_answer_shows_a_diff_and_offers_the_cell(loop):
    number = numbered(loop, "def area(r):\n    return 3.14 * r * r   ")
    captured = ask(loop, f"Tidy cell [{number}].")
    body = loop.requests[0]["body"]
    assert EDIT_TOOL in [tool["name"] for tool in body["tools"]]
    assert f"[{number}]:\n```python\ndef area(r):" in body["messages"][-1]["content"][0]["text"]  # it sees the cells
    text = shown(captured)
    assert f"✎ Proposed new version of cell [{number}]" in text
    assert "```diff\n--- cell" in text and "-    return 3.14 * r * r   " in text and "+    return 3.14 * r * r\n" in text
    assert loop.shell.rl_next_input.endswith("def area(r):\n    return 3.14 * r * r")
    assert "↓ The new version offered as a new cell below" in captured.stdout
    assert loop.shell.user_ns["In"][number] == "def area(r):\n    return 3.14 * r * r   "  # nothing changed


def test_a_proposal_for_a_missing_cell_or_a_claude_cell_is_refused_to_claude(loop):
    numbered(loop, "x = 1")
    asking = numbered(loop, "%%claude\nHello")
    loop.sim.queue(Reply.tool_use(EDIT_TOOL, {"cell": "[99]", "source": "y = 2"}),
                   Reply.tool_use(EDIT_TOOL, {"cell": f"[{asking}]", "source": "print('hi')"}),
                   Reply.tool_use(EDIT_TOOL, {"cell": "no-such-id", "source": "z = 3"}),
                   Reply.tool_use(EDIT_TOOL, {"cell": "[1]", "source": 42}),
                   Reply.text("Sorry, none of those worked."))
    captured = ask(loop, "Change things.")
    told = [block for request in loop.requests[-4:] for block in
            request["body"]["messages"][-1]["content"] if block.get("type") == "tool_result"]
    assert all(block.get("is_error") for block in told)
    assert "there is no cell [99]" in told[0]["content"]
    assert f"cell [{asking}] asks Claude (%%claude)" in told[1]["content"]
    assert "no cell with id 'no-such-id'" in told[2]["content"]
    assert "`source` must be the cell's whole new source" in told[3]["content"]
    assert "Proposed new version" not in shown(captured) and loop.shell.rl_next_input is None


def test_two_proposals_for_one_cell_keep_the_second(loop):
    number = numbered(loop, "total = 0")
    loop.sim.queue(Reply(content=({"type": "tool_use", "name": EDIT_TOOL, "input": {"cell": f"[{number}]", "source": "total = 1"}},
                                  {"type": "tool_use", "name": EDIT_TOOL, "input": {"cell": str(number), "source": "total = 2"}})),
                   Reply.text("Done."))
    captured = ask(loop, "Change it twice.")
    told = results(loop)
    assert "replaces your earlier proposal" in told[1]["content"]
    assert shown(captured).count("✎ Proposed new version") == 1
    assert loop.shell.rl_next_input == "total = 2"


def test_markup_in_a_proposed_source_stays_code(loop):
    number = numbered(loop, "html = ''")
    evil = "html = '<script>alert(1)</script><img src=x onerror=alert(2)>'\n```\n# not a fence end\n````"
    loop.sim.queue(Reply.tool_use(EDIT_TOOL, {"cell": f"[{number}]", "source": evil}), Reply.text("Done."))
    captured = ask(loop, "Make it fancy.")
    diff = [o.data["text/markdown"] for o in captured.outputs if "Proposed new version" in o.data.get("text/markdown", "")]
    (text,) = diff
    fence = text.split("\n")[2]
    assert fence == "`````diff"  # longer than any run of backticks inside: nothing in the source can close it
    assert text.rstrip().endswith("`````") and text.index("<script>") > text.index(fence)


def test_edit_needs_cells_and_does_not_go_with_map(loop):
    loop.shell.history_manager.reset(new_session=True)  # a fresh kernel: no cell has run
    loop.shell.execution_count = 1
    captured = ask(loop, "Fix everything.")
    assert "--edit: no code cell has run before this one yet" in error_text(captured)
    assert "Traceback" not in error_text(captured) and not loop.requests
    loop.shell.user_ns["xs"] = [1, 2]
    with capture_output() as captured:
        loop.shell.run_cell("%%claude --edit --map xs\nAbout {item}")
    assert "--edit proposes edits of the notebook's cells in one answer" in error_text(captured)
