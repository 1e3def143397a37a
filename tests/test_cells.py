"""The notebook in the loop: cells, outputs and errors go into prompts; answers come out as new cells.

Cells run numbered (store_history=True) in a real InteractiveShell, so the post_run_cell hook records
them as a kernel would; what reached the simulator and the shell's next input are what is checked.
"""

from __future__ import annotations

import pytest
from conftest import error_text, final_markdown
from IPython.utils.capture import capture_output

import claude_magic
from claude_magic.prompt import CODE_INSTRUCTION
from claude_magic.simulator import Reply

FIXED = "It divides by zero.\n\n```python\ndef f():\n    return 1 / 1\nf()\n```\n\nThat is all."


def numbered(nb, source: str, cell_id: str | None = None) -> int:
    """Run a code cell as a notebook does (it gets an execution count); returns its number."""
    number = nb.shell.execution_count
    nb.shell.run_cell(source, store_history=True, cell_id=cell_id)
    return number


def sent(nb) -> str:
    content = nb.requests[-1]["body"]["messages"][-1]["content"]
    return content if isinstance(content, str) else content[-1]["text"]


@pytest.fixture
def loop(nb):
    nb.shell.rl_next_input = None
    yield nb
    nb.shell.rl_next_input = None


def test_the_hook_is_registered_once_and_removed_on_unload(loop):
    hooks = lambda: [f for f in loop.shell.events.callbacks["post_run_cell"]
                     if getattr(f, "__name__", "") == "after_cell"]
    assert len(hooks()) == 1
    loop.shell.run_line_magic("reload_ext", "claude_magic")
    assert len(hooks()) == 1
    loop.shell.run_line_magic("unload_ext", "claude_magic")
    assert hooks() == []
    loop.shell.run_line_magic("load_ext", "claude_magic")


# ---- %claude explain and fix

def test_explain_sends_the_failed_cell_not_the_last_one(loop):
    failed = numbered(loop, "def f():\n    return 1 / 0\nf()")
    numbered(loop, "x = 2")
    _, captured = loop.run("%claude explain")
    prompt = sent(loop)
    assert f"Cell [{failed}]:\n```python\ndef f():\n    return 1 / 0\nf()\n```" in prompt
    assert "x = 2" not in prompt
    assert f'File "Cell In[{failed}]", line 2, in f' in prompt and "ZeroDivisionError: division by zero" in prompt
    assert "\x1b[" not in prompt and "interactiveshell.py" not in prompt
    assert final_markdown(captured).startswith("## ")
    assert loop.shell.rl_next_input is None  # explain offers no cell


def test_the_failed_cell_is_sent_verbatim_never_interpolated(loop):
    loop.ns["db_password"] = "hunter2"
    numbered(loop, 'template = "user={db_password}"\nraise ValueError(template + " {db_password}")')
    loop.run("%claude explain")
    prompt = sent(loop)
    assert 'template = "user={db_password}"' in prompt and "ValueError: user={db_password} {db_password}" in prompt
    assert "hunter2" not in str(loop.requests[-1]["body"])


def test_a_syntax_error_is_a_failure_too(loop):
    failed = numbered(loop, "x = (")
    loop.run("%claude explain")
    assert f'File "Cell In[{failed}]", line 1' in sent(loop) and "SyntaxError" in sent(loop)


def test_fix_explains_offers_the_corrected_cell_and_records_the_source(loop):
    numbered(loop, "def f():\n    return 1 / 0\nf()")
    loop.sim.queue(Reply.text(FIXED), Reply.text("Try this instead."))
    _, captured = loop.run("%claude fix")
    body = loop.requests[-1]["body"]
    assert body["system"] == CODE_INSTRUCTION and "give the whole corrected cell" in sent(loop)
    assert loop.shell.rl_next_input == "def f():\n    return 1 / 1\nf()"
    assert captured.stdout == "↓ 3 lines of code offered as a new cell below.\n"
    assert final_markdown(captured).startswith(FIXED)
    loop.run("%%claude\nThat didn't work either.")
    history = loop.requests[-1]["body"]["messages"]
    assert "return 1 / 0" in history[0]["content"] and history[1]["content"][0]["text"] == FIXED
    assert history[2] == {"role": "user", "content": "That didn't work either."}


