"""The kernel's side of the notebook extension, through a real ipykernel: this test plays the page.

It sends what JupyterLab sends (execute requests carrying the cell's id, comm messages) and reads what a
page would get on iopub; the browser tests (test_browser_extension.py) drive the real extension.
"""

from __future__ import annotations

import json
import os
import queue
import uuid

import pytest
from jupyter_client.manager import start_new_kernel
from page_protocol import applied

TIMEOUT = 60


class Page:
    """A kernel, and everything it said on iopub, as a frontend sees it."""

    def __init__(self):
        env = {name: value for name, value in os.environ.items() if not name.startswith("ANTHROPIC_")}
        self.manager, self.client = start_new_kernel(kernel_name="python3", env=env)
        self.comm_id: str | None = None
        self.comm_msgs: list[dict] = []

    def close(self):
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)

    def execute(self, code: str, cell_id: str | None = None) -> tuple[list[dict], dict]:
        """Run a cell as JupyterLab does (its id in the metadata): (iopub messages, execute_reply)."""
        content = {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                   "allow_stdin": False, "stop_on_error": True}
        msg = self.client.session.msg("execute_request", content, metadata={"cellId": cell_id or uuid.uuid4().hex})
        self.client.shell_channel.send(msg)
        messages = self._until_idle(msg["header"]["msg_id"])
        reply = self.client.get_shell_msg(timeout=TIMEOUT)
        while reply["parent_header"].get("msg_id") != msg["header"]["msg_id"]:
            reply = self.client.get_shell_msg(timeout=TIMEOUT)
        return messages, reply

    def send(self, data: dict) -> list[dict]:
        """A comm message from the page to the magic; the iopub messages it caused."""
        msg = self.client.session.msg("comm_msg", {"comm_id": self.comm_id, "data": data})
        self.client.shell_channel.send(msg)
        return self._until_idle(msg["header"]["msg_id"])

    def _until_idle(self, msg_id: str) -> list[dict]:
        messages = []
        while True:
            try:
                message = self.client.get_iopub_msg(timeout=TIMEOUT)
            except queue.Empty:
                raise AssertionError(f"no idle after {TIMEOUT} s; got {[m['msg_type'] for m in messages]}") from None
            kind, content = message["msg_type"], message["content"]
            if kind == "comm_open" and content.get("target_name") == "claude_magic":
                self.comm_id = content["comm_id"]
            if kind == "comm_msg" and content.get("comm_id") == self.comm_id:
                self.comm_msgs.append(content["data"])
            if message["parent_header"].get("msg_id") != msg_id:
                continue
            messages.append(message)
            if kind == "status" and content["execution_state"] == "idle":
                return messages


def shown(messages: list[dict]) -> str:
    """Everything displayed or printed, as text."""
    parts = []
    for message in messages:
        content = message["content"]
        if message["msg_type"] in ("display_data", "update_display_data", "execute_result"):
            parts.append(content["data"].get("text/markdown") or content["data"].get("text/plain", ""))
        elif message["msg_type"] == "stream":
            parts.append(content["text"])
        elif message["msg_type"] == "error":
            parts.append("\n".join(content["traceback"]))
    return "\n".join(parts)


def sent_prompts(page: Page) -> list[str]:
    messages, _ = page.execute("import json, claude_magic\n"
                               "print(json.dumps([r['body'] for r in claude_magic.offline_simulator().requests "
                               "if r['path'] == '/v1/messages']))")
    text = next(m["content"]["text"] for m in messages if m["msg_type"] == "stream")
    return [json.dumps(body["messages"][-1]) for body in json.loads(text)]


SETUP = "%load_ext claude_magic\n%config ClaudeMagics.simulator_pace = 0\n%config ClaudeMagics.display = 'display'"


def ready(page: Page) -> None:
    """What the extension says once it has the comm; the kernel answers with the token naming its streams."""
    page.send({"type": "ready", "protocol": 1})
    assert [data["type"] for data in page.comm_msgs] == ["hello"] and len(page.comm_msgs[0]["token"]) == 12
    page.comm_msgs.clear()


@pytest.fixture
def page():
    page = Page()
    yield page
    page.close()


