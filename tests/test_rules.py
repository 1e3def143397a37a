"""The simulator enforces the model table and the API version's rules, as the real API refuses them."""

from __future__ import annotations

import anthropic
import pytest

from claude_magic.simulator import Simulator
from claude_magic.simulator.answers import sign, signer

PROMPT = [{"role": "user", "content": "What's the weather in Paris?"}]
WEATHER = {
    "name": "get_weather",
    "description": "Current weather for a place",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
CITED = {"type": "text", "text": "Paris is in France.",
         "citations": [{"type": "char_location", "cited_text": "Paris", "document_index": 0, "document_title": None,
                        "start_char_index": 0, "end_char_index": 5}]}
DOCUMENT = {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "Some notes."}}


@pytest.fixture(scope="module")
def sim():
    with Simulator() as simulator:
        yield simulator


@pytest.fixture(scope="module")
def client(sim):
    return anthropic.Anthropic(base_url=sim.url, api_key="sk-test", max_retries=0)


@pytest.fixture(scope="module")
def legacy(sim):
    """A client that asks for the older API version, as SDKs before 2.x do."""
    return anthropic.Anthropic(base_url=sim.url, api_key="sk-test", max_retries=0,
                               default_headers={"anthropic-version": "2023-06-01"})


def refused(client, **request) -> str:
    body = {"model": "claude-sonnet-5-5", "max_tokens": 1024, "messages": PROMPT, "timeout": 30, **request}
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.messages.create(**body)
    assert caught.value.body["error"]["type"] == "invalid_request_error"
    return caught.value.body["error"]["message"]


def accepted(client, **request):
    body = {"model": "claude-sonnet-5-5", "max_tokens": 1024, "messages": PROMPT, "timeout": 30, **request}
    return client.messages.create(**body)


def test_sdk_2_sends_the_current_api_version(client, sim):
    sim.clear()
    accepted(client)
    assert sim.requests[-1]["headers"]["anthropic-version"] == "2026-10-21"


@pytest.mark.parametrize("name, value", [("temperature", 1.0), ("temperature", 0.2), ("top_p", 0.9), ("top_k", 5)])
def test_sampling_parameters_are_gone_in_2026_10_21_even_at_their_defaults(client, name, value):
    assert refused(client, extra_body={name: value}) == f"{name}: Extra inputs are not permitted"


def test_the_older_version_takes_default_sampling_values_and_older_models_any(legacy):
    assert accepted(legacy, extra_body={"temperature": 1.0}).content
    assert "only the default value" in refused(legacy, extra_body={"temperature": 0.2})
    assert accepted(legacy, model="claude-sonnet-4-6", extra_body={"temperature": 0.2, "top_k": 5}).content


def test_an_unknown_parameter_is_refused_under_either_version(client, legacy):
    for sdk in (client, legacy):
        assert refused(sdk, extra_body={"frobnicate": True}) == "frobnicate: Extra inputs are not permitted"
    with pytest.raises(anthropic.BadRequestError, match="max_tokens: Extra inputs are not permitted"):
        client.messages.count_tokens(model="claude-sonnet-5-5", messages=PROMPT, extra_body={"max_tokens": 5})


def test_a_missing_or_unknown_api_version_is_refused(sim):
    for version in (anthropic.Omit(), "2024-01-01"):
        client = anthropic.Anthropic(base_url=sim.url, api_key="k", max_retries=0,
                                     default_headers={"anthropic-version": version})
        with pytest.raises(anthropic.BadRequestError, match="anthropic-version"):
            client.messages.create(model="claude-sonnet-5-5", max_tokens=10, messages=PROMPT)


def test_document_blocks_in_assistant_turns_and_cited_user_text_are_refused_in_2026_10_21(client, legacy):
    in_assistant = [*PROMPT, {"role": "assistant", "content": [DOCUMENT, {"type": "text", "text": "Noted."}]},
                    {"role": "user", "content": "And?"}]
    cited = [{"role": "user", "content": [CITED]}]
    search_result = [{"role": "user", "content": [{"type": "search_result", "source": "https://x", "title": "X",
                                                   "content": [CITED]}]}]
    assert "messages.1.content.0: document blocks" in refused(client, messages=in_assistant)
    assert "messages.0.content.0: citations" in refused(client, messages=cited)
    assert "citations" in refused(client, messages=search_result)
    for messages in (in_assistant, cited):  # the older version still takes both
        assert accepted(legacy, messages=messages).content
    # A document in a user turn is fine, and so is a user text block whose citations are empty.
    assert accepted(client, messages=[{"role": "user", "content": [DOCUMENT, {**CITED, "citations": []}]}]).content


def test_max_tokens_above_the_models_output_limit_names_the_limit(client):
    assert refused(client, max_tokens=500_000) == (
        "max_tokens: 500000 > 128000, which is the maximum allowed number of output tokens for claude-sonnet-5-5"
    )
    assert "64000" in refused(client, model="claude-haiku-4-5", max_tokens=64_001)
    assert accepted(client, max_tokens=128_000).content


