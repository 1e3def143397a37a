"""--run: Claude runs Python in the notebook with the user's approval, through a real shell and the simulator."""

from __future__ import annotations

import base64
import builtins
import os
import re
import signal
import threading
import time

import pytest
from conftest import error_text, final_markdown
from IPython.core.error import StdinNotImplementedError

import claude_magic
from claude_magic.approval import PROMPT
from claude_magic.run_tool import NO_STDIN
from claude_magic.simulator import Reply

CODE = "total = sum(range(5))\nprint('sum is', total)\ntotal * 2"
HEADER = "# Code Claude ran in cell ["


class User:
    """Answers `input()` as a user would, one reply per question, and keeps what the page showed when asked."""

    def __init__(self, nb, monkeypatch, *replies):
        self.nb = nb
        self.replies = list(replies)
        self.prompts: list[str] = []
        self.shown_when_asked: list[str] = []
        monkeypatch.setattr(builtins, "input", self)

    def __call__(self, prompt=""):
        self.prompts.append(prompt)
        outputs = getattr(self.nb.shell.display_pub, "outputs", [])
        self.shown_when_asked.append(outputs[-1]["data"].get("text/markdown", "") if outputs else "")
        if not self.replies:
            raise AssertionError(f"asked once too often: {prompt!r}")
        reply = self.replies.pop(0)
        if isinstance(reply, (BaseException, type)):
            raise reply
        return reply


@pytest.fixture(autouse=True)
def fresh(nb):
    nb.shell.rl_next_input = None
    yield
    nb.shell.rl_next_input = None
    for name in ("total", "reached", "words", "lengths", "later"):
        nb.ns.pop(name, None)


def tool_results(nb, request=1):
    return nb.requests[request]["body"]["messages"][-1]["content"]


def test_approved_code_runs_in_the_notebook_and_claude_reads_what_it_did(nb, monkeypatch):
    user = User(nb, monkeypatch, "y")
    nb.sim.queue(Reply.tool_use("run_python", {"code": CODE}, text="Let me add them up."),
                 Reply.text("The sum is 10, twice that is 20."))
    result, captured = nb.run("%%claude --run\nWhat is the sum of 0..4?")
    assert result.error_in_exec is None, error_text(captured)
    assert user.prompts == [PROMPT]
    assert "```python\n" + CODE + "\n```" in user.shown_when_asked[0]  # the whole code, before asking
    assert "waits for your answer below" in user.shown_when_asked[0]
    assert nb.ns["total"] == 10  # the notebook's namespace
    tool = nb.requests[0]["body"]["tools"][0]
    assert tool["name"] == "run_python" and tool["input_schema"]["required"] == ["code"]
    [sent] = tool_results(nb)
    assert sent["content"] == [{"type": "text", "text": "sum is 10\nOut: 20"}] and "is_error" not in sent
    shown = final_markdown(captured)
    order = ["Let me add them up.", "🔧 `run_python`", "```python\n" + CODE, "↳ output:",
             "```\nsum is 10\nOut: 20\n```", "The sum is 10, twice that is 20.", "1 tool round"]
    assert [shown.index(part) for part in order] == sorted(shown.index(part) for part in order)
    # The code that ran is offered as one cell below, headed by a comment; a line under the answer says so.
    assert nb.shell.rl_next_input == f"{HEADER}{nb.shell.execution_count}] (%%claude --run), in order.\n\n{CODE}"
    assert "↓ the code Claude ran (5 lines) is offered as a new cell below." in captured.stdout
    assert [m.stop_reason for m in nb.ns["last_exchange"]] == ["tool_use", "end_turn"]


def test_all_runs_the_rest_of_the_cell_without_asking_again(nb, monkeypatch):
    user = User(nb, monkeypatch, "a")
    nb.sim.queue(Reply.tool_use("run_python", {"code": "total = 1"}),
                 Reply.tool_use("run_python", {"code": "total += 1\ntotal"}),
                 Reply.text("Done."))
    result, captured = nb.run("%%claude --run\nCount")
    assert result.error_in_exec is None, error_text(captured)
    assert len(user.prompts) == 1 and nb.ns["total"] == 2
    assert tool_results(nb, 2)[0]["content"][0]["text"] == "Out: 2"
    assert nb.shell.rl_next_input.endswith("in order.\n\ntotal = 1\n\ntotal += 1\ntotal")


