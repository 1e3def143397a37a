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
    assert len(stored.splitlines()) == 3 and all(json.loads(line)["key"] for line in stored.splitlines())


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
