"""Run-All replay: an unchanged cell reuses its stored answer and costs nothing the second time."""

from __future__ import annotations

import json

import pytest
from conftest import Notebook, final_markdown

from claude_magic.simulator import Reply


@pytest.fixture
def replaying(nb, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    nb.magics.replay = True
    return nb


def restart(nb):
    """A new kernel: the extension loaded afresh, no history, the same replay file."""
    nb.shell.run_line_magic("unload_ext", "claude_magic")
    nb.shell.run_line_magic("load_ext", "claude_magic")
    fresh = Notebook(nb.shell)
    fresh.magics.replay = True
    fresh.session.connection.simulator_announced = True
    return fresh


def test_run_all_twice_asks_once(replaying, tmp_path):
    nb = replaying
    nb.sim.queue(Reply.text("First answer."), Reply.text("Second answer."))
    nb.run("%%claude\nQuestion one")
    nb.run("%%claude\nQuestion two")
    again = restart(nb)
    _, one = again.run("%%claude\nQuestion one")
    _, two = again.run("%%claude\nQuestion two")
    assert again.requests == []
    assert final_markdown(one).startswith("First answer.") and "↺ replayed" in final_markdown(one)
    assert final_markdown(two).startswith("Second answer.")
    assert again.ns["last_message"].content[0].text == "Second answer."
    # the replayed exchanges are history too: a new question carries them
    again.run("%%claude\nQuestion three")
    assert [m["content"] for m in again.requests[-1]["body"]["messages"] if m["role"] == "user"] == [
        "Question one", "Question two", "Question three"]
    stored = (tmp_path / "claude_replay.jsonl").read_text()
    assert "Question one" not in stored  # only a hash of the request is kept
    header, *lines = stored.splitlines()
    assert json.loads(header) == {"format": "claude_magic.replay", "version": 1}
    assert len(lines) == 3 and all(json.loads(line)["key"] for line in lines)


def test_a_changed_option_or_fresh_asks_again(replaying):
    nb = replaying
    nb.sim.queue(Reply.text("one"), Reply.text("two"), Reply.text("three"))
    nb.run("%%claude --no-history\nSame")
    nb.run("%%claude --no-history --max-tokens 99\nSame")
    assert len(nb.requests) == 2
    _, captured = nb.run("%%claude --no-history --fresh\nSame")
    assert len(nb.requests) == 3 and final_markdown(captured).startswith("three")
    _, captured = nb.run("%%claude --no-history\nSame")
    assert len(nb.requests) == 3 and final_markdown(captured).startswith("three")


def test_replay_costs_nothing_in_usage(replaying):
    nb = replaying
    nb.run("%%claude --no-history\nSame")
    nb.run("%%claude --no-history\nSame")
    _, captured = nb.run("%claude usage")
    assert "| default | `claude-sonnet-5-5` | 1 |" in final_markdown(captured)


def test_replay_is_off_by_default(nb, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    nb.run("%%claude --no-history\nSame")
    nb.run("%%claude --no-history\nSame")
    assert len(nb.requests) == 2 and not (tmp_path / "claude_replay.jsonl").exists()


def test_a_replay_file_in_a_missing_folder_keeps_the_answer_and_warns(replaying, tmp_path):
    nb = replaying
    nb.magics.replay_file = str(tmp_path / "no" / "such" / "folder" / "replay.jsonl")
    nb.sim.queue(Reply.text("The whole answer."))
    result, captured = nb.run("%%claude\nQuestion")
    assert result.error_in_exec is None
    shown = final_markdown(captured)
    assert shown.startswith("The whole answer.") and "incomplete" not in shown and "failed" not in shown
    import claude_magic

    assert claude_magic.history()[-1]["content"] == [{"type": "text", "text": "The whole answer."}]
    assert nb.ns["last_message"].content[0].text == "The whole answer."
    warning = [line for line in captured.stderr.splitlines() if line.strip()]
    assert len(warning) == 1 and "replay store" in warning[0] and "could not be written" in warning[0]
    assert not (tmp_path / "no").exists() and len(nb.requests) == 1


@pytest.mark.parametrize("kind", ["folder", "binary"])
def test_an_unreadable_replay_file_is_one_line_before_asking(replaying, tmp_path, kind):
    nb = replaying
    path = tmp_path / "store"
    if kind == "folder":
        path.mkdir()
    else:
        path.write_bytes(b"\xff\xfe\x00garbage\x80")
    nb.magics.replay_file = str(path)
    result, captured = nb.run("%%claude\nQuestion")
    from conftest import error_text

    shown = error_text(captured).strip()
    assert len(shown.splitlines()) == 1 and f"replay_file '{path}'" in shown and "Traceback" not in shown
    assert ("is a folder" if kind == "folder" else "not UTF-8") in shown
    assert result.error_in_exec is not None and nb.sim.requests == [] and captured.outputs == []


def test_a_torn_last_line_costs_one_replay_not_the_next(replaying, tmp_path):
    nb = replaying
    nb.sim.queue(Reply.text("First."), Reply.text("Second."))
    nb.run("%%claude --no-history\nOne")
    store = tmp_path / "claude_replay.jsonl"
    store.write_bytes(store.read_bytes()[:-40])  # the kernel died mid-write
    nb.run("%%claude --no-history\nTwo")
    again = restart(nb)
    _, captured = again.run("%%claude --no-history\nTwo")
    assert again.requests == [] and final_markdown(captured).startswith("Second.")