def test_without_the_extension_the_magic_works_as_before(page):
    page.execute(SETUP)
    assert page.comm_id is not None  # the magic asked the page; nobody answered
    page.execute("x = 1  ", cell_id="cell-x")
    messages, _ = page.execute("1 / 0", cell_id="cell-fail")
    messages, reply = page.execute("%%claude --edit\nTidy cell [2], <b>please</b>")
    text = shown(messages)
    assert "```diff" in text and "-x = 1  " in text and "+x = 1" in text
    payload = [p for p in reply["content"]["payload"] if p["source"] == "set_next_input"]
    assert payload and payload[0]["text"].endswith("x = 1") and "Revised by Claude" in payload[0]["text"]
    assert not [data for data in page.comm_msgs if data["type"] == "propose"]


def test_a_page_that_refuses_the_comm_hears_nothing_more(page):
    page.execute(SETUP)
    close = page.client.session.msg("comm_close", {"comm_id": page.comm_id, "data": {}})
    page.client.shell_channel.send(close)  # what JupyterLab does with a target nobody registered
    page._until_idle(close["header"]["msg_id"])
    page.execute("1 / 0", cell_id="cell-fail")
    messages, _ = page.execute("%%claude\nHello")
    assert "end_turn" in shown(messages) and page.comm_msgs == []


def test_fix_with_claude_answers_for_that_cell_and_proposes_an_edit(page):
    page.execute(SETUP)
    ready(page)
    page.execute("numbers = [1, 2, 3]", cell_id="cell-ok")
    page.execute("total = sum(numbers) / len(number)", cell_id="cell-bad")
    assert page.comm_msgs == [{"type": "failed", "cell_id": "cell-bad", "number": 3}]
    page.execute("print('a later cell')", cell_id="cell-later")
    assert len(page.comm_msgs) == 1  # nothing was asked: a click sends the request

    messages = page.send({"type": "explain", "cell_id": "cell-bad"})
    assert "end_turn" in shown(messages)
    assert "This notebook cell failed. Explain in a few sentences why" in sent_prompts(page)[-1]
    assert len(page.comm_msgs) == 1  # an explanation proposes no edit

    messages = page.send({"type": "fix", "cell_id": "cell-bad"})
    assert "end_turn" in shown(messages)  # the answer, streamed as the outputs of the click
    prompt = sent_prompts(page)[-1]
    assert "total = sum(numbers) / len(number)" in prompt and "NameError" in prompt
    proposal = page.comm_msgs[-1]["proposal"]
    assert page.comm_msgs[-1]["type"] == "propose" and proposal["cell_id"] == "cell-bad"
    assert proposal["old"] == "total = sum(numbers) / len(number)"
    assert proposal["new"] == "total = sum(numbers) / len(numbers)"  # the simulator spots the typo, as Claude would
    assert proposal["diff"].startswith("--- cell [3]")

    page.send({"type": "decision", "id": proposal["id"], "outcome": "accepted"})
    _, reply = page.execute("%%claude\nThanks. What next?")
    assert reply["content"]["payload"] == []  # the fix offered no new cell: it is an edit of the cell
    assert "your proposed edit of cell [3] was accepted" in sent_prompts(page)[-1]


def test_a_cell_that_ran_fine_since_gets_no_fix(page):
    page.execute(SETUP)
    ready(page)
    page.execute("1 / 0", cell_id="cell-a")
    page.execute("1 / 1", cell_id="cell-a")
    messages = page.send({"type": "fix", "cell_id": "cell-a"})
    assert "ran without error since" in shown(messages)
    assert "Traceback" not in shown(messages)


def test_edit_proposals_go_to_the_page_and_decisions_come_back(page):
    page.execute(SETUP)
    ready(page)
    page.execute("a = 1", cell_id="cell-a")
    page.execute("b = a + 1", cell_id="cell-b")
    messages, reply = page.execute("%%claude --edit\nImprove cells [2] and [3].", cell_id="cell-ask")
    proposals = [m["proposal"] for m in page.comm_msgs if m["type"] == "propose"]
    assert [p["cell_id"] for p in proposals] == ["cell-a", "cell-b"]
    assert not [p for p in reply["content"]["payload"] if p["source"] == "set_next_input"]
    assert "review the diff on each cell" in shown(messages)
    page.send({"type": "decision", "id": proposals[0]["id"], "outcome": "rejected"})
    page.send({"type": "decision", "id": proposals[1]["id"], "outcome": "gone"})
    page.execute("%%claude\nAnd now?", cell_id="cell-next")
    told = sent_prompts(page)[-1]
    assert "cell [2] was rejected" in told and "cell [3] was not applied: the cell had been deleted" in told


