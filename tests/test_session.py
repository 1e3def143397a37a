"""The fault matrix: every failure keeps the partial answer, a truthful `last_message`, a valid history."""

from __future__ import annotations

import os
import signal
import socket
import threading

import pytest
from conftest import error_text, final_markdown

from claude_magic.simulator import Reply

ANSWER = "one two three four five six seven eight nine ten"


def text_of(message) -> str:
    return "".join(block.text for block in message.content if block.type == "text")


def assert_next_cell_sends_valid_history(nb, users):
    nb.sim.queue(Reply.text("fine again"))
    result, captured = nb.run("%%claude\nnext question")
    assert result.error_in_exec is None, error_text(captured)
    messages = nb.requests[-1]["body"]["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant"] * (len(messages) // 2) + ["user"]
    assert [m["content"] for m in messages if m["role"] == "user"] == [*users, "next question"]


def start_chat(nb):
    nb.sim.queue(Reply.text("Earlier answer."))
    nb.run("%%claude\nearlier question")
    return nb.ns["last_message"]


@pytest.mark.parametrize("status", [429, 529, 500, 503])
def test_transient_status_is_retried_visibly_then_answered(nb, status):
    retry_after = "2" if status == 429 else None
    nb.sim.queue(Reply.http_error(status, retry_after=retry_after), Reply.http_error(status), Reply.text(ANSWER))
    result, captured = nb.run("%%claude\nhi")
    assert result.error_in_exec is None
    statuses = [o.data["text/markdown"] for o in captured.outputs if "retrying in" in o.data["text/markdown"]]
    assert f"({status}) — retrying in" in statuses[0] and "attempt 2 of 5 — press Stop to cancel" in statuses[0]
    assert any("attempt 3 of 5" in s for s in statuses)
    # 429: retry-after 2 s honoured, then full jitter (0.5 × 2 s); others: full jitter, 0.5 × 1 s then 0.5 × 2 s
    assert nb.sleeps == ([1.0, 1.0, 1.0] if status == 429 else [0.5, 1.0])
    assert "↻ 2 retries" in final_markdown(captured)  # the saved notebook keeps a trace of the waits
    assert final_markdown(captured).startswith(ANSWER)
    assert len(nb.requests) == 3


def test_retries_give_up_after_max_retries_with_one_clear_line(nb):
    nb.magics.max_retries = 2
    previous = start_chat(nb)
    nb.sim.queue(*[Reply.http_error(529)] * 3)
    _result, captured = nb.run("%%claude\nhi")
    shown = error_text(captured)
    assert "Overloaded (529 overloaded_error) after 3 attempts" in shown and "Traceback" not in shown
    assert nb.ns["last_message"] is previous  # nothing arrived: last_message keeps its previous value
    assert_next_cell_sends_valid_history(nb, ["earlier question"])


@pytest.mark.parametrize("status, name", [(408, "The request timed out at the server"), (409, "Conflict"),
                                          (502, "Server error")])
def test_one_status_table_retries_counts_down_and_explains_alike(nb, status, name):
    nb.magics.max_retries = 1
    nb.sim.queue(Reply.http_error(status, message="try later"), Reply.http_error(status, message="try later"))
    _, captured = nb.run("%%claude\nhi")
    countdown = [o.data["text/markdown"] for o in captured.outputs if "retrying in" in o.data["text/markdown"]]
    assert countdown and countdown[0].startswith(f"⏳ {name} ({status}) — retrying in")
    shown = error_text(captured)
    assert shown.startswith(f"{name} ({status} ") and "after 2 attempts: try later" in shown
    assert len(nb.requests) == 2 and "Traceback" not in shown


def test_retry_after_longer_than_the_cap_gives_up_with_the_wait(nb):
    nb.sim.queue(Reply.http_error(429, retry_after="120"))
    _, captured = nb.run("%%claude\nhi")
    shown = error_text(captured)
    assert "asks to wait 120 s" in shown and "max_retry_wait" in shown
    assert nb.sleeps == [] and len(nb.requests) == 1


def test_unreachable_server_is_retried_then_named(nb, monkeypatch):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", f"http://127.0.0.1:{port}")
    nb.magics.max_retries = 2
    _, captured = nb.run("%%claude\nhi")
    shown = error_text(captured)
    assert f"Cannot reach http://127.0.0.1:{port}" in shown and "after 3 attempts" in shown
    assert len(nb.sleeps) >= 2


@pytest.mark.parametrize(
    "fault, expected",
    [
        (Reply.error_event(after=4, text=ANSWER), "Claude was overloaded mid-answer"),
        (Reply.drop(after=4, framing="chunked", text=ANSWER), "The connection dropped mid-answer"),
        (Reply.drop(after=4, framing="close", text=ANSWER), "ended before Claude finished"),
        (Reply.truncate(after=4, text=ANSWER), "ended before Claude finished"),
    ],
    ids=["error-event", "drop-chunked", "drop-close", "no-message-stop"],
)
def test_midstream_failure_keeps_the_partial_marked_incomplete(nb, fault, expected):
    start_chat(nb)
    nb.sim.queue(fault)
    result, captured = nb.run("%%claude\nhi")
    assert result.error_in_exec is not None
    shown = error_text(captured)
    assert expected in shown and "partial answer above is kept" in shown and "Traceback" not in shown
    partial = nb.ns["last_message"]
    assert partial.stop_reason is None and text_of(partial) == "one two three four"
    final = final_markdown(captured)
    assert final.startswith("one two three four") and "⚠ incomplete" in final
    assert " / ? out" in final  # the output count of an unfinished answer is unknown
    assert_next_cell_sends_valid_history(nb, ["earlier question"])


def test_stall_times_out_with_the_partial_kept(nb):
    nb.magics.timeout = 0.5
    nb.sim.queue(Reply.stall(after=3, seconds=5, text=ANSWER))
    _, captured = nb.run("%%claude\nhi")
    shown = error_text(captured)
    assert "Timed out: no data from" in shown and "0.5 s" in shown and "ClaudeMagics.timeout" in shown
    assert text_of(nb.ns["last_message"]) == "one two three"
    assert "⚠ incomplete" in final_markdown(captured)


def test_midstream_retry_when_asked_streams_the_whole_answer_again(nb):
    nb.magics.retry_midstream = True
    nb.sim.queue(Reply.error_event(after=3, text=ANSWER), Reply.text(ANSWER))
    result, captured = nb.run("%%claude\nhi")
    assert result.error_in_exec is None
    assert final_markdown(captured).startswith(ANSWER + "\n\n<sub>")
    assert text_of(nb.ns["last_message"]) == ANSWER and len(nb.requests) == 2
    _, usage = nb.run("%claude usage")
    assert "| default | `claude-sonnet-5-5` | 2 |" in final_markdown(usage)  # the broken attempt was paid for too


@pytest.mark.parametrize(
    "fault",
    [Reply.error_event(after=3, text=ANSWER), Reply.drop(after=3, text=ANSWER),
     Reply.stall(after=3, seconds=5, text=ANSWER), Reply.truncate(after=3, text=ANSWER)],
    ids=["error-event", "drop-chunked", "stall", "no-message-stop"],
)
def test_retry_midstream_retries_every_break_after_text_whatever_the_sdk_raises(nb, fault):
    """Whatever class the installed SDK gives a drop or a stall, a break after text is re-asked."""
    nb.magics.retry_midstream = True
    nb.magics.timeout = 0.5
    nb.sim.queue(fault, Reply.text(ANSWER))
    result, captured = nb.run("%%claude\nhi")
    assert result.error_in_exec is None, error_text(captured)
    assert len(nb.requests) == 2 and nb.requests[0]["body"] == nb.requests[1]["body"]
    countdown = [o.data["text/markdown"] for o in captured.outputs if "retrying in" in o.data["text/markdown"]]
    assert countdown and countdown[0].startswith("⏳ The answer broke off mid-stream — retrying in")
    assert text_of(nb.ns["last_message"]) == ANSWER and final_markdown(captured).startswith(ANSWER)


def test_a_drop_after_text_is_not_retried_by_default_and_never_reads_cannot_reach(nb):
    nb.sim.queue(Reply.drop(after=4, text=ANSWER))
    _, captured = nb.run("%%claude\nhi")
    shown = error_text(captured)
    assert len(nb.requests) == 1 and "Cannot reach" not in shown and "Check your network" not in shown
    assert shown.startswith("The connection dropped mid-answer (") and "incomplete chunked read" in shown
    assert "The partial answer above is kept (marked incomplete) and in `last_message`." in shown
    assert text_of(nb.ns["last_message"]) == "one two three four"


def test_a_drop_after_the_stream_started_but_before_text_says_so(nb):
    nb.sim.queue(Reply.drop(after=0, text=ANSWER))
    _, captured = nb.run("%%claude\nhi")
    shown = error_text(captured)
    assert "Cannot reach" not in shown and "Traceback" not in shown
    assert shown.startswith("The connection dropped after Claude started answering, before any text arrived")
    assert "(no text had arrived) is in `last_message`, marked incomplete" in shown
    assert nb.ns["last_message"].stop_reason is None and text_of(nb.ns["last_message"]) == ""
    assert "⚠ incomplete" in final_markdown(captured)
    assert_next_cell_sends_valid_history(nb, [])


def test_midstream_retries_that_fail_too_keep_the_furthest_partial(nb):
    nb.magics.retry_midstream = True
    nb.magics.max_retries = 2
    start_chat(nb)
    nb.sim.queue(Reply.error_event(after=4, text=ANSWER), Reply.http_error(529),
                 Reply.error_event(after=2, text=ANSWER))
    result, captured = nb.run("%%claude\nhi")
    assert result.error_in_exec is not None and len(nb.requests) == 4
    shown = error_text(captured)
    assert "Claude was overloaded mid-answer" in shown and "partial answer above is kept" in shown
    assert text_of(nb.ns["last_message"]) == "one two three four"
    final = final_markdown(captured)
    assert final.startswith("one two three four") and "⚠ incomplete" in final and "↻ 2 retries" in final
    assert_next_cell_sends_valid_history(nb, ["earlier question"])


def test_the_one_line_error_keeps_the_sdk_exception_for_tb(nb):
    nb.sim.queue(Reply.http_error(401))
    result, captured = nb.run("%%claude\nhi")
    assert type(result.error_in_exec.__cause__).__name__ == "AuthenticationError"
    assert "Traceback" not in error_text(captured) and len(error_text(captured).strip().splitlines()) == 2
    _, traceback = nb.run("%tb")
    whole = error_text(traceback)
    assert "AuthenticationError" in whole and "direct cause of the following exception" in whole


def test_a_bug_of_ours_is_not_dressed_as_an_api_error(nb, monkeypatch):
    from claude_magic.view import answer_view

    def broken(self, event, snapshot):
        raise KeyError("oops")

    monkeypatch.setattr(answer_view.AnswerView, "on_event", broken)
    nb.sim.queue(Reply.text(ANSWER))
    result, captured = nb.run("%%claude\nhi")
    shown = error_text(captured)
    assert shown.startswith("claude_magic internal error (KeyError: 'oops')") and "run `%tb`" in shown.lower()
    assert "Traceback" not in shown and isinstance(result.error_in_exec.__cause__, KeyError)


@pytest.mark.parametrize(
    "reply, cell, expected",
    [
        (Reply.http_error(401), "%%claude\nhi", "Set a valid key: `%env ANTHROPIC_API_KEY"),
        (Reply.http_error(403, message="not allowed"), "%%claude\nhi", "403 permission_error"),
        (Reply.http_error(400, message="prompt is too long: 300000 tokens > 200000 maximum"), "%%claude\nhi",
         "`%claude undo`"),
        (None, "%%claude -m claude-nonexistent-9\nhi", "`%claude models`"),
        (Reply.http_error(413), "%%claude\nhi", "`%claude undo` or `%claude reset`"),
    ],
    ids=["401", "403", "400-too-long", "404-model", "413"],
)
def test_client_errors_are_not_retried_and_say_what_to_do(nb, reply, cell, expected):
    previous = start_chat(nb)
    if reply is not None:
        nb.sim.queue(reply)
    _, captured = nb.run(cell)
    shown = error_text(captured)
    assert expected in shown and "Traceback" not in shown and len(shown.strip().splitlines()) <= 2
    assert nb.sleeps == [] and len(nb.requests) == 2
    assert nb.ns["last_message"] is previous
    assert_next_cell_sends_valid_history(nb, ["earlier question"])


def test_stop_during_the_stream_keeps_the_partial_and_ends_interrupted(nb):
    start_chat(nb)
    nb.magics.simulator_pace = 20  # 50 ms a word: the Stop lands mid-answer
    nb.sim.queue(Reply.text(" ".join(f"w{i}" for i in range(200))))
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    result, captured = nb.run("%%claude\nhi")
    timer.join()
    assert isinstance(result.error_in_exec, KeyboardInterrupt)
    shown = error_text(captured)
    assert "KeyboardInterrupt: stopped by you" in shown and "Traceback" not in shown
    partial = nb.ns["last_message"]
    assert partial.stop_reason is None and 0 < len(text_of(partial).split()) < 200
    assert "⏹ stopped" in final_markdown(captured)
    nb.magics.simulator_pace = 0
    assert_next_cell_sends_valid_history(nb, ["earlier question"])


def test_stop_during_a_retry_wait_stops_at_once(nb):
    def stop(seconds):
        raise KeyboardInterrupt

    nb.session.sleep = stop
    nb.sim.queue(Reply.http_error(529), Reply.text(ANSWER))
    result, captured = nb.run("%%claude\nhi")
    assert isinstance(result.error_in_exec, KeyboardInterrupt)
    assert len(nb.requests) == 1 and "⏹ stopped" in final_markdown(captured)
    shown = error_text(captured)
    assert "before any answer arrived; `last_message` is unchanged" in shown and "is kept" not in shown


def test_the_api_key_never_shows(nb, monkeypatch, tmp_path):
    secret = "sk-ant-api03-RECOGNISABLE-SECRET-0123456789"
    monkeypatch.setenv("ANTHROPIC_API_KEY", secret)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", nb.sim.url)
    seen = []
    nb.sim.queue(Reply.text(ANSWER), Reply.http_error(401, message=f"invalid x-api-key {secret}"))
    for cell in ("%%claude\nhi", "%%claude\nhi", "%config ClaudeMagics", "%claude history", "print(repr(last_message))"):
        _, captured = nb.run(cell)
        seen.append(captured.stdout + captured.stderr + repr([o.data for o in captured.outputs]))
    import claude_magic

    seen.append(repr(claude_magic.history()))
    seen.append(repr(nb.sim.requests))
    seen.append(repr(vars(nb.magics)) + repr(nb.magics.trait_values()))
    assert all(secret not in text for text in seen)
    assert "ANTHROPIC_API_KEY" in seen[1]


def test_a_broken_display_never_loses_the_answer(nb, monkeypatch):
    from claude_magic.view import answer_view as render

    def broken(self, data):
        raise RuntimeError("frontend exploded")

    monkeypatch.setattr(render._DisplaySurface, "show", broken)
    nb.sim.queue(Reply.text(ANSWER))
    result, captured = nb.run("%%claude\nhi")
    assert result.error_in_exec is None
    assert ANSWER in captured.stdout and "live display failed" in captured.stderr
    assert text_of(nb.ns["last_message"]) == ANSWER


def test_a_broken_history_never_loses_the_answer(nb, monkeypatch):
    from claude_magic import session

    monkeypatch.setattr(session, "assistant_turn", lambda message: 1 / 0)
    nb.sim.queue(Reply.text(ANSWER))
    result, captured = nb.run("%%claude\nhi")
    assert result.error_in_exec is None
    assert final_markdown(captured).startswith(ANSWER)
    assert text_of(nb.ns["last_message"]) == ANSWER and "could not record" in captured.stderr


@pytest.mark.parametrize("cell", ["%claude models", "%%claude --count\nhi", "%claude tokens"])
def test_plain_requests_to_an_unreachable_server_fail_in_one_line(nb, monkeypatch, cell):
    start_chat(nb)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", f"http://127.0.0.1:{port}")
    result, captured = nb.run(cell)
    shown = error_text(captured)
    assert f"Cannot reach http://127.0.0.1:{port}" in shown and "Traceback" not in shown
    assert type(result.error_in_exec.__cause__).__name__ == "APIConnectionError"


@pytest.mark.parametrize("cell", ["%%claude --count\nhi {s}", "%%claude\nhi {s}", "%%claude -s $s\nhi"])
def test_a_lone_surrogate_is_refused_in_one_line_before_any_request(nb, cell):
    nb.ns["s"] = b"caf\xe9".decode("utf-8", errors="surrogateescape")
    _, captured = nb.run(cell)
    shown = error_text(captured)
    assert "The prompt holds '\\udce9', which cannot be sent" in shown and "Traceback" not in shown
    assert nb.sim.requests == [] and "last_message" not in nb.ns


INTERRUPTED_IMPORT = """
import sys
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

class StopOnce:  # the user presses Stop while the SDK is being imported for the first time
    fired = False
    def find_spec(self, name, path=None, target=None):
        if name == "anthropic.lib.tools" and not StopOnce.fired:
            StopOnce.fired = True
            raise KeyboardInterrupt
sys.meta_path.insert(0, StopOnce())
shell = InteractiveShell.instance()
shell.run_line_magic("load_ext", "claude_magic")
magics = shell.magics_manager.registry["ClaudeMagics"]
magics.simulator_pace, magics.display = 0, "text"
shell.run_cell("def f(q: str) -> str:\\n    'Look q up.'\\n    return 'x'")
for attempt in ("first", "second"):
    with capture_output() as captured:
        result = shell.run_cell("%%claude --tools f\\nhi")
    print(f"=== {attempt} {type(result.error_in_exec).__name__}")
    print(captured.stdout)
"""


def test_a_stop_during_the_first_sdk_import_leaves_it_importable(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    env = {name: value for name, value in os.environ.items() if not name.startswith("ANTHROPIC_")}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1])
    done = subprocess.run([sys.executable, "-c", INTERRUPTED_IMPORT], capture_output=True, text=True, check=False,
                          cwd=tmp_path, env=env)
    first, second = done.stdout.split("=== second")
    assert first.startswith("=== first Stopped") and "Run the cell again" in first and "Traceback" not in first
    assert second.startswith(" NoneType") and "Traceback" not in second, done.stdout + done.stderr