def test_fix_takes_the_chat_and_system_options(loop):
    numbered(loop, "1 / 0")
    loop.sim.queue(Reply.text(FIXED))
    loop.run('%claude fix --chat debug -s "Be terse."')
    assert loop.requests[-1]["body"]["system"] == f"Be terse.\n\n{CODE_INSTRUCTION}"
    assert len(claude_magic.history("debug")) == 2 and claude_magic.history() == []


def test_fix_with_nothing_failed_or_already_fixed_is_one_line(loop):
    loop.magics.cells.runs.clear()
    _, captured = loop.run("%claude fix")
    assert "No cell has failed since `%load_ext claude_magic`" in error_text(captured)
    numbered(loop, "%%claude --frobnicate\nhi")  # a failed question is not a failed cell
    failed = numbered(loop, "1 / 0", cell_id="cell-a")
    again = numbered(loop, "1 / 1", cell_id="cell-a")
    result, captured = loop.run("%claude fix")
    shown = error_text(captured).strip()
    assert shown.endswith(f"Cell [{failed}] failed, but it ran without error since (as [{again}]): nothing to fix.")
    assert len(shown.splitlines()) == 1 and result.error_in_exec is not None
    assert loop.requests == [] and loop.shell.rl_next_input is None


# ---- {In[N]}, {Out[N]}, {Err[N]}

def test_cell_references_are_replaced_by_source_output_and_error(loop):
    source = numbered(loop, 'secret = "{db_password}"\nwords = ["a", "b"]')
    output = numbered(loop, "words * 2")
    failed = numbered(loop, "words[5]")
    loop.run(f"%%claude\nSource: {{In[{source}]}}\nOut: {{Out[{output}]}}\nErr: {{Err[{failed}]}}")
    assert sent(loop) == (
        'Source: secret = "{db_password}"\nwords = ["a", "b"]\n'
        "Out: ['a', 'b', 'a', 'b']\n"
        f'Err: Traceback (most recent call last):\n  File "Cell In[{failed}]", line 1, in <module>\n'
        "    words[5]\n    ~~~~~^^^\nIndexError: list index out of range"
    )


def test_negative_references_count_back_from_this_cell(loop):
    numbered(loop, "1 / 0")
    output = numbered(loop, "'the output'")
    last_error = numbered(loop, "undefined_name")
    previous = numbered(loop, "y = 3")
    loop.run("%%claude\n{In[-1]} | {Out[-1]} | {Err[-1]} | {Err[-2]}")
    prompt = sent(loop)
    assert prompt.startswith("y = 3 | 'the output' | Traceback")
    assert f"Cell In[{last_error}]" in prompt and "NameError: name 'undefined_name' is not defined" in prompt
    assert prompt.endswith("ZeroDivisionError: division by zero")
    assert previous == output + 2


def test_other_expressions_and_missing_cells_stay_verbatim(loop):
    number = numbered(loop, "a = 1")
    text = "{a.b} {x[0]} {In[0].__class__} {In[ 1]} {Out[1][0]} {In[99999]}"
    _, captured = loop.run("%%claude\n" + text)
    assert sent(loop) == text
    assert "there is no cell [99999] for {In[99999]}, so it is sent as written" in captured.stderr
    loop.run(f"%%claude --no-interp\n{{In[{number}]}}")
    assert sent(loop) == f"{{In[{number}]}}"


def test_long_outputs_and_errors_are_cut_like_context(loop):
    loop.magics.context_chars = 100
    output = numbered(loop, "'x' * 5000")
    failed = numbered(loop, "raise ValueError('start ' + 'y' * 5000 + ' end')")
    loop.run(f"%%claude\n{{Out[{output}]}}\n---\n{{Err[{failed}]}}")
    out, err = sent(loop).split("\n---\n")
    assert out.startswith("'xxx") and out.endswith("(4,902 more characters not shown)")
    assert err.startswith("Traceback") and err.endswith("y end") and "characters not shown) …" in err


@pytest.mark.parametrize(
    "reference, expected",
    [
        ("{Err[OK]}", "cell [OK] did not fail."),
        ("{Out[OK]}", "cell [OK] has no Out value"),
        ("{Err[-50]}", "{Err[-50]}: only"),
    ],
)
def test_references_to_the_wrong_kind_of_cell_are_one_line(loop, reference, expected):
    ok = numbered(loop, "z = 1")
    result, captured = loop.run("%%claude\n" + reference.replace("OK", str(ok)))
    shown = error_text(captured).strip()
    assert expected.replace("OK", str(ok)) in shown and len(shown.splitlines()) == 1
    assert result.error_in_exec is not None and loop.requests == []


