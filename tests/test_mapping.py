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
    assert len(json.loads((tmp_path / "claude_batches.json").read_text())["batches"]) == 1

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


def stop_polling(seconds):
    raise KeyboardInterrupt


def test_a_stored_batch_gone_from_the_server_is_said_dropped_and_submitted_afresh(batching, tmp_path):
    nb = batching
    nb.ns["items"] = ["one", "two"]
    nb.session.sleep = stop_polling
    nb.run("%%claude --map items --batch --out out\nSay {item}")
    (gone,) = [r["body"] for r in posted(nb, "/v1/messages/batches")]
    stored = json.loads((tmp_path / "claude_batches.json").read_text())["batches"]
    (old_id,) = [ids[0] for ids in stored.values()]
    nb.sim.clear()  # the server forgot it: expired, or deleted
    nb.session.sleep = nb.sleeps.append
    result, captured = nb.run("%%claude --map items --batch --out out\nSay {item}")
    assert result.error_in_exec is None, error_text(captured)
    notes = [o.data["text/markdown"] for o in captured.outputs if "is gone from the server" in o.data["text/markdown"]]
    assert len(notes) == 1 and old_id in notes[0] and "submitting a fresh one" in notes[0]
    (fresh,) = posted(nb, "/v1/messages/batches")
    assert fresh["body"] == gone  # the same requests, submitted again
    assert "one" in nb.ns["out"][0] and "two" in nb.ns["out"][1]
    assert not (tmp_path / "claude_batches.json").exists()
    assert "Traceback" not in error_text(captured)


def test_a_stored_batch_is_only_looked_for_on_the_server_it_was_sent_to(batching, tmp_path):
    from claude_magic.simulator import Simulator

    nb = batching
    nb.ns["items"] = ["one"]
    nb.session.sleep = stop_polling
    nb.run("%%claude --map items --batch\nSay {item}")
    (old_id,) = [ids[0] for ids in json.loads((tmp_path / "claude_batches.json").read_text())["batches"].values()]
    with Simulator(batch_polls=1) as other:
        nb.session.connection._simulator, first = other, nb.session.connection._simulator
        nb.session.connection._signature = None  # rebuild the client for the other server
        nb.session.sleep = nb.sleeps.append
        try:
            result, captured = nb.run("%%claude --map items --batch\nSay {item}")
        finally:
            nb.session.connection._simulator = first
            nb.session.connection._signature = None
        assert result.error_in_exec is None, error_text(captured)
        assert not any(old_id in r["path"] for r in other.requests)
        assert [r["path"] for r in other.requests if r["method"] == "POST"] == ["/v1/messages/batches"]
    # the first server's batch is still kept for the first server
    assert [ids[0] for ids in json.loads((tmp_path / "claude_batches.json").read_text())["batches"].values()] == [old_id]


def test_the_batch_file_is_a_setting_and_written_whole(batching, tmp_path):
    nb = batching
    (tmp_path / "state").mkdir()
    nb.shell.run_line_magic("config", "ClaudeMagics.batch_file = 'state/batches.json'")
    nb.ns["items"] = ["one", "two"]
    nb.session.sleep = stop_polling
    nb.run("%%claude --map items --batch\nSay {item}")
    assert [p.name for p in (tmp_path / "state").iterdir()] == ["batches.json"]  # no temporary file left
    assert not (tmp_path / "claude_batches.json").exists()
    (ids,) = json.loads((tmp_path / "state" / "batches.json").read_text())["batches"].values()
    assert len(ids) == 1 and any(r["path"] == f"/v1/messages/batches/{ids[0]}" for r in nb.sim.requests)


def test_a_batch_that_cannot_be_submitted_is_one_line(nb, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-key")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")  # nothing listens there
    nb.ns["items"] = ["one", "two"]
    result, captured = nb.run("%%claude --map items --batch\nSay {item}")
    shown = error_text(captured).strip()
    assert shown.startswith("--map --batch: Cannot reach http://127.0.0.1:9")
    assert "Nothing was submitted: re-run the cell" in shown and len(shown.splitlines()) == 1
    assert "Traceback" not in shown and "sk-ant-test-key" not in shown
    assert result.error_in_exec.__cause__ is not None  # %tb still reaches the SDK's error
    assert not (tmp_path / "claude_batches.json").exists()


def test_an_input_above_the_batch_limits_is_split_and_resumed_together(batching, tmp_path, monkeypatch):
    from claude_magic import mapping
    from claude_magic.simulator import batches

    nb = batching
    monkeypatch.setattr(batches, "MAX_REQUESTS", 2)  # the server refuses more in one batch
    monkeypatch.setattr(mapping, "MAX_BATCH_REQUESTS", 2)
    nb.ns["items"] = ["a", "b", "c", "d", "e"]
    nb.session.sleep = stop_polling
    result, captured = nb.run("%%claude --map items --batch --out out\nSay {item}")
    assert isinstance(result.error_in_exec, KeyboardInterrupt), error_text(captured)
    created = posted(nb, "/v1/messages/batches")
    assert [[r["custom_id"] for r in c["body"]["requests"]] for c in created] == [
        ["item-0", "item-1"], ["item-2", "item-3"], ["item-4"]]
    (ids,) = json.loads((tmp_path / "claude_batches.json").read_text())["batches"].values()
    assert len(ids) == 3 and len(set(ids)) == 3
    nb.session.sleep = nb.sleeps.append
    result, captured = nb.run("%%claude --map items --batch --out out\nSay {item}")
    assert result.error_in_exec is None, error_text(captured)
    assert len(posted(nb, "/v1/messages/batches")) == 3  # resumed, none submitted twice
    assert [item in answer for item, answer in zip("abcde", nb.ns["out"])] == [True] * 5
    assert final_markdown(captured).startswith("✓ 5 of 5 answered")
    assert not (tmp_path / "claude_batches.json").exists()


