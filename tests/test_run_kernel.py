"""--run in a real kernel (jupyter_client): the approval is an input_request on the stdin channel, and
the code runs there, in the kernel's main thread, without leaking its value, traceback or figure."""

from __future__ import annotations

import ast
import json
import time

import pytest

from claude_magic.approval import PROMPT

SETUP = """%load_ext claude_magic
%config ClaudeMagics.simulator_pace = 0
%matplotlib inline
import json, threading, claude_magic
from claude_magic.simulator import Reply
sim = claude_magic.offline_simulator()
FAILS = "print('trying')\\n1 / 0"
PLOTS = ("import threading, matplotlib.pyplot as plt\\nmain = threading.current_thread() is threading.main_thread()\\n"
         "plt.plot([3, 1, 2])\\ntotal = 10\\ntotal")
sim.queue(Reply.tool_use("run_python", {"code": FAILS}), Reply.tool_use("run_python", {"code": PLOTS}),
          Reply.text("It plotted."))
"""


@pytest.fixture
def kernel(monkeypatch):
    from jupyter_client.manager import start_new_kernel

    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    manager, client = start_new_kernel(kernel_name="python3")
    client.manager = manager
    yield client
    client.stop_channels()
    manager.shutdown_kernel(now=True)


def run(client, source: str, answers: list[str] | None = None) -> tuple[dict, list[dict], list[dict]]:
    """Execute `source`, answering input requests from `answers`: (reply content, iopub messages, requests)."""
    iopub, requests = [], []

    def on_input(message):
        requests.append(message["content"])
        client.input(answers.pop(0))

    reply = client.execute_interactive(source, timeout=90, output_hook=iopub.append,
                                       allow_stdin=answers is not None, stdin_hook=on_input)
    return reply["content"], iopub, requests


def expression(client, source: str) -> str:
    """The text/plain repr of `source` evaluated in the kernel (a user_expression of an empty cell)."""
    reply = client.execute_interactive("", timeout=90, user_expressions={"value": source})["content"]
    if reply["status"] == "aborted":  # ipykernel < 6.2x aborts what arrives just after a failed cell: ask again
        time.sleep(0.5)
        reply = client.execute_interactive("", timeout=90, user_expressions={"value": source})["content"]
    value = reply["user_expressions"]["value"]
    assert value["status"] == "ok", value
    return value["data"]["text/plain"]


def stdout(iopub: list[dict]) -> str:
    return "".join(m["content"]["text"] for m in iopub if m["msg_type"] == "stream" and m["content"]["name"] == "stdout")


def test_the_approval_is_an_input_request_and_answering_y_runs_the_code_in_the_kernel(kernel):
    reply, _, _ = run(kernel, SETUP)
    assert reply["status"] == "ok", reply
    reply, iopub, requests = run(kernel, "%%claude --run\nPlot something", answers=["y", "y"])
    assert reply["status"] == "ok", reply
    assert [r["prompt"] for r in requests] == [PROMPT, PROMPT] and requests[0]["password"] is False
    kinds = [m["msg_type"] for m in iopub]
    # Nothing of the nested runs reaches the page on its own: no traceback, no Out, no loose figure.
    assert "error" not in kinds and "execute_result" not in kinds
    assert not any("image/png" in m["content"].get("data", {}) for m in iopub if m["msg_type"] == "display_data")
    final = [m["content"]["data"]["text/markdown"] for m in iopub
             if m["msg_type"] in ("display_data", "update_display_data") and "text/markdown" in m["content"]["data"]][-1]
    assert "ZeroDivisionError" in final and "![figure](data:image/png;base64," in final and "It plotted." in final
    assert reply["payload"] == [{"source": "set_next_input", "replace": False, "text": reply["payload"][0]["text"]}]
    assert reply["payload"][0]["text"].endswith("total = 10\ntotal") and "1 / 0" not in reply["payload"][0]["text"]

    _, iopub, _ = run(kernel, "print(total, main)\n"
                              "print(json.dumps([m['content'] for m in [r for r in sim.requests if r['path'] == '/v1/messages'][-1]['body']['messages'][-3::2]]))")
    shown = stdout(iopub).splitlines()
    assert len(shown) == 2, [m["content"] for m in iopub if m["msg_type"] in ("error", "stream")]
    assert shown[0] == "10 True"  # the notebook's namespace, the kernel's main thread
    failed, plotted = (content[0] for content in json.loads(shown[1]))
    assert failed["is_error"] is True and "ZeroDivisionError: division by zero" in failed["content"][0]["text"]
    assert failed["content"][0]["text"].startswith("trying\nTraceback")
    assert plotted["content"][0]["text"] == "Out: 10" and plotted["content"][1]["type"] == "image"


def test_without_stdin_nothing_runs_and_one_line_says_to_use_yes(kernel):
    run(kernel, SETUP)
    reply, iopub, requests = run(kernel, "%%claude --run\nPlot something")  # allow_stdin=False, as nbclient
    assert reply["status"] == "ok" and requests == [] and reply["payload"] == []
    assert "Re-run with `%%claude --run --yes`" in stdout(iopub)
    _, iopub, _ = run(kernel, "print('total' in globals())")
    assert stdout(iopub) == "False\n"


SLOW = "import time\nfor step in range(600):\n    time.sleep(0.05)\nlater = True"


def test_stop_while_the_code_runs_interrupts_it_and_the_next_cell_sends_a_valid_history(kernel):
    run(kernel, SETUP.split("sim.queue(")[0] + f"sim.queue(Reply.tool_use('run_python', {{'code': {SLOW!r}}}))")
    kernel.execute("%%claude --run --yes\nSlow work")
    deadline = time.monotonic() + 60
    while "Running `run_python`" not in json.dumps(kernel.get_iopub_msg(timeout=60)["content"], ensure_ascii=False):
        assert time.monotonic() < deadline
    time.sleep(1)  # inside the loop of the code now (its output is captured for Claude, not streamed)
    pressed = time.monotonic()
    kernel.manager.interrupt_kernel()
    reply = kernel.get_shell_msg(timeout=30)["content"]
    # The code had 29 s to go: it and the loop stopped at once (well under a second here when the machine is
    # idle; the bound only leaves room for a loaded one).
    assert time.monotonic() - pressed < 10
    assert reply["status"] == "error" and reply["ename"] == "Stopped" and reply["payload"] == []
    # Read through user_expressions, not printed output: an older ipykernel may flush a stream after idle.
    state = expression(kernel, "('later' in globals(), step < 599, "
                               "len([r for r in sim.requests if r['path'] == '/v1/messages']))")
    assert state == "(False, True, 1)"  # nothing after the Stop ran, and the loop asked nothing more
    content, iopub, _ = run(kernel, "%%claude\nAnd now?")
    assert content["status"] == "ok", content
    [sent] = json.loads(ast.literal_eval(expression(
        kernel, "json.dumps([r for r in sim.requests if r['path'] == '/v1/messages'][-1]['body']['messages'])")))  # the stopped exchange is not kept: the history is empty
    assert sent["role"] == "user" and sent["content"][0]["text"] == "And now?"
