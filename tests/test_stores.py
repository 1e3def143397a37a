"""The stores' one policy (chats, replay, batch ids): private files, one line for a file that cannot be used,
and never another kernel's chat replaced — with two real kernels (IPython processes) in one folder."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import error_text

from claude_magic.simulator import Reply

PACKAGE = str(Path(__file__).resolve().parents[1])


@pytest.fixture
def folder(nb, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    return tmp_path


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_every_store_is_private_whatever_the_umask(nb, folder):
    old = os.umask(0o022)  # the usual one: files made with open() are 0644
    try:
        nb.magics.replay = True
        nb.magics.autosave = True
        nb.sim.queue(Reply.text("Kept."))
        nb.run("%%claude\nQuestion")
        nb.ns["items"] = ["one"]

        def stop(seconds):
            raise KeyboardInterrupt

        nb.session.sleep = stop  # the batch stays pending, so its id stays on disk
        nb.run("%%claude --map items --batch\nSay {item}")
        nb.run("%claude save mine.json")
    finally:
        os.umask(old)
    written = {path.name: oct(mode(path)) for path in folder.iterdir()}
    assert written == {"claude_replay.jsonl": "0o600", "default.claude.json": "0o600", "mine.json": "0o600",
                       "claude_batches.json": "0o600"}


def test_a_replay_store_an_older_version_left_readable_is_made_private(nb, folder):
    nb.magics.replay = True
    store = folder / "claude_replay.jsonl"
    store.write_text("")
    store.chmod(0o644)
    nb.run("%%claude\nQuestion")
    assert mode(store) == 0o600 and len(store.read_text().splitlines()) == 2


NEWER = {"chat": '{"format": "claude_magic.chats", "version": 7, "chats": []}',
         "replay": '{"format": "claude_magic.replay", "version": 7}\n{"key": "k", "message": {}}\n',
         "batch": '{"format": "claude_magic.batches", "version": 7, "batches": {}}'}
FOREIGN = {"chat": '{"hello": "world"}', "replay": "name,price\nwidget,3\n", "batch": '{"format": "csv"}'}


def use(nb, kind: str, path: Path):
    """The cell that reads store `kind` at `path`: loading a chat, a replayed cell, a batch."""
    if kind == "chat":
        return nb.run(f"%claude load {path.name}")
    if kind == "replay":
        nb.magics.replay = True
        nb.magics.replay_file = path.name
        return nb.run("%%claude\nQuestion")
    nb.magics.batch_file = path.name
    nb.ns["items"] = ["one", "two"]
    return nb.run("%%claude --map items --batch\nSay {item}")


@pytest.mark.parametrize("kind", ["chat", "replay", "batch"])
@pytest.mark.parametrize("state, expected", [
    ("folder", "is a folder, not a file"),
    ("binary", "is not UTF-8 text"),
    ("broken", "is not valid JSON"),
    ("deep", "nested far too deeply"),
    ("foreign", "file"),
    ("newer", "was written by a newer claude_magic (version 7; this one reads 1): upgrade claude_magic"),
])
def test_one_policy_for_a_store_that_cannot_be_used(nb, folder, kind, state, expected):
    """Every store: one line naming the file and what to do, nothing sent, and the file never written over."""
    path = folder / f"store.{kind}"
    if state == "folder":
        path.mkdir()
    else:
        content = {"binary": b"\xff\xfe\x00\x80", "broken": b"{not json", "deep": b"[" * 100_000,
                   "foreign": FOREIGN[kind].encode(), "newer": NEWER[kind].encode()}[state]
        path.write_bytes(content)
    if kind == "replay" and state in ("broken", "deep"):
        expected = "is not a claude_magic replay file"  # a torn line is skipped; a file of nothing else is not one
    if state == "foreign":
        expected = f"is not a claude_magic {kind} file"
    if kind == "chat" and state == "folder":  # `%claude load FOLDER` looks for the chat's own file in it
        expected = "No saved chat at store.chat/default.claude.json"
    result, captured = use(nb, kind, path)
    shown = error_text(captured).strip()
    assert result.error_in_exec is not None
    assert len(shown.splitlines()) == 1 and "Traceback" not in shown, shown
    assert str(path.name) in shown and expected in shown, shown
    assert nb.sim.requests == []  # said before anything was asked or paid for
    if state != "folder":
        assert path.read_bytes() == content  # never written over
    assert sorted(p.name for p in folder.iterdir()) == [path.name]


def test_a_missing_store_is_empty_for_the_magic_and_one_line_for_a_load(nb, folder):
    _, captured = nb.run("%claude load gone.json")
    assert error_text(captured).strip() == "No saved chat at gone.json: save one with `%claude save`, or give its path."
    nb.magics.replay = True
    result, _ = nb.run("%%claude\nQuestion")
    assert result.error_in_exec is None and (folder / "claude_replay.jsonl").is_file()


KERNEL = r'''
import json, sys
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

shell = InteractiveShell.instance()
with capture_output():
    shell.run_line_magic("load_ext", "claude_magic")
magics = shell.magics_manager.registry["ClaudeMagics"]
magics.simulator_pace, magics.display, magics.autosave = 0, "text", True
print(json.dumps({"ready": True}), flush=True)
for line in sys.stdin:
    with capture_output() as captured:
        result = shell.run_cell(json.loads(line))
    print(json.dumps({"stderr": captured.stderr, "stdout": captured.stdout,
                      "failed": result.error_in_exec is not None}), flush=True)
'''


class Kernel:
    """An IPython shell in a process of its own, running the cells it is sent one at a time."""

    def __init__(self, folder: Path):
        environment = {key: value for key, value in os.environ.items()
                       if not key.startswith("ANTHROPIC_") and key != "JPY_SESSION_NAME"}
        environment["PYTHONPATH"] = PACKAGE + os.pathsep + environment.get("PYTHONPATH", "")
        self.process = subprocess.Popen([sys.executable, "-c", KERNEL], cwd=folder, env=environment, text=True,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert json.loads(self.process.stdout.readline()) == {"ready": True}

    def send(self, cell: str) -> None:
        self.process.stdin.write(json.dumps(cell) + "\n")
        self.process.stdin.flush()

    def receive(self) -> dict:
        return json.loads(self.process.stdout.readline())

    def run(self, cell: str) -> dict:
        self.send(cell)
        return self.receive()

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=60)


def warm(*kernels: Kernel) -> None:
    """Start each kernel's SDK and simulator at once (the slow part of a first cell), writing nothing."""
    for kernel in kernels:
        kernel.send("%claude models")
    for kernel in kernels:
        assert not kernel.receive()["failed"]