def test_manual_thinking_budgets_are_refused_on_adaptive_only_models(client):
    budget = {"type": "enabled", "budget_tokens": 2000}
    for model in ("claude-sonnet-5-5", "claude-opus-5-5", "claude-opus-4-7"):
        assert refused(client, model=model, max_tokens=4000, thinking=budget).startswith(
            '"thinking.type.enabled" is not supported for this model. Use "thinking.type.adaptive"'
        )
    assert accepted(client, model="claude-sonnet-4-6", max_tokens=4000, thinking=budget).content[0].type == "thinking"
    assert '"thinking.type.adaptive" is not supported' in refused(
        client, model="claude-haiku-4-5", thinking={"type": "adaptive"}
    )
    assert '"thinking.type.disabled" is not supported' in refused(client, thinking={"type": "disabled"})


def test_a_budget_must_be_at_least_1024_and_below_max_tokens(client):
    model = "claude-haiku-4-5"
    assert "greater than or equal to 1024" in refused(client, model=model, thinking={"type": "enabled", "budget_tokens": 500})
    assert "`max_tokens` must be greater" in refused(
        client, model=model, max_tokens=2000, thinking={"type": "enabled", "budget_tokens": 2000}
    )


@pytest.mark.parametrize("choice", [{"type": "any"}, {"type": "tool", "name": "get_weather"}])
def test_forced_tool_use_is_refused_on_the_5_5_models_only(client, choice):
    assert "forced tool use" in refused(client, tools=[WEATHER], tool_choice=choice)
    assert "forced tool use" in refused(client, model="claude-opus-5-5", tools=[WEATHER], tool_choice=choice)
    message = accepted(client, model="claude-sonnet-5", tools=[WEATHER], tool_choice=choice)
    assert message.stop_reason == "tool_use"
    assert accepted(client, tools=[WEATHER], tool_choice={"type": "auto"}).stop_reason == "tool_use"


def test_thinking_text_is_omitted_by_default_on_newer_models_unless_summarized(client):
    omitted = accepted(client, thinking={"type": "adaptive"}).content[0]
    assert omitted.type == "thinking" and omitted.thinking == "" and omitted.signature
    shown = accepted(client, thinking={"type": "adaptive", "display": "summarized"}).content[0]
    assert "The user asks" in shown.thinking and shown.signature == omitted.signature
    assert "The user asks" in accepted(client, model="claude-sonnet-4-6", thinking={"type": "adaptive"}).content[0].thinking
    assert "thinking.display" in refused(client, thinking={"type": "adaptive", "display": "loud"})


def test_on_the_5_5_models_text_between_tool_calls_comes_back_in_a_thinking_block(client):
    quiet = accepted(client, tools=[WEATHER])
    assert [block.type for block in quiet.content] == ["thinking", "tool_use"]
    assert quiet.content[0].thinking == ""
    shown = accepted(client, tools=[WEATHER], thinking={"type": "adaptive", "display": "summarized"})
    assert [block.type for block in shown.content] == ["thinking", "thinking", "tool_use"]
    assert shown.content[1].thinking == "I'll use the `get_weather` tool for this."
    earlier = accepted(client, model="claude-sonnet-5", tools=[WEATHER])
    assert [block.type for block in earlier.content] == ["text", "tool_use"]


def test_thinking_blocks_go_back_only_to_the_model_that_produced_them(client):
    first = accepted(client, model="claude-opus-5-5", thinking={"type": "adaptive", "display": "summarized"})
    assert signer(first.content[0].signature) == "claude-opus-5-5"
    history = [*PROMPT, {"role": "assistant", "content": [block.model_dump(exclude_none=True) for block in first.content]},
               {"role": "user", "content": "Thanks. And tomorrow?"}]
    assert accepted(client, model="claude-opus-5-5", messages=history).content
    assert "messages.1.content.0: Invalid `signature` in `thinking` block" in refused(client, messages=history)
    # Models before the 5.5 generation do not check whose block it is.
    assert accepted(client, model="claude-sonnet-4-6", messages=history).content
    assert signer("not base64!") is None and signer(sign("m", "t")) == "m"


def test_a_batch_request_is_judged_by_the_same_rules(client):
    batch = client.messages.batches.create(requests=[
        {"custom_id": "ok", "params": {"model": "claude-sonnet-5-5", "max_tokens": 100, "messages": PROMPT}},
        {"custom_id": "hot", "params": {"model": "claude-sonnet-5-5", "max_tokens": 100, "messages": PROMPT,
                                        "temperature": 0.5}},
    ])
    while client.messages.batches.retrieve(batch.id).processing_status != "ended":
        pass
    results = {result.custom_id: result.result for result in client.messages.batches.results(batch.id)}
    assert results["ok"].type == "succeeded"
    assert results["hot"].error.error.message == "temperature: Extra inputs are not permitted"