def test_declining_with_a_reason_runs_nothing_and_claude_reads_the_reason(nb, monkeypatch):
    User(nb, monkeypatch, "use polars instead")
    nb.sim.queue(Reply.tool_use("run_python", {"code": "total = 99"}), Reply.text("Polars it is."))
    result, captured = nb.run("%%claude --run\nLoad it")
    assert result.error_in_exec is None, error_text(captured)
    assert "total" not in nb.ns
    [sent] = tool_results(nb)
    assert sent["is_error"] is True
    assert sent["content"] == "The user did not run this code, and said instead: use polars instead"
    assert nb.shell.rl_next_input is None and "offered" not in captured.stdout
    assert "Polars it is." in final_markdown(captured)


@pytest.mark.parametrize("reply", ["n", ""])
def test_no_or_enter_alone_declines(nb, monkeypatch, reply):
    User(nb, monkeypatch, reply)
    nb.sim.queue(Reply.tool_use("run_python", {"code": "total = 99"}), Reply.text("OK."))
    nb.run("%%claude --run\nLoad it")
    assert "total" not in nb.ns
    assert tool_results(nb)[0]["content"] == "The user declined to run this code."


def test_yes_runs_without_asking(nb, monkeypatch):
    user = User(nb, monkeypatch)
    nb.sim.queue(Reply.tool_use("run_python", {"code": CODE}), Reply.text("20."))
    result, captured = nb.run("%%claude --run --yes\nSum?")
    assert result.error_in_exec is None, error_text(captured) and user.prompts == []
    assert nb.ns["total"] == 10 and nb.shell.rl_next_input.endswith(CODE)


def test_ask_with_run_and_yes_runs_without_asking(nb, monkeypatch):
    user = User(nb, monkeypatch)
    nb.sim.queue(Reply.tool_use("run_python", {"code": CODE}), Reply.text("20."))
    result, captured = nb.run("import claude_magic\nm = claude_magic.ask('Sum?', run=True, yes=True)")
    assert result.error_in_exec is None, error_text(captured)
    assert user.prompts == [] and nb.ns["total"] == 10 and nb.ns["m"].stop_reason == "end_turn"


def test_without_stdin_nothing_runs_claude_is_told_and_a_line_says_to_use_yes(nb, monkeypatch):
    user = User(nb, monkeypatch, StdinNotImplementedError("raw_input was called, but this frontend does not support "
                                                           "input requests."))
    nb.sim.queue(Reply.tool_use("run_python", {"code": "total = 1"}),
                 Reply.tool_use("run_python", {"code": "total = 2"}), Reply.text("I could not run it."))
    result, captured = nb.run("%%claude --run\nLoad it")
    assert result.error_in_exec is None, error_text(captured)
    assert len(user.prompts) == 1 and "total" not in nb.ns  # the second call is not asked either
    for request in (1, 2):
        [sent] = tool_results(nb, request)
        assert sent["is_error"] is True and "could not be asked for approval" in sent["content"]
    assert captured.stdout.strip().splitlines() == [NO_STDIN]
    assert nb.shell.rl_next_input is None


def test_an_exception_goes_back_as_an_error_with_its_traceback_and_the_cell_does_not_fail(nb, monkeypatch):
    User(nb, monkeypatch, "y")
    code = "def ratio(a, b):\n    return a / b\n\nprint('before')\nratio(1, 0)"
    nb.sim.queue(Reply.tool_use("run_python", {"code": code}), Reply.text("Division by zero; let me fix it."))
    result, captured = nb.run("%%claude --run\nRatio")
    assert result.error_in_exec is None, error_text(captured)
    [sent] = tool_results(nb)
    text = sent["content"][0]["text"]
    assert sent["is_error"] is True
    assert text.startswith("before\nTraceback (most recent call last):")
    assert "in ratio" in text and text.endswith("ZeroDivisionError: division by zero")
    assert "interactiveshell" not in text and "IPython" not in text
    assert "↳ ⚠ error:" in final_markdown(captured) and "Traceback" not in captured.stderr
    assert nb.shell.rl_next_input is None  # it did not run without error: nothing to offer


