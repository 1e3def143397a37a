"""Providers: cells through `use_client` and `ClaudeMagics.provider`, with the SDK's real Bedrock, Vertex and
Foundry clients talking to the simulator's routes for each."""

from __future__ import annotations

import sys

import anthropic
import pytest
from conftest import error_text, final_markdown

import claude_magic
from claude_magic.simulator import Reply

VERTEX_PATH = "/v1/projects/proj-1/locations/us-east5/publishers/anthropic/models/"
SECRET = "AKIA-not-a-real-key-1234"


def vertex_client(sim):
    return anthropic.AnthropicVertex(base_url=f"{sim.url}/v1", region="us-east5", project_id="proj-1",
                                     access_token="ya29.dummy-token")


@pytest.fixture
def bedrock_env(nb, monkeypatch):
    """`provider = "bedrock"`, configured as a user would: the SDK's and AWS's own variables."""
    monkeypatch.setenv("ANTHROPIC_BEDROCK_BASE_URL", nb.sim.url)
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", SECRET)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret-" + SECRET)
    monkeypatch.setenv("AWS_SESSION_TOKEN", "session-" + SECRET)
    for name in ("AWS_BEARER_TOKEN_BEDROCK", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    nb.run('%config ClaudeMagics.provider = "bedrock"')
    return nb


def test_use_client_sends_cells_through_the_vertex_client(nb):
    claude_magic.use_client(vertex_client(nb.sim))
    nb.sim.queue(Reply.text("Hello from Vertex."))
    result, captured = nb.run("%%claude\nSay hello.")
    assert result.error_in_exec is None, error_text(captured)
    request = nb.sim.requests[-1]
    assert request["path"] == VERTEX_PATH + "claude-sonnet-5-5:streamRawPredict"
    assert "model" not in request["body"] and request["body"]["anthropic_version"]
    assert request["body"]["messages"] == [{"role": "user", "content": "Say hello."}]
    assert final_markdown(captured).startswith("Hello from Vertex.")
    assert nb.ns["last_message"].content[0].text == "Hello from Vertex."
    # The next cell continues the chat through the same client; the token is never recorded.
    nb.run("%%claude\nAgain.")
    assert len(nb.sim.requests[-1]["body"]["messages"]) == 3
    assert "ya29.dummy-token" not in str(nb.sim.requests)


def test_use_client_none_goes_back_to_the_default(nb):
    claude_magic.use_client(vertex_client(nb.sim))
    claude_magic.use_client(None)
    nb.run("%%claude\nHi.")
    assert len(nb.requests) == 1 and all("projects" not in r["path"] for r in nb.sim.requests)


def test_vertex_counts_tokens_and_says_what_it_lacks_in_one_line(nb):
    claude_magic.use_client(vertex_client(nb.sim))
    result, captured = nb.run("%%claude --count\nHow many tokens?")
    assert result.error_in_exec is None, error_text(captured)
    assert nb.sim.requests[-1]["path"] == VERTEX_PATH + "count-tokens:rawPredict"
    before = len(nb.sim.requests)
    result, captured = nb.run("%claude models")
    assert error_text(captured).strip() == (
        "Google Vertex AI does not offer the models endpoint (provider = 'vertex'): `%claude models` lists the "
        "API's models only.")
    nb.shell.user_ns["xs"] = ["a", "b"]
    result, captured = nb.run("%%claude --map xs --batch\nSay {item}")
    assert "Google Vertex AI does not offer Message Batches" in error_text(captured)
    assert len(nb.sim.requests) == before  # nothing was sent


def test_provider_bedrock_streams_through_the_event_stream_route(bedrock_env):
    nb = bedrock_env
    nb.sim.queue(Reply.text("Hello from Bedrock, in frames."))
    result, captured = nb.run("%%claude -m anthropic.claude-sonnet-5-5-v1:0\nSay hello.")
    assert result.error_in_exec is None, error_text(captured)
    request = nb.sim.requests[-1]
    assert request["path"] == "/model/anthropic.claude-sonnet-5-5-v1:0/invoke-with-response-stream"
    assert "model" not in request["body"] and "stream" not in request["body"]
    assert request["headers"]["x-amz-date"]  # signed by the SDK with the AWS credential chain
    assert SECRET not in str(nb.sim.requests)
    assert final_markdown(captured).startswith("Hello from Bedrock, in frames.")
    # The context gauge comes from the model table: Bedrock has no models endpoint to ask.
    assert not any(r["path"].startswith("/v1/models") for r in nb.sim.requests)
    assert nb.session.windows.known(nb.session.client(), "anthropic.claude-sonnet-5-5-v1:0") == 1_000_000


def test_bedrock_midstream_error_keeps_the_partial_answer(bedrock_env):
    nb = bedrock_env
    nb.sim.queue(Reply.error_event(after=2, text="one two three four five six"))
    result, captured = nb.run("%%claude\nCount.")
    assert result.error_in_exec is not None
    assert "mid-answer" in error_text(captured) and "Traceback" not in error_text(captured)
    assert nb.ns["last_message"].content[0].text.startswith("one two")


def test_bedrock_lacks_are_one_line_each_and_nothing_is_sent(bedrock_env):
    nb = bedrock_env
    before = len(nb.sim.requests)
    for cell, said in [("%claude models", "Amazon Bedrock does not offer the models endpoint"),
                       ("%%claude --count\nHi", "Amazon Bedrock does not offer token counting"),
                       ("%claude tokens", "Amazon Bedrock does not offer token counting"),
                       ("%%claude --web\nNews?", "Amazon Bedrock does not offer the web search tool")]:
        if cell == "%claude tokens":
            nb.run("%%claude\nHi")
            before = len(nb.sim.requests)
        result, captured = nb.run(cell)
        text = error_text(captured).strip()
        assert result.error_in_exec is not None and said in text, (cell, text)
        assert len(text.splitlines()) == 1 and "Traceback" not in text
    assert len(nb.sim.requests) == before


def test_bedrock_errors_are_its_own_shape_and_one_line(bedrock_env):
    nb = bedrock_env
    _, captured = nb.run("%%claude -m anthropic.claude-nonexistent-v1:0\nHi")
    assert "Unknown model" in error_text(captured) and "claude-nonexistent" in error_text(captured)


def test_provider_without_its_settings_is_one_line(nb, monkeypatch):
    for name in ("CLOUD_ML_REGION", "ANTHROPIC_VERTEX_PROJECT_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setitem(sys.modules, "google.auth", None)  # as in a venv without google-auth
    nb.run('%config ClaudeMagics.provider = "vertex"')
    _, captured = nb.run("%%claude\nHi")
    assert error_text(captured).strip() == ("provider = 'vertex' needs google.auth: `pip install "
                                            "'claude-magic[vertex]'`, then run the cell again.")
    assert nb.sim.requests == []


def test_provider_settings_missing_name_the_variable(nb, monkeypatch):
    monkeypatch.delenv("ANTHROPIC_FOUNDRY_API_KEY", raising=False)
    monkeypatch.delenv("ANTHROPIC_FOUNDRY_RESOURCE", raising=False)
    nb.run('%config ClaudeMagics.provider = "foundry"')
    _, captured = nb.run("%%claude\nHi")
    text = error_text(captured).strip()
    assert text.startswith("Microsoft Foundry (provider = 'foundry'): ") and "ANTHROPIC_FOUNDRY_API_KEY" in text
    assert len(text.splitlines()) == 1


def test_provider_foundry_answers_and_its_key_is_never_recorded(nb, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_FOUNDRY_API_KEY", SECRET)
    monkeypatch.setenv("ANTHROPIC_FOUNDRY_BASE_URL", nb.sim.url)
    monkeypatch.delenv("ANTHROPIC_FOUNDRY_RESOURCE", raising=False)
    nb.run('%config ClaudeMagics.provider = "foundry"')
    nb.sim.queue(Reply.text("From Foundry."))
    result, captured = nb.run("%%claude\nHi")
    assert result.error_in_exec is None, error_text(captured)
    assert final_markdown(captured).startswith("From Foundry.")
    assert SECRET not in str(nb.sim.requests)
    # A changed variable rebuilds the client: the next cell reaches the new address.
    monkeypatch.setenv("ANTHROPIC_FOUNDRY_BASE_URL", "http://127.0.0.1:9")
    nb.magics.max_retries = 0
    _, captured = nb.run("%%claude\nHi")
    assert "Cannot reach http://127.0.0.1:9" in error_text(captured)


def test_use_client_keeps_the_clients_own_headers_and_serves_the_helpers(nb):
    mine = anthropic.Anthropic(api_key="mine", base_url=nb.sim.url, default_headers={"x-team": "notebooks"})
    claude_magic.use_client(mine)
    claude_magic.ask("Hi")
    assert nb.sim.requests[-1]["headers"]["x-team"] == "notebooks"
    helper = claude_magic.client()
    assert helper.base_url == mine.base_url and helper._custom_headers["x-team"] == "notebooks"
    with pytest.raises(claude_magic.errors.BadInput, match="no async client"):
        claude_magic.async_client()
    claude_magic.use_client(mine, anthropic.AsyncAnthropic(api_key="mine", base_url=nb.sim.url))
    assert isinstance(claude_magic.async_client(), anthropic.AsyncAnthropic)


def test_use_client_refuses_what_is_not_an_sdk_client(nb):
    _, captured = nb.run("import claude_magic\nclaude_magic.use_client('sk-ant-123')")
    assert error_text(captured).strip().endswith("use_client takes an SDK client (Anthropic, AnthropicBedrock, "
                                                 "AnthropicVertex, AnthropicFoundry), not str.")
    assert "Traceback" not in error_text(captured)


def test_a_bedrock_client_without_botocore_is_refused_in_one_line(nb, monkeypatch):
    client = anthropic.AnthropicBedrock(base_url=nb.sim.url, aws_region="us-east-1", api_key="bedrock-key")
    monkeypatch.setitem(sys.modules, "botocore", None)  # as in a venv without the bedrock extra
    with pytest.raises(claude_magic.errors.BadInput, match=r"needs botocore: `pip install 'claude-magic\[bedrock\]'`"):
        claude_magic.use_client(client)


def test_bedrock_map_asks_each_item_through_its_streaming_route(bedrock_env):
    nb = bedrock_env
    nb.shell.user_ns["xs"] = ["tide", "moon"]
    nb.sim.queue(Reply.text("one"), Reply.text("two"))
    result, captured = nb.run("%%claude --map xs --out said -m anthropic.claude-haiku-4-5-v1:0\nSay {item}")
    assert result.error_in_exec is None, error_text(captured)
    paths = [r["path"] for r in nb.sim.requests]
    # --map streams each item (its rate-limit headers come at once): Bedrock's streaming route.
    assert paths == ["/model/anthropic.claude-haiku-4-5-v1:0/invoke-with-response-stream"] * 2
    assert sorted(map(str, nb.ns["said"])) == ["one", "two"], nb.ns["said"]
