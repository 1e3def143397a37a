"""--map: one template over many items, concurrently or as a Message Batch; aligned results, none lost."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from conftest import Notebook, error_text, final_markdown

from claude_magic.mapping import Failed
from claude_magic.simulator import Reply


def posted(nb, path):
    return [r for r in nb.sim.requests if r["method"] == "POST" and r["path"] == path]


def test_list_items_come_back_aligned(nb):
    nb.ns["cities"] = ["Paris", "Oslo", "Rome", "Lima", "Kyiv"]
    result, captured = nb.run("%%claude --map cities --out facts --max-tokens 40\nOne fact about {item}.")
    assert result.error_in_exec is None and result.result is None
    sent = sorted(r["body"]["messages"][0]["content"] for r in nb.requests)
    assert sent == sorted(f"One fact about {c}." for c in nb.ns["cities"])
    facts = nb.ns["facts"]
    assert isinstance(facts, list) and len(facts) == 5
    for city, fact in zip(nb.ns["cities"], facts):
        assert city in fact  # the simulator's answer quotes its prompt
    assert all(r["body"]["messages"] == [r["body"]["messages"][0]] for r in nb.requests)  # no history
    assert final_markdown(captured).startswith("✓ 5 of 5 answered")
    import claude_magic

    assert claude_magic.history() == []


def test_dataframe_columns_are_fields_and_the_series_keeps_the_index(nb):
    nb.ns["df"] = pd.DataFrame({"city": ["Paris", "Lima"], "country": ["France", "Peru"]}, index=[10, 20])
    nb.run("%%claude --map df --out answers\nIs {city} in {country}?")
    answers = nb.ns["answers"]
    assert list(answers.index) == [10, 20]
    assert "Paris" in answers[10] and "Lima" in answers[20]


def test_an_item_that_fails_says_why_and_the_others_still_answer(nb):
    nb.magics.map_concurrency = 1  # one at a time, so the scripted error meets the second item
    nb.ns["words"] = ["alpha", "beta", "gamma"]
    nb.sim.queue(Reply.text("A."), Reply.http_error(400, message="bad item"), Reply.text("C."))
    _, captured = nb.run("%%claude --map words --out out\nDefine {item}")
    out = nb.ns["out"]
    assert out[0] == "A." and out[2] == "C."
    assert isinstance(out[1], Failed) and "bad item" in out[1].error and not out[1]
    assert "⚠ 1 failed" in final_markdown(captured)


def test_map_of_a_missing_or_wrong_variable_is_bad_input(nb):
    nb.ns["text"] = "not a list"
    for cell, expected in (("%%claude --map nope\n{item}", "no variable 'nope'"),
                           ("%%claude --map text\n{item}", "needs a list, pandas Series or DataFrame")):
        _, captured = nb.run(cell)
        assert expected in error_text(captured)
    assert nb.requests == []


@pytest.fixture
def batching(nb, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    nb.sim.batch_polls = 3
    return nb


def test_batch_submits_once_polls_with_progress_and_aligns_results(batching, tmp_path):
    nb = batching
    nb.ns["s"] = pd.Series(["red", "green", "blue"], index=["a", "b", "c"])
    nb.sim.queue(Reply.text("Warm."), Reply.http_error(400, message="no colours today"))
    _, captured = nb.run("%%claude --map s --batch --out feel\nHow does {item} feel?")
    (create,) = posted(nb, "/v1/messages/batches")
    assert [r["custom_id"] for r in create["body"]["requests"]] == ["item-0", "item-1", "item-2"]
    assert create["body"]["requests"][2]["params"]["messages"][0]["content"] == "How does blue feel?"
    feel = nb.ns["feel"]
    assert list(feel.index) == ["a", "b", "c"] and feel["a"] == "Warm."
    assert isinstance(feel["b"], Failed) and "no colours today" in feel["b"].error
    assert "blue" in feel["c"]
    assert len(nb.sleeps) == 2  # polled until the batch ended, sleeping between polls
    bars = [o.data["text/markdown"] for o in captured.outputs]
    assert any("batch `msgbatch_" in bar and "in_progress" in bar for bar in bars)
    assert final_markdown(captured).startswith("✓ 2 of 3 answered · ⚠ 1 failed")
    assert not (tmp_path / "claude_batches.json").exists()  # nothing pending, nothing left behind


def test_a_batch_survives_a_kernel_restart(batching, tmp_path):
    nb = batching
    nb.ns["items"] = ["one", "two"]

    def stop(seconds):
        raise KeyboardInterrupt

    nb.session.sleep = stop
    result, captured = nb.run("%%claude --map items --batch --out out\nSay {item}")
    assert isinstance(result.error_in_exec, KeyboardInterrupt)
    assert "keeps running. Re-run this cell" in error_text(captured)
    assert len(json.loads((tmp_path / "claude_batches.json").read_text())) == 1

    sim = nb.sim
    nb.session.connection._simulator = None  # the server outlives the kernel, as the real API would
    nb.shell.run_line_magic("unload_ext", "claude_magic")
    nb.shell.run_line_magic("load_ext", "claude_magic")
    again = Notebook(nb.shell)
    again.session.connection._simulator = sim
    again.sim = sim
    again.session.connection.simulator_announced = True
    again.ns["items"] = ["one", "two"]
    again.run("%%claude --map items --batch --out out\nSay {item}")
    assert len(posted(again, "/v1/messages/batches")) == 1  # picked up, not paid for twice
    assert ["one" in again.ns["out"][0], "two" in again.ns["out"][1]] == [True, True]
