"""The magic fits its requests to the model table before sending: what reaches the server is accepted."""

from __future__ import annotations

import pytest
from conftest import error_text, final_markdown

from claude_magic.errors import BadInput
from claude_magic.simulator.answers import signer

WEATHER = '''
def get_weather(city: str) -> str:
    """Current weather for a city."""
    return f"Sunny in {city}"
'''


def footer(captured) -> str:
    return final_markdown(captured).rsplit("<sub>", 1)[1]


def test_a_thinking_budget_on_an_adaptive_only_model_sends_adaptive_thinking_and_says_so(nb):
    result, captured = nb.run("%%claude --thinking 2000 --max-tokens 4000\nIs 91 prime?")
    assert result.error_in_exec is None, error_text(captured)
    assert nb.requests[-1]["body"]["thinking"] == {"type": "adaptive", "display": "summarized"}
    assert footer(captured).count("--thinking 2000: claude-sonnet-5-5 decides how much to think (adaptive)") == 1
    thinking = nb.ns["last_message"].content[0]
    assert thinking.type == "thinking" and "Is 91 prime?" in thinking.thinking  # shown, not omitted
    _, captured = nb.run("%%claude\nAnd 97?")
    assert "adaptive" not in footer(captured)  # said once, for the cell that asked


def test_bare_thinking_is_adaptive_and_a_budget_only_model_refuses_it_in_one_line(nb):
    nb.run("%%claude --thinking\nhi")
    assert nb.requests[-1]["body"]["thinking"] == {"type": "adaptive", "display": "summarized"}
    nb.run("%%claude -m claude-sonnet-4-6 --thinking\nhi")
    assert nb.requests[-1]["body"]["thinking"] == {"type": "adaptive"}  # 4.6 shows thinking by default
    sent = len(nb.requests)
    _, captured = nb.run("%%claude -m claude-haiku-4-5 --thinking\nhi")
    assert "claude-haiku-4-5 has no adaptive thinking; give it a budget" in error_text(captured)
    assert "Traceback" not in error_text(captured) and len(nb.requests) == sent
    nb.run("%%claude -m claude-haiku-4-5 --thinking 2000 --max-tokens 4000\nhi")
    assert nb.requests[-1]["body"]["thinking"] == {"type": "enabled", "budget_tokens": 2000}


def test_thinking_budget_is_checked_whatever_the_model(nb):
    for line in ("--thinking 500", "--thinking 5000 --max-tokens 4000", "-m my-local-model --thinking 500"):
        _, captured = nb.run(f"%%claude {line}\nhi")
        assert "at least 1024 tokens" in error_text(captured)
    assert nb.requests == []


def test_max_tokens_above_the_models_limit_is_one_line(nb):
    _, captured = nb.run("%%claude --max-tokens 500000\nhi")
    assert "--max-tokens 500,000: claude-sonnet-5-5 writes at most 128,000 tokens" in error_text(captured)
    assert "Traceback" not in error_text(captured) and nb.requests == []
    _, captured = nb.run("%%claude -m claude-haiku-4-5 --max-tokens 100000\nhi")
    assert "at most 64,000" in error_text(captured) and nb.requests == []
    nb.run("%%claude --max-tokens 128000\nhi")
    assert nb.requests[-1]["body"]["max_tokens"] == 128_000
    nb.run("%%claude -m my-local-model --max-tokens 500000\nhi")  # unknown: the server decides
    assert nb.requests[-1]["body"]["max_tokens"] == 500_000


def test_switching_models_mid_chat_leaves_the_other_models_thinking_out(nb):
    nb.run("%%claude -m claude-opus-5-5 --thinking\nIs 91 prime?")
    opus_block = nb.requests[-1]
    assert signer(nb.ns["last_message"].content[0].signature) == "claude-opus-5-5"
    result, captured = nb.run("%%claude --thinking\nAnd 97?")  # the default model, Sonnet 5.5
    assert result.error_in_exec is None, error_text(captured)
    history = nb.requests[-1]["body"]["messages"]
    assert [block["type"] for block in history[1]["content"]] == ["text"]
    result, captured = nb.run("%%claude -m claude-opus-5-5\nAnd 101?")
    assert result.error_in_exec is None, error_text(captured)
    history = nb.requests[-1]["body"]["messages"]
    # Each model gets its own thinking back, and nobody else's.
    assert [block["type"] for block in history[1]["content"]] == ["thinking", "text"]
    assert [block["type"] for block in history[3]["content"]] == ["text"]
    assert opus_block["body"]["model"] == "claude-opus-5-5"


def test_with_tools_on_a_5_5_model_the_text_between_tool_calls_is_shown(nb):
    nb.shell.run_cell(WEATHER)
    result, captured = nb.run("%%claude --tools get_weather\nWeather in Paris?")
    assert result.error_in_exec is None, error_text(captured)
    assert nb.requests[0]["body"]["thinking"] == {"type": "adaptive", "display": "summarized"}
    assert "I'll use the `get_weather` tool for this." in final_markdown(captured)
    nb.run("%%claude -m claude-sonnet-5 --tools get_weather\nWeather in Rome?")
    assert "thinking" not in nb.requests[-1]["body"]  # earlier models write that text as text


def test_ask_from_code_is_fitted_the_same_way(nb):
    import claude_magic

    message = claude_magic.ask("Is 91 prime?", thinking=3000, max_tokens=8000)
    assert nb.requests[-1]["body"]["thinking"] == {"type": "adaptive", "display": "summarized"}
    assert message.content[0].type == "thinking"
    sent = len(nb.requests)
    with pytest.raises(BadInput, match="writes at most 128,000 tokens"):
        claude_magic.ask("hi", max_tokens=200_000)
    assert len(nb.requests) == sent
