"""%claude usage: tokens per chat and model, priced only where a price is known."""

from __future__ import annotations

from anthropic.types import Message
from conftest import final_markdown

from claude_magic.costs import PRICES, Ledger, estimate
from claude_magic.simulator import Reply


def message(model="claude-sonnet-4-5", **usage):
    return Message.model_validate({
        "id": "m", "type": "message", "role": "assistant", "model": model, "content": [],
        "stop_reason": "end_turn", "stop_sequence": None,
        "usage": {"input_tokens": 1_000_000, "output_tokens": 100_000, **usage},
    })


def test_estimate_uses_every_kind_of_token():
    row = {"requests": 1, "input": 1_000_000, "output": 1_000_000, "cache_read": 1_000_000, "cache_write": 1_000_000}
    price = PRICES["claude-sonnet-4-5"]
    assert estimate(row, price) == price["input"] + price["output"] + price["cache_read"] + price["cache_write"]
    assert estimate(row, None) is None and estimate(row, {"input": 1.0}) is None


def test_table_prices_known_models_and_never_guesses():
    ledger = Ledger()
    ledger.add("default", message(cache_read_input_tokens=500_000))
    ledger.add("default", message("my-local-model"))
    ledger.add("--map --batch", message(), batch=True)
    table = ledger.table({})
    assert "| default | `claude-sonnet-4-5` | 1 | 1,000,000 | 100,000 | 500,000 | 0 | \\$4.6500 |" in table
    assert "| default | `my-local-model` | 1 | 1,000,000 | 100,000 | 0 | 0 | price unknown |" in table
    assert "| \\--map --batch | `claude-sonnet-4-5` | 1 | 1,000,000 | 100,000 | 0 | 0 | \\$2.2500 |" in table
    custom = {"my-local-model": {"input": 1.0, "output": 2.0, "cache_read": 0.1, "cache_write": 1.25}}
    assert "| \\$1.2000 |" in ledger.table(custom)


def test_usage_command_totals_what_the_chats_spent(nb, monkeypatch):
    unpriced = "claude-haiku-5-5"  # every simulated model is priced: take one price away
    monkeypatch.delitem(PRICES, unpriced)
    nb.sim.queue(Reply.text("a b c"), Reply.text("d e"), Reply.text("f"))
    nb.run("%%claude\nfirst")
    nb.run("%%claude\nsecond")
    nb.run("%%claude --chat side\nthird")
    nb.run("%claude reset")  # resetting a chat forgets its turns, not what they cost
    nb.run(f"%%claude -m {unpriced}\nfourth")
    _, captured = nb.run("%claude usage")
    table = final_markdown(captured)
    default = next(line for line in table.splitlines() if line.startswith("| default | `claude-sonnet-5-5`"))
    assert "| 2 |" in default and "| 5 |" in default  # two requests, 3 + 2 output tokens
    assert "$" in default
    local = next(line for line in table.splitlines() if unpriced in line)
    assert "price unknown" in local
    assert any(line.startswith("| side ") for line in table.splitlines())
    nb.run(f"%config ClaudeMagics.prices = {{'{unpriced}': "
           "{'input': 3.0, 'output': 15.0, 'cache_read': 0.3, 'cache_write': 3.75}}")
    _, captured = nb.run("%claude usage")
    assert "price unknown" not in final_markdown(captured) and "$" in final_markdown(captured)