# ---- --code

def test_code_asks_for_code_and_offers_only_the_code_as_the_next_cell(loop):
    loop.sim.queue(Reply.text("Here:\n\n```python\nimport math\n```\n\nand\n\n```python\nprint(math.pi)\n```\n"
                              "```\n3.14\n```"))
    _, captured = loop.run("%%claude --code\nPrint pi.")
    assert loop.requests[-1]["body"]["system"] == CODE_INSTRUCTION
    assert loop.shell.rl_next_input == "import math\n\nprint(math.pi)"
    assert captured.stdout == "↓ 3 lines of code offered as a new cell below.\n"
    assert claude_magic.history()[0] == {"role": "user", "content": "Print pi."}


def test_code_composes_with_the_system_prompt_and_the_configured_one(loop):
    loop.run('%%claude --code -s "Use numpy."\nsum')
    assert loop.requests[-1]["body"]["system"] == f"Use numpy.\n\n{CODE_INSTRUCTION}"
    loop.magics.system = "Answer in French."
    loop.run("%%claude --code\nsum")
    assert loop.requests[-1]["body"]["system"] == f"Answer in French.\n\n{CODE_INSTRUCTION}"
    loop.run("%%claude\nsum")
    assert loop.requests[-1]["body"]["system"] == "Answer in French."


def test_code_without_a_code_block_adds_a_note_and_no_cell(loop):
    loop.sim.queue(Reply.text("I cannot write that as code."))
    result, captured = loop.run("%%claude --code\nDraw me a sheep.")
    assert result.error_in_exec is None and loop.shell.rl_next_input is None
    assert captured.stdout == "No Python code block in this answer, so no new cell was added.\n"
    assert final_markdown(captured).startswith("I cannot write that as code.")


def test_code_offers_nothing_when_the_answer_fails(loop):
    loop.sim.queue(Reply.http_error(400, message="bad"))
    result, _ = loop.run("%%claude --code\nhi")
    assert result.error_in_exec is not None and loop.shell.rl_next_input is None


def test_code_from_python_and_with_count(loop):
    loop.sim.queue(Reply.text("```python\nprint('from ask')\n```"))
    claude_magic.ask("print something", code=True)
    assert loop.shell.rl_next_input == "print('from ask')"
    loop.shell.rl_next_input = None
    _, captured = loop.run("%%claude --code --count\nprint something else")
    counted = [r for r in loop.sim.requests if r["path"] == "/v1/messages/count_tokens"][-1]["body"]
    assert counted["system"] == CODE_INSTRUCTION and loop.shell.rl_next_input is None
    assert len(loop.requests) == 1 and "would be sent" in final_markdown(captured)


def test_stop_during_a_code_answer_offers_nothing_and_is_no_failed_cell(loop):
    import os
    import signal
    import threading

    loop.run("%%claude --no-history\nwarm up")  # the SDK's first import is no place for this Stop
    loop.magics.cells.runs.clear()
    loop.magics.simulator_pace = 20  # 50 ms a word: the Stop lands mid-answer
    loop.sim.queue(Reply.text("```python\n" + "\n".join(f"x{i} = {i}" for i in range(100)) + "\n```"))
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    with capture_output():
        numbered(loop, "%%claude --code\nmany assignments")
    timer.join()
    loop.magics.simulator_pace = 0
    assert loop.shell.rl_next_input is None and loop.ns["last_message"].stop_reason is None
    _, captured = loop.run("%claude fix")
    assert "No cell has failed" in error_text(captured)


def test_code_does_not_go_with_map(loop):
    loop.ns["items"] = ["a"]
    _, captured = loop.run("%%claude --code --map items\n{item}")
    assert "--code puts one answer's code into a new cell" in error_text(captured)
    assert loop.requests == []


# ---- --cells

