"""Cell references in a real kernel: ipykernel numbers the running cell before it runs, so `{In[-1]}`,
`{Out[-1]}`, `{Err[-1]}`, `--cells` and `%claude fix` must mean the cells before the running one.

A notebook of numbered cells is executed by nbclient in a fresh kernel (offline: the simulator answers);
its last cell prints what the simulator received.
"""

from __future__ import annotations

import json

import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

CREDENTIALS = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL")

CELLS = [
    "%load_ext claude_magic\n%config ClaudeMagics.simulator_pace = 0\n%config ClaudeMagics.display = 'text'",
    "x = 41\nx + 1",
    "1 / 0",
    "%%claude\nIn: {In[-1]} | Out: {Out[-1]} | Err: {Err[-1]}",
    "import claude_magic\nm = claude_magic.ask('What came before?', cells=1, no_history=True)",
    "%claude fix",
    "m = claude_magic.ask('{In[-1]}', no_history=True)",
    ("import time\nclass Slow:\n    armed = False\n    def __repr__(self):\n        if Slow.armed:\n"
     "            time.sleep(30)\n        return 'Slow()'\nSlow()"),
    "Slow.armed = True\nclaude_magic.showing.LIMIT = 1",
    "%%claude\nWhat is {Out[-1]}?",
    ("import json\nprint(json.dumps([r['body']['messages'][-1]['content'] for r in "
     "claude_magic.offline_simulator().requests if r['path'] == '/v1/messages']))"),
]


def text_of(content) -> str:
    return content if isinstance(content, str) else "\n".join(b.get("text", "") for b in content)


@pytest.fixture(scope="module")
def sent(tmp_path_factory):
    """What the simulator received for each asking cell, in order, from one run of the notebook."""
    with pytest.MonkeyPatch.context() as patch:
        for name in CREDENTIALS:
            patch.delenv(name, raising=False)
        folder = tmp_path_factory.mktemp("kernel")
        nb = new_notebook(cells=[new_code_cell(source) for source in CELLS])
        NotebookClient(nb, kernel_name="python3", timeout=120, allow_errors=True,
                       resources={"metadata": {"path": str(folder)}}).execute()
    assert [cell.execution_count for cell in nb.cells] == list(range(1, len(CELLS) + 1))
    printed = "".join(output.get("text", "") for output in nb.cells[-1].outputs)
    errors = [output.evalue for cell in nb.cells[3:-1] for output in cell.outputs if output.output_type == "error"]
    return [text_of(content) for content in json.loads(printed)], errors


def asked(sent, words: str) -> str:
    found = [text for text in sent[0] if words in text]
    assert found, (words, sent)
    return found[-1]


def test_every_asking_cell_ran_and_a_slow_repr_is_refused_in_the_kernel(sent):
    assert sent[1] == [("{Out[8]}: showing it as text took longer than 1 s (a slow __repr__ or __str__?), so nothing "
                        "was sent. Leave it out, or give it a quicker repr.")]


def test_negative_references_mean_the_cells_before_the_running_one(sent):
    prompt = asked(sent, "In: ")
    assert prompt.startswith("In: 1 / 0 | Out: 42 | Err: Traceback")
    assert prompt.endswith("ZeroDivisionError: division by zero")


def test_cells_from_ask_leaves_out_the_running_cell(sent):
    prompt = asked(sent, "What came before?")
    assert "[3]:\n```python\n1 / 0\n```" in prompt and "claude_magic.ask" not in prompt


def test_fix_takes_the_failed_cell_before_it(sent):
    prompt = asked(sent, "This notebook cell failed.")
    assert "Cell [3]:\n```python\n1 / 0\n```" in prompt and "ZeroDivisionError" in prompt


def test_in_minus_one_from_code_is_the_cell_above(sent):
    assert sent[0][-1] == "%claude fix"