def test_a_batch_above_the_size_limit_is_split_by_bytes(batching, monkeypatch):
    from claude_magic import mapping

    nb = batching
    monkeypatch.setattr(mapping, "MAX_BATCH_BYTES", 600)
    nb.ns["items"] = [f"item number {n} " + "x" * 100 for n in range(6)]
    result, captured = nb.run("%%claude --map items --batch --out out --max-tokens 50\nSay {item}")
    assert result.error_in_exec is None, error_text(captured)
    created = posted(nb, "/v1/messages/batches")
    assert len(created) > 1
    assert all(len(json.dumps(c["body"]).encode()) <= 600 for c in created)
    assert [f"item number {n} " in answer for n, answer in enumerate(nb.ns["out"])] == [True] * 6


def test_map_count_previews_and_asks_nothing(nb):
    nb.ns["cities"] = ["Paris", "Oslo", "Rome"]
    nb.ns.pop("facts", None)
    result, captured = nb.run("%%claude --map cities --count --out facts\nOne fact about {item}.")
    assert result.error_in_exec is None, error_text(captured)
    assert {r["path"] for r in nb.sim.requests} == {"/v1/messages/count_tokens"} and len(nb.sim.requests) == 3
    assert sorted(r["body"]["messages"][0]["content"] for r in nb.sim.requests) == [
        "One fact about Oslo.", "One fact about Paris.", "One fact about Rome."]
    shown = final_markdown(captured)
    assert "**--map cities: 3 prompts**" in shown and "nothing was asked" in shown
    assert "count_tokens on all 3 prompts" in shown and "```\nOne fact about Paris.\n```" in shown
    from claude_magic.simulator.answers import count_tokens

    assert f"**{sum(count_tokens(r['body']) for r in nb.sim.requests):,} input tokens** in all" in shown
    assert "facts" not in nb.ns and "last_map" not in nb.ns


def test_map_count_of_many_items_counts_a_sample_and_says_so(nb):
    nb.ns["numbers"] = list(range(500))
    _, captured = nb.run("%%claude --map numbers --batch --count\nIs {item} prime?")
    assert {r["path"] for r in nb.sim.requests} == {"/v1/messages/count_tokens"} and len(nb.sim.requests) == 20
    shown = final_markdown(captured)
    assert "**--map numbers: 500 prompts**" in shown and "as a Message Batch" in shown
    assert "count_tokens on 20 of the 500 prompts" in shown and "```\nIs 0 prime?" in shown
    assert "**≈ " in shown
    counted = {r["body"]["messages"][0]["content"] for r in nb.sim.requests}
    assert {"Is 0 prime?", "Is 499 prime?"} <= counted


def test_stop_during_map_keeps_what_finished_and_marks_the_rest(nb):
    import signal

    from claude_magic.simulator import Reply

    nb.magics.map_concurrency = 1
    nb.ns["words"] = ["alpha", "beta", "gamma"]
    nb.sim.queue(Reply.text("A."), Reply.stall(seconds=2, text="B."), Reply.text("C."))
    calls = []

    def clock():  # the progress bar reads the clock when an answer is in: a real SIGINT arrives then
        calls.append(1)
        if len(calls) == 2:
            signal.raise_signal(signal.SIGINT)
        return 1000.0 + len(calls)

    nb.session.clock = clock
    result, captured = nb.run("%%claude --map words --out out\nDefine {item}")
    assert isinstance(result.error_in_exec, KeyboardInterrupt)
    assert "the answers so far are in `out` and `last_map`" in error_text(captured)
    out = nb.ns["out"]
    assert out[0] == "A." and out[1] == Failed("stopped") and out[2] == Failed("stopped")
    assert nb.ns["last_map"][0].content[0].text == "A." and nb.ns["last_map"][2] == Failed("stopped")
    assert final_markdown(captured).startswith("⏹ stopped by you · ✓ 1 of 3 answered · ⚠ 2 failed")
    assert "Traceback" not in error_text(captured)
    assert len(nb.requests) < 3  # the last item was never asked


def test_map_times_itself_with_the_session_clock(nb):
    from conftest import FakeClock

    nb.session.clock = FakeClock(step=0.5)
    nb.ns["items"] = ["one", "two", "three"]
    _, captured = nb.run("%%claude --map items\nSay {item}")
    # read at the start, once per answer (the progress bar), and at the end: four steps apart
    assert "· 2.0 s ·" in final_markdown(captured).splitlines()[0]
