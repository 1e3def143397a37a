"""A budget is never exceeded: refusals before anything is sent (cell, tool round, --map item, --batch,
unknown price), the reservation ledger under concurrency, and what `%claude usage` and the footer say."""

from __future__ import annotations

import random
import threading

import pytest
from conftest import error_text, final_markdown

from claude_magic.budget import Budget, OverBudget, input_bound, worst_case
from claude_magic.costs import PRICES
from claude_magic.mapping import Failed
from claude_magic.simulator import Reply

SONNET = PRICES["claude-sonnet-5-5"]  # $2 in, $10 out per million


def test_a_cell_whose_worst_case_does_not_fit_is_refused_in_one_line_before_sending(nb):
    nb.magics.budget = 0.01
    result, captured = nb.run("%%claude --max-tokens 2000\nExplain entropy.")  # 2,000 × $10/M = $0.02 alone
    text = error_text(captured)
    assert result.error_in_exec is not None and nb.requests == []
    assert "Budget $0.01 for this session: $0.00 spent" in text and "could cost up to $0.02" in text
    assert "lower `--max-tokens`" in text and "Traceback" not in text and len(text.strip().splitlines()) == 1


def test_a_cell_that_fits_is_sent_and_settled_at_its_real_cost(nb):
    nb.magics.budget = 0.05
    nb.run("%%claude --max-tokens 2000\nExplain entropy.")
    usage = nb.ns["last_message"].usage
    real = (usage.input_tokens * SONNET["input"] + usage.output_tokens * SONNET["output"]) / 1e6
    budget = nb.session.budget
    assert budget.spent == pytest.approx(real) and budget.reserved == 0
    assert [entry.event for entry in budget.journal] == ["reserve", "settle", "reserve", "settle"]  # check, then ask
    assert budget.peak <= 0.05


def test_cell_budget_caps_one_cell_within_the_sessions(nb):
    result, captured = nb.run("%%claude --budget 0.001 --max-tokens 500\nHi")
    assert "Budget $0.001 for this cell" in error_text(captured) and "`--budget USD`" in error_text(captured)
    assert nb.requests == []
    nb.run("%%claude --budget 0.02 --max-tokens 500\nHi")
    assert nb.ns["last_message"].stop_reason == "end_turn"
    for bad in ("-1", "nan", "x"):
        _, captured = nb.run(f"%%claude --budget {bad}\nHi")
        assert "--budget" in error_text(captured) and "Traceback" not in error_text(captured)


def test_a_model_without_a_price_is_refused_while_a_budget_is_set(nb):
    nb.magics.budget = 5.0
    _, captured = nb.run("%%claude -m claude-mystery-1\nHi")
    assert "no price is known for model 'claude-mystery-1'" in error_text(captured) and nb.requests == []
    nb.magics.prices = {"claude-mystery-1": {"input": 1, "output": 1, "cache_read": 0.1, "cache_write": 1.25}}
    _, captured = nb.run("%%claude -m claude-mystery-1\nHi")
    assert "no price" not in error_text(captured) and len(nb.requests) == 1  # priced now: asked (the server 404s)


def test_a_tool_round_that_cannot_be_afforded_stops_the_loop_keeping_the_answer_so_far(nb):
    nb.shell.run_cell("def fetch(url: str) -> str:\n    'Fetch a page.'\n    return 'x ' * 20000")
    nb.magics.budget = 0.03  # round 1's worst case is ~$0.011; round 2 carries 40 kB of tool result
    nb.sim.queue(Reply.tool_use("fetch", {"url": "https://example.com"}, text="Fetching."), Reply.text("Done."))
    result, captured = nb.run("%%claude --tools fetch --max-tokens 1000\nRead example.com")
    text = error_text(captured)
    assert len(nb.requests) == 1 and "Budget $0.03 for this session" in text and "Nothing was sent" in text
    assert nb.ns["last_message"].stop_reason == "tool_use"  # round 1 paid for, kept
    assert "over budget" in final_markdown(captured)
    assert nb.session.budget.peak <= 0.03 and nb.session.budget.reserved == 0