def test_with_the_extension_an_answer_streams_as_new_text_only_and_the_page_makes_the_static_output(page):
    text = ("## Résumé 🔧 of 𝔘nicode\n\n" + "A paragraph of words, one after another. " * 40 + "\n\n"
            "1. one\n\n2. two\n\n   more of two\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n"
            "```python\ndef f():\n\n    return 1\n```\n\n" + "Closing words 🎉 to end it. " * 60 + "THE-END.")
    thinking = {"type": "thinking", "thinking": "First the loading, then the checks.", "signature": "s"}
    page.execute(SETUP.replace("'display'", "'auto'"))
    ready(page)
    page.execute("import claude_magic\nfrom claude_magic.simulator import Reply\n"
                 f"claude_magic.offline_simulator().queue(Reply(content=({thinking!r}, {{'type': 'text', 'text': {text!r}}}), "
                 "pace=150))")
    messages, _ = page.execute("%%claude\nShow me every kind of block.")

    displays = [m["content"]["data"] for m in messages if m["msg_type"] in ("display_data", "update_display_data")]
    assert not [data for data in displays if "THE-END" in str(data)]  # no copy of the answer from the kernel
    streams = [data for data in displays if "application/vnd.claude-magic.stream+json" in data]
    assert len(streams) == 1 and streams[0]["text/plain"].startswith("⏳ Asking")  # one output
    stream_id = streams[0]["application/vnd.claude-magic.stream+json"]["id"]
    updates = [data for data in page.comm_msgs if data["type"] == "stream"]
    assert {f"{page_token(page)}:{data['n']}" for data in updates} == {stream_id}
    assert len(updates) >= 5 and "end" in updates[-1]  # it grew in the page, update by update
    stream = {"segments": [], "tail": b""}
    for data in updates:
        applied(stream, data)
    markdown, plain = stream["final"]["text/markdown"], stream["final"]["text/plain"]

    messages, _ = page.execute("from claude_magic.view.markdown import close_fences, markdown_of\n"
                               "print(close_fences(markdown_of(last_message)))")
    answer = shown(messages).rstrip("\n")
    assert answer.endswith("THE-END.") and "<details><summary>Thinking (6 words)" in answer
    assert markdown.startswith(f"{answer}\n\n<sub>") and "end_turn" in markdown.split("<sub>")[1]
    assert plain.startswith("<details>") and "THE-END." in plain
    sent = sum(len(op[2]) for data in updates for op in data.get("ops", ()) if op[0] == "t")
    sent += sum(len(piece) for piece in updates[-1]["end"]["markdown"] if isinstance(piece, str))
    assert sent < 1.2 * len(markdown)  # each piece of text sent about once


def page_token(page: Page) -> str:
    messages, _ = page.execute("print(get_ipython().find_magic('claude', 'cell').__self__.frontend.token)")
    return shown(messages).strip()


def test_stopped_mid_answer_the_page_is_told_to_keep_the_partial_as_the_static_output(page):
    page.execute(SETUP.replace("'display'", "'auto'"))
    ready(page)
    page.execute("import claude_magic\nfrom claude_magic.simulator import Reply\n"
                 "claude_magic.offline_simulator().queue(Reply.text('word ' * 3000 + 'THE-END.', pace=200))")
    msg = page.client.session.msg("execute_request", {"code": "%%claude\nGo on.", "silent": False,
                                                      "store_history": True, "user_expressions": {},
                                                      "allow_stdin": False, "stop_on_error": True})
    page.client.shell_channel.send(msg)
    interrupted = False
    while True:
        message = page.client.get_iopub_msg(timeout=TIMEOUT)
        content = message["content"]
        if message["msg_type"] == "comm_msg" and content.get("comm_id") == page.comm_id:
            page.comm_msgs.append(content["data"])
            if not interrupted and len(page.comm_msgs) >= 4:
                page.manager.interrupt_kernel()  # Stop, as the toolbar's button does
                interrupted = True
        if (message["parent_header"].get("msg_id") == msg["header"]["msg_id"] and message["msg_type"] == "status"
                and content["execution_state"] == "idle"):
            break
    stream = {"segments": [], "tail": b""}
    for data in (data for data in page.comm_msgs if data["type"] == "stream"):
        applied(stream, data)
    markdown = stream["final"]["text/markdown"]
    assert markdown.startswith("word word") and "THE-END" not in markdown and "stopped" in markdown.split("<sub>")[1]
