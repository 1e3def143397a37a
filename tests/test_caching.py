"""Prompt caching: each turn reads the conversation so far from the cache (simulator accounting)."""

from __future__ import annotations

from conftest import final_markdown

from claude_magic.simulator import Reply

LONG = " ".join(f"word{i}" for i in range(300))


def test_each_turn_reads_the_previous_turns_from_cache(nb):
    nb.magics.cache = True
    nb.sim.cache_min_tokens = 100
    nb.sim.queue(Reply.text("First answer."), Reply.text("Second answer."), Reply.text("Third."))
    nb.run(f"%%claude\n{LONG}")
    first = nb.ns["last_message"].usage
    assert first.cache_creation_input_tokens > 0 and first.cache_read_input_tokens == 0

    _, captured = nb.run("%%claude\nAnd then?")
    second = nb.ns["last_message"].usage
    assert second.cache_read_input_tokens == first.cache_creation_input_tokens
    marks = [block.get("cache_control") for m in nb.requests[-1]["body"]["messages"]
             if isinstance(m["content"], list) for block in m["content"]]
    assert marks.count({"type": "ephemeral"}) == 2  # end of the history, end of the new turn
    assert f"cache read {second.cache_read_input_tokens:,}" in final_markdown(captured)

    nb.run("%%claude\nOne more.")
    third = nb.ns["last_message"].usage
    assert third.cache_read_input_tokens == second.cache_read_input_tokens + second.cache_creation_input_tokens


def test_cache_off_sends_no_marks(nb):
    nb.magics.cache = False
    nb.run("%%claude\nhi")
    assert "cache_control" not in str(nb.requests[-1]["body"])