def test_map_items_that_cannot_be_afforded_fail_aligned_and_the_rest_are_kept(nb):
    nb.magics.budget = 0.015  # each item's worst case ~$0.0105: one at a time, until the spent leaves no room
    nb.ns["items"] = list(range(12))
    nb.run("%%claude --map items --out out --max-tokens 1000\nSay {item}.")
    out = nb.ns["out"]
    answered = [n for n, answer in enumerate(out) if not isinstance(answer, Failed)]
    refused = [answer for answer in out if isinstance(answer, Failed)]
    assert answered and refused and len(answered) == len(nb.requests)
    assert all(answer.error.startswith("budget: up to $0.01") for answer in refused)
    budget = nb.session.budget
    assert budget.spent <= 0.015 and budget.peak <= 0.015 and budget.reserved == 0
    assert all(entry.spent + entry.reserved <= 0.015 + 1e-12 for entry in budget.journal)


def test_a_batch_is_priced_at_batch_rates_and_submitted_only_if_it_fits(nb, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    nb.ns["items"] = ["a", "b", "c", "d"]
    request = {"model": "claude-sonnet-5-5", "max_tokens": 1000,
               "messages": [{"role": "user", "content": "Say a."}]}
    full = 4 * worst_case(request, SONNET, input_bound(request))
    nb.magics.budget = full / 2 * 0.9
    _, captured = nb.run("%%claude --map items --batch --max-tokens 1000\nSay {item}.")
    assert "at batch rates" in error_text(captured)
    assert not [r for r in nb.sim.requests if r["path"] == "/v1/messages/batches"]
    nb.magics.budget = full / 2 * 1.1  # fits at half price, not at full price
    nb.magics.batch_poll_interval = 0
    nb.run("%%claude --map items --batch --out out --max-tokens 1000\nSay {item}.")
    assert all(isinstance(answer, str) for answer in nb.ns["out"])
    assert 0 < nb.session.budget.spent < full / 4 and nb.session.budget.reserved == 0


def test_reservations_never_exceed_the_budget_under_concurrency():
    budget = Budget(cap=1.0)
    request = {"model": "claude-sonnet-5-5", "max_tokens": 3000, "messages": [{"role": "user", "content": "x"}]}
    refused = []

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        for _ in range(40):
            try:
                hold = budget.hold({**request, "max_tokens": rng.randint(100, 5000)}, wait=rng.random() < 0.5)
            except OverBudget:
                refused.append(1)
                continue
            if rng.random() < 0.2:
                hold.release()
            else:
                hold._close(hold.amount * rng.random())

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert refused and budget.reserved == pytest.approx(0, abs=1e-9)
    assert all(entry.spent + entry.reserved <= 1.0 + 1e-9 for entry in budget.journal)
    assert budget.peak <= 1.0 + 1e-9 and budget.spent <= 1.0


def test_usage_shows_spent_budget_and_reserved_and_the_footer_warns_below_a_fifth(nb):
    _, captured = nb.run("%claude usage")
    assert "Budget" not in captured.outputs[-1].data["text/markdown"]
    nb.magics.budget = 0.04
    _, captured = nb.run("%%claude --max-tokens 500\nHi")
    assert "budget" not in final_markdown(captured)  # most of it is left: nothing to say
    _, captured = nb.run("%claude usage")
    shown = captured.outputs[-1].data["text/markdown"]
    assert r"**Budget** \$0.04 for this session" in shown and "reserved \\$0.00 ·" in shown and "spent \\$0.0" in shown
    nb.session.budget.spent = 0.035  # as if earlier cells had spent most of it
    _, captured = nb.run("%%claude --max-tokens 100\nHi")
    assert r"⚠ budget: \$0.00" in final_markdown(captured) and r"of \$0.04 left" in final_markdown(captured)
    nb.magics.budget = None
    _, captured = nb.run("%%claude --max-tokens 100\nHi")
    assert "budget" not in final_markdown(captured)



def test_ask_takes_a_budget_in_dollars(nb):
    import claude_magic

    with pytest.raises(OverBudget, match="for this cell"):
        claude_magic.ask("Hi", budget=0.0001, max_tokens=500)
    assert nb.requests == []
    assert claude_magic.ask("Hi", budget=0.5, max_tokens=500).stop_reason == "end_turn"


def test_a_replayed_answer_is_free_under_a_budget(nb, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    nb.run("%%claude --replay --no-history --max-tokens 500\nHi")
    nb.magics.budget = 0.001  # below the cell's worst case: asking again would be refused
    _, captured = nb.run("%%claude --replay --no-history --max-tokens 500\nHi")
    assert "↺ replayed" in final_markdown(captured) and len(nb.requests) == 1
    assert nb.session.budget.spent == 0