def test_huge_output_is_cut_to_run_output_chars_keeping_its_start_and_end(nb, monkeypatch):
    User(nb, monkeypatch, "y")
    nb.magics.run_output_chars = 1000
    nb.sim.queue(Reply.tool_use("run_python", {"code": "print('START' + 'x' * 50_000 + 'END')"}), Reply.text("Long."))
    result, captured = nb.run("%%claude --run\nPrint a lot")
    assert result.error_in_exec is None, error_text(captured)
    text = tool_results(nb)[0]["content"][0]["text"]
    assert text.startswith("START") and text.endswith("END")
    assert "(49,008 characters not shown)" in text and len(text) < 1100


def test_a_figure_goes_back_as_an_image_and_appears_in_the_transcript(nb, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    User(nb, monkeypatch, "y")
    code = "import matplotlib.pyplot as plt\nplt.plot([1, 3, 2])\nplt.title('rise')\nprint('drawn')"
    nb.sim.queue(Reply.tool_use("run_python", {"code": code}), Reply.text("The line rises, then falls."))
    result, captured = nb.run("%%claude --run\nPlot it")
    assert result.error_in_exec is None, error_text(captured)
    text, image = tool_results(nb)[0]["content"]
    assert text == {"type": "text", "text": "drawn"}
    assert image["type"] == "image" and image["source"]["media_type"] == "image/png"
    assert base64.b64decode(image["source"]["data"]).startswith(b"\x89PNG")
    assert plt.get_fignums() == []  # closed once captured
    shown = final_markdown(captured)
    assert f"![figure](data:image/png;base64,{image['source']['data']})" in shown
    assert shown.index("drawn") < shown.index("![figure]") < shown.index("The line rises")
    assert "base64" not in captured.outputs[-1].data["text/plain"]  # a text frontend is told, not flooded


SLOW = "reached = 0\nprint('started')\nimport time\nfor _ in range(200):\n    time.sleep(0.05)\n    reached += 1\nlater = True"


def stop_after(seconds):
    timer = threading.Timer(seconds, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    return timer


def test_stop_while_code_runs_stops_it_and_the_loop_and_keeps_the_transcript(nb, monkeypatch):
    User(nb, monkeypatch, "y")
    nb.sim.queue(Reply.tool_use("run_python", {"code": SLOW}, text="This takes a while."),
                 Reply.text("never asked"))
    timer = stop_after(0.5)
    started = time.monotonic()
    result, captured = nb.run("%%claude --run\nSlow work")
    elapsed = time.monotonic() - started
    timer.join()
    assert isinstance(result.error_in_exec, KeyboardInterrupt)
    # Stopped 0.5 s into 10 s of work: it and the loop end at once, and nothing after the Stop ran.
    assert elapsed < 8 and 0 < nb.ns["reached"] < 200 and "later" not in nb.ns
    assert len(nb.requests) == 1  # the loop stopped too
    shown = final_markdown(captured)
    assert "This takes a while." in shown and "time.sleep(0.05)" in shown and "⏹ stopped" in shown
    assert "stopped by you" in error_text(captured) and "Traceback" not in error_text(captured)
    assert "⏹ Stopped while the code ran; it had printed:\nstarted" in captured.stdout
    assert nb.shell.rl_next_input is None


def test_after_a_stop_the_next_cell_sends_a_valid_history(nb, monkeypatch):
    User(nb, monkeypatch, "y", "y")
    nb.sim.queue(Reply.tool_use("run_python", {"code": "total = 1"}), Reply.text("One."))
    nb.run("%%claude --run\nFirst")
    nb.sim.queue(Reply.tool_use("run_python", {"code": SLOW}), Reply.text("Fresh answer."))
    timer = stop_after(0.5)
    nb.run("%%claude --run\nSecond")  # stopped inside the second call's code
    timer.join()
    result, captured = nb.run("%%claude\nAnd now?")
    assert result.error_in_exec is None, error_text(captured)
    messages = nb.requests[-1]["body"]["messages"]
    # The stopped exchange is not recorded: the history is the first cell's, then the new prompt.
    assert messages[0]["content"] == "First" and messages[-1] == {"role": "user", "content": "And now?"}
    assert not any(isinstance(m["content"], str) and m["content"] == "Second" for m in messages)
    assert "Fresh answer." in final_markdown(captured)


def test_stop_at_the_question_runs_nothing(nb, monkeypatch):
    User(nb, monkeypatch, KeyboardInterrupt)
    nb.sim.queue(Reply.tool_use("run_python", {"code": "total = 1"}), Reply.text("never asked"))
    result, captured = nb.run("%%claude --run\nSum")
    assert isinstance(result.error_in_exec, KeyboardInterrupt) and "total" not in nb.ns
    assert len(nb.requests) == 1 and "⏹ stopped" in final_markdown(captured)


def test_the_simulator_calls_the_run_tool_and_explains_what_it_did(nb, monkeypatch):
    User(nb, monkeypatch)
    result, captured = nb.run("%%claude --run --yes\nHow long are the words of this question?")
    assert result.error_in_exec is None, error_text(captured)
    assert nb.ns["lengths"]["question"] == 8
    code = nb.requests[1]["body"]["messages"][1]["content"][-1]["input"]["code"]
    assert code.startswith("words = ['How', 'long'")
    shown = final_markdown(captured)
    assert "8 words; the longest is 'question'" in shown and "I ran the code in your notebook." in shown
    assert nb.shell.rl_next_input.endswith(code)


def test_run_goes_with_tools_and_thinking(nb, monkeypatch):
    User(nb, monkeypatch, "y")
    nb.shell.run_cell("def double(x: int) -> int:\n    '''Twice x.'''\n    return 2 * x")
    nb.sim.queue(Reply.tool_use("double", {"x": 4}), Reply.tool_use("run_python", {"code": "total = 8"}),
                 Reply.text("8."))
    result, captured = nb.run("%%claude --run --tools double --thinking\nDouble 4 and keep it")
    assert result.error_in_exec is None, error_text(captured)
    assert [tool["name"] for tool in nb.requests[0]["body"]["tools"]] == ["double", "run_python"]
    assert nb.requests[0]["body"]["thinking"]["type"] in ("adaptive", "enabled")
    assert nb.ns["total"] == 8 and len(nb.ns["last_exchange"]) == 3


def test_max_tool_rounds_holds_for_runs_too(nb, monkeypatch):
    User(nb, monkeypatch)
    nb.magics.max_tool_rounds = 1
    nb.sim.queue(Reply.tool_use("run_python", {"code": "total = 1"}), Reply.tool_use("run_python", {"code": "2"}))
    _, captured = nb.run("%%claude --run --yes\nLoop")
    assert "Stopped after 1 rounds of tool calls" in error_text(captured)
    assert nb.ns["total"] == 1 and len(nb.requests) == 2


def test_code_and_output_cannot_become_markup(nb, monkeypatch):
    User(nb, monkeypatch, "y")
    code = "s = '<script>alert(1)</script> ````'\nprint(s)\n# ```"
    nb.sim.queue(Reply.tool_use("run_python", {"code": code}), Reply.text("Done."))
    _, captured = nb.run("%%claude --run\nPrint it")
    shown = final_markdown(captured)
    assert "`````python\n" + code + "\n`````" in shown
    assert "`````\n<script>alert(1)</script> ````\n`````" in shown


def test_the_terminal_shows_the_code_before_asking_and_the_output_after(nb, monkeypatch):
    User(nb, monkeypatch, "y")
    nb.magics.display = "text"
    nb.sim.queue(Reply.tool_use("run_python", {"code": CODE}), Reply.text("Twenty."))
    result, captured = nb.run("%%claude --run\nSum")
    assert result.error_in_exec is None, error_text(captured)
    printed = captured.stdout
    assert printed.index("```python\n" + CODE) < printed.index("sum is 10\nOut: 20") < printed.index("Twenty.")


@pytest.mark.parametrize("cell, expected", [
    ("%%claude --run --map xs\n{item}",
     "--run lets Claude run code in one conversation, step by step: it does not go with --map."),
    ("%%claude --yes\nhi", "--yes answers --run's questions: use it with --run."),
])
def test_combinations_that_make_no_sense_are_refused_in_one_line(nb, cell, expected):
    nb.ns["xs"] = [1, 2]
    _, captured = nb.run(cell)
    shown = error_text(captured).strip()
    assert expected in shown and "Traceback" not in shown and len(shown.splitlines()) == 1
    assert nb.requests == []


def test_aask_cannot_run_code_off_the_main_thread(nb):
    with pytest.raises(claude_magic.BadKeyword.__mro__[1]) as caught:  # BadInput
        threading_result = {}

        def worker():
            try:
                claude_magic.ask("hi", run=True, yes=True)
            except Exception as exc:  # noqa: BLE001
                threading_result["error"] = exc

        thread = threading.Thread(target=worker)
        thread.start()
        thread.join()
        raise threading_result["error"]
    assert "main thread" in str(caught.value) and nb.requests == []


def test_each_round_is_counted_in_usage(nb, monkeypatch):
    User(nb, monkeypatch)
    nb.sim.queue(Reply.tool_use("run_python", {"code": "total = 1"}), Reply.text("Done."))
    nb.run("%%claude --run --yes\nGo")
    rows = nb.session.ledger
    shown = rows._repr_markdown_()
    assert re.search(r"\b2\b", shown)  # two requests: the call, then the answer


def test_with_code_the_answers_code_follows_the_code_that_ran_in_the_one_offered_cell(nb, monkeypatch):
    User(nb, monkeypatch, "y")
    nb.sim.queue(Reply.tool_use("run_python", {"code": "total = 3"}),
                 Reply.text("Now reuse it:\n\n```python\nprint(total * 2)\n```"))
    result, captured = nb.run("%%claude --run --code\nDouble it")
    assert result.error_in_exec is None, error_text(captured)
    assert nb.shell.rl_next_input.endswith("in order.\n\ntotal = 3\n\n# Claude's answer (--code):\nprint(total * 2)")


def test_count_with_run_shows_the_run_tool_and_runs_nothing(nb, monkeypatch):
    User(nb, monkeypatch)
    result, captured = nb.run("%%claude --run --count\nHow many?")
    assert result.error_in_exec is None, error_text(captured)
    assert [r["path"] for r in nb.sim.requests if r["method"] == "POST"] == ["/v1/messages/count_tokens"]
    assert nb.sim.requests[-1]["body"]["tools"][0]["name"] == "run_python"


def test_a_reason_with_backticks_and_markup_stays_inline_code(nb, monkeypatch):
    User(nb, monkeypatch, "no, use `<img src=x onerror=alert(1)>` instead")
    nb.sim.queue(Reply.tool_use("run_python", {"code": "total = 1"}), Reply.text("OK."))
    _, captured = nb.run("%%claude --run\nGo")
    shown = final_markdown(captured)
    assert "``The user did not run this code, and said instead: no, use `<img src=x onerror=alert(1)>` instead``" \
        in shown


def test_when_the_next_request_fails_the_code_that_ran_is_still_offered_and_nothing_is_recorded(nb, monkeypatch):
    User(nb, monkeypatch)
    nb.magics.max_retries = 0
    nb.sim.queue(Reply.tool_use("run_python", {"code": "total = 5"}), Reply.http_error(500))
    _, captured = nb.run("%%claude --run --yes\nGo")
    assert "Internal server error" in error_text(captured) and "Traceback" not in error_text(captured)
    assert nb.ns["total"] == 5 and nb.shell.rl_next_input.endswith("in order.\n\ntotal = 5")
    assert nb.session.conversations["default"].messages() == []


@pytest.mark.parametrize("value", [0, -5])
def test_a_run_output_chars_below_one_is_one_line(nb, value):
    nb.magics.run_output_chars = value
    _, captured = nb.run("%%claude --run --yes\nGo")
    shown = error_text(captured).strip()
    assert shown == f"run_output_chars must be at least 1, not {value}." and nb.requests == []


def test_ask_run_takes_true_or_false_only(nb):
    _, captured = nb.run("import claude_magic\nclaude_magic.ask('hi', run='yes')")
    assert "ask(run=…) takes True or False, not 'yes'." in error_text(captured) and nb.requests == []


def test_what_running_code_prints_shows_under_it_while_it_runs_and_never_reaches_claude(nb, monkeypatch):
    User(nb, monkeypatch)
    code = "import time\nprint('step 1')\ntime.sleep(0.7)\nprint('step 2')\ntime.sleep(0.7)\nprint('step 3')"
    nb.sim.queue(Reply.tool_use("run_python", {"code": code}), Reply.text("Three steps."))
    result, captured = nb.run("%%claude --run --yes\nGo")
    assert result.error_in_exec is None, error_text(captured)
    live = [o.data["text/markdown"] for o in captured.outputs if "so far it printed" in o.data.get("text/markdown", "")]
    assert live and live[0].endswith("so far it printed:\n\n```\nstep 1\n```")
    assert any("step 1\nstep 2\n```" in shown for shown in live)
    assert tool_results(nb)[0]["content"] == [{"type": "text", "text": "step 1\nstep 2\nstep 3"}]
    assert "step" not in captured.stdout  # shown in the answer, not printed under it