def test_cells_sends_the_last_code_cells_with_outputs_and_errors(loop):
    numbered(loop, "too_old = 1")
    first = numbered(loop, "data = [3, 1, 2]\nsorted(data)")
    numbered(loop, "%%claude --frobnicate\nignored")
    second = numbered(loop, "data.sortt()")
    _, captured = loop.run("%%claude --cells 2\nWhat went wrong?")
    context, prompt = loop.requests[-1]["body"]["messages"][-1]["content"]
    assert prompt == {"type": "text", "text": "What went wrong?"}
    assert context["text"].endswith(
        f"[{first}]:\n```python\ndata = [3, 1, 2]\nsorted(data)\n```\nOut[{first}]:\n```\n[1, 2, 3]\n```\n\n"
        f"[{second}]:\n```python\ndata.sortt()\n```\n"
        "Error: AttributeError: 'list' object has no attribute 'sortt'"
    )
    assert "too_old" not in context["text"] and "ignored" not in context["text"]
    assert f"context: cells \\[{first}\\], \\[{second}\\]" in final_markdown(captured)  # shown as text, not links


def test_cells_without_n_keeps_the_newest_within_cells_chars(loop):
    numbers = [numbered(loop, f"step_{i} = {i}  # {'.' * 60}") for i in range(8)]
    loop.magics.cells_chars = 300
    _, captured = loop.run("%%claude --cells\nsummarise")
    text = loop.requests[-1]["body"]["messages"][-1]["content"][0]["text"]
    assert "step_7" in text and "step_6" in text and "step_0" not in text
    kept = [n for n in numbers if f"[{n}]:" in text]
    assert kept == numbers[-len(kept):] and len(kept) < 8 and len(text) <= 300
    assert "older left out: cells_chars" in final_markdown(captured)


@pytest.mark.parametrize("flag, expected", [("--cells 0", "--cells 0: give a number of cells of at least 1"),
                                            ("--cells -2", "--cells -2: give a number"),
                                            ("--cells many", "argument --cells: give a number of cells, or nothing for all (not 'many')")])
def test_bad_cells_is_one_line(loop, flag, expected):
    numbered(loop, "a = 1")
    _, captured = loop.run(f"%%claude {flag}\nhi")
    shown = error_text(captured).strip()
    assert expected in shown and len(shown.splitlines()) <= 2 and loop.requests == []


def test_in_a_kernel_the_code_is_a_set_next_input_payload_below_the_cell(monkeypatch):
    """What JupyterLab and Notebook 7 turn into a new cell: the execute_reply's payload (replace=False)."""
    from jupyter_client.manager import start_new_kernel

    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    manager, client = start_new_kernel(kernel_name="python3")
    try:
        def run(source: str) -> dict:
            reply = client.execute_interactive(source, timeout=60, output_hook=lambda message: None)
            assert reply["content"]["status"] == "ok", reply["content"]
            return reply["content"]

        run("%load_ext claude_magic\n%config ClaudeMagics.simulator_pace = 0\n"
            "from claude_magic.simulator import Reply\nimport claude_magic\n"
            "claude_magic.offline_simulator().queue(Reply.text('Sure:\\n```python\\nprint(42)\\n```'))")
        assert run("%%claude --code\nPrint 42.")["payload"] == [
            {"source": "set_next_input", "text": "print(42)", "replace": False}]
        assert run("x = 1")["payload"] == []
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def test_code_cut_at_max_tokens_is_offered_marked_incomplete_never_as_whole(loop):
    from claude_magic.cells import CUT_CODE

    loop.sim.queue(Reply.text("Here:\n\n```python\nimport os\nfor name in os.listdir():\n    print(name)\n"
                              "os.remove('x')\n```\n\nDone."))
    result, captured = loop.run("%%claude --code --max-tokens 8\nList files.")
    assert result.error_in_exec is None, error_text(captured)
    assert loop.ns["last_message"].stop_reason == "max_tokens"
    offered = loop.shell.rl_next_input
    assert offered.startswith(CUT_CODE + "\nimport os\nfor name in os.listdir():") and "os.remove" not in offered
    assert "cut at max_tokens inside its code" in captured.stdout and "offered as a new cell" not in captured.stdout


def test_code_whose_block_closed_before_max_tokens_is_offered_whole(loop):
    loop.sim.queue(Reply.text("```python\nx = 1\n```\n\nAnd now a long explanation of what x is for."))
    loop.run("%%claude --code --max-tokens 6\nSet x.")
    assert loop.ns["last_message"].stop_reason == "max_tokens"
    assert loop.shell.rl_next_input == "x = 1"