def prompts(path: Path) -> list[str]:
    (chat,) = json.loads(path.read_text())["chats"]
    return [m["content"] for m in chat["messages"] if m["role"] == "user"]


def test_two_kernels_autosaving_in_one_folder_never_overwrite_each_others_chat(tmp_path):
    first, second = Kernel(tmp_path), Kernel(tmp_path)
    try:
        warm(first, second)
        assert first.run("%%claude\nFrom the first kernel, one")["stderr"] == ""
        said = second.run("%%claude\nFrom the second kernel, one")
        assert first.run("%%claude\nFrom the first kernel, two")["stderr"] == ""
        again = second.run("%%claude\nFrom the second kernel, two")
    finally:
        first.close()
        second.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["default-2.claude.json", "default.claude.json"]
    assert prompts(tmp_path / "default.claude.json") == ["From the first kernel, one", "From the first kernel, two"]
    assert prompts(tmp_path / "default-2.claude.json") == ["From the second kernel, one",
                                                           "From the second kernel, two"]
    # said once, in one line, with whose file it is and where this kernel's chat went instead
    assert said["stderr"].strip() == (
        f"(claude_magic autosave: default.claude.json holds another kernel's chat (process {first.process.pid}): "
        "not replacing it, this kernel's chat 'default' is saved to default-2.claude.json instead.)")
    assert again["stderr"] == "" and not said["failed"] and not again["failed"]
    writer = json.loads((tmp_path / "default-2.claude.json").read_text())["writer"]
    assert writer["pid"] == second.process.pid and writer["kernel"]


def test_a_restarted_kernel_takes_its_chat_back_by_loading_it_and_not_otherwise(tmp_path):
    first = Kernel(tmp_path)
    first.run("%%claude\nBefore the restart")
    first.close()
    restarted = Kernel(tmp_path)
    try:
        # a question before loading: the old chat is not this kernel's, so it is kept
        said = restarted.run("%%claude\nA new question")
        assert "not replacing it" in said["stderr"]
        assert prompts(tmp_path / "default.claude.json") == ["Before the restart"]
        assert restarted.run("%claude reset")["stderr"] == ""
        loaded = restarted.run("%claude load")
        assert "1 exchange(s) loaded into chat 'default' from default.claude.json" in loaded["stdout"]
        assert restarted.run("%%claude\nAfter loading it")["stderr"] == ""
    finally:
        restarted.close()
    assert prompts(tmp_path / "default.claude.json") == ["Before the restart", "After loading it"]
