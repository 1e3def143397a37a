"""The simulator, driven by the unmodified anthropic SDK over real HTTP."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import timedelta
from functools import partial
from pathlib import Path

import anthropic
import httpx2
import pytest
from conftest import FIXTURES

from claude_magic.simulator import MODELS, Reply, Simulator, count_tokens

MODEL = "claude-sonnet-4-6"
PROMPT = [{"role": "user", "content": "How do I reverse a list in Python?"}]
WEATHER = {
    "name": "get_weather",
    "description": "Current weather for a place",
    "input_schema": {
        "type": "object",
        "properties": {
            "location": {"type": "string"},
            "days": {"type": "integer"},
            "metric": {"type": "boolean"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            "note": {"type": "string"},
        },
        "required": ["location", "days", "metric", "unit"],
    },
}


@pytest.fixture
def sim():
    with Simulator() as simulator:
        yield simulator


@pytest.fixture
def client(sim):
    return anthropic.Anthropic(base_url=sim.url, api_key="sk-test", max_retries=0)


def ask(client, **overrides):
    """Stream one request through messages.stream: (the text it streamed, the final message)."""
    request = {"model": MODEL, "max_tokens": 1024, "messages": PROMPT, **overrides}
    with client.messages.stream(**request) as stream:
        text = "".join(stream.text_stream)
        return text, stream.get_final_message()


def raw_events(client, **overrides):
    """Every server-sent event of a streamed request, pings included, with the response headers."""
    request = {"model": MODEL, "max_tokens": 1024, "messages": PROMPT, "stream": True, **overrides}
    with client.messages.with_streaming_response.create(**request) as response:
        return list(anthropic.Stream.raw_events(response.http_response)), response.headers


def first_words(text, count):
    return "".join(re.findall(r"\s*\S+", text)[:count])


def test_streamed_text_is_the_final_message(client, sim):
    text, message = ask(client)

    assert text == message.content[0].text
    assert text.startswith("## How do I reverse a list in Python?\n\n")
    assert "```python\n" in text and "\n- **" in text and "offline simulator" in text
    assert 100 <= len(text.split()) <= 180
    assert message.id.startswith("msg_sim_")
    assert (message.model, message.stop_reason, message.stop_sequence) == (MODEL, "end_turn", None)
    assert message.usage.input_tokens == count_tokens(sim.requests[-1]["body"]) == 8
    assert message.usage.output_tokens == len(re.findall(r"\s*\S+", text))


def test_events_come_in_the_real_order_with_a_ping(client):
    events, headers = raw_events(client)

    names = [event.event for event in events]
    deltas = names.count("content_block_delta")
    assert names == [
        "message_start",
        "content_block_start",
        "ping",
        *["content_block_delta"] * deltas,
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    assert events[2].data == '{"type": "ping"}'
    start = events[0].json()["message"]
    assert (start["role"], start["content"], start["stop_reason"], start["model"]) == (
        "assistant",
        [],
        None,
        MODEL,
    )
    assert start["usage"] == {
        "input_tokens": 8,
        "output_tokens": 1,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 0,
    }
    assert events[-2].json() == {
        "type": "message_delta",
        "delta": {"stop_reason": "end_turn", "stop_sequence": None},
        "usage": {"output_tokens": deltas},
    }
    assert headers["content-type"] == "text/event-stream; charset=utf-8"
    assert headers["transfer-encoding"] == "chunked"
    assert headers["request-id"].startswith("req_sim_")


def test_the_same_request_gets_the_same_answer_streamed_or_not(client):
    text, streamed = ask(client)
    message = client.messages.create(model=MODEL, max_tokens=1024, messages=PROMPT)

    assert message.content[0].text == text
    assert message.usage == streamed.usage
    assert message.stop_reason == "end_turn"


def test_answers_show_the_turn_number_in_a_conversation(client):
    history = [
        *PROMPT,
        {"role": "assistant", "content": "Use reversed()."},
        {"role": "user", "content": "And tuples?"},
    ]
    first, _ = ask(client)
    later, _ = ask(client, messages=history)

    assert "(turn" not in first
    assert "(turn 2 of this conversation)" in later and "And tuples?" in later


def test_count_tokens_matches_the_usage_and_grows_with_the_request(client):
    counted = client.messages.count_tokens(model=MODEL, messages=PROMPT).input_tokens
    with_system = client.messages.count_tokens(model=MODEL, messages=PROMPT, system="Be brief.").input_tokens
    with_tools = client.messages.count_tokens(model=MODEL, messages=PROMPT, tools=[WEATHER]).input_tokens

    assert counted == ask(client)[1].usage.input_tokens == count_tokens({"messages": PROMPT})
    assert with_system == counted + 2
    assert with_tools > counted


def test_models_are_listed_and_retrieved(client):
    assert [model.id for model in client.models.list()] == list(MODELS)
    model = client.models.retrieve("claude-opus-4-8")
    assert (model.display_name, model.type, model.lifecycle) == ("Claude Opus 4.8", "model", "active")
    with pytest.raises(anthropic.NotFoundError, match="model: claude-nonexistent"):
        client.models.retrieve("claude-nonexistent")


VALID = {"model": MODEL, "max_tokens": 100, "messages": PROMPT}
USER = {"role": "user", "content": "Hi"}


@pytest.mark.parametrize(
    ("body", "error", "message"),
    [
        ({"model": MODEL, "messages": PROMPT}, anthropic.BadRequestError, "max_tokens: Field required"),
        ({**VALID, "max_tokens": 0}, anthropic.BadRequestError, "max_tokens: Input should be"),
        ({"model": MODEL, "max_tokens": 100}, anthropic.BadRequestError, "messages: Field required"),
        ({**VALID, "messages": []}, anthropic.BadRequestError, "at least one message"),
        (
            {**VALID, "messages": [{"role": "assistant", "content": "Hi"}]},
            anthropic.BadRequestError,
            'first message must use the "user" role',
        ),
        ({**VALID, "messages": [USER, USER]}, anthropic.BadRequestError, "roles must alternate"),
        (
            {**VALID, "messages": [{"role": "user", "content": ""}]},
            anthropic.BadRequestError,
            "non-empty content",
        ),
        (
            {**VALID, "messages": [{"role": "user", "content": [{"type": "text", "text": ""}]}]},
            anthropic.BadRequestError,
            "text content blocks must be non-empty",
        ),
        (
            {**VALID, "messages": [USER, {"role": "assistant", "content": "Sure, "}]},
            anthropic.BadRequestError,
            "cannot end with trailing whitespace",
        ),
        ({**VALID, "model": "claude-nonexistent"}, anthropic.NotFoundError, "model: claude-nonexistent"),
    ],
)
def test_invalid_requests_get_the_real_error(client, sim, body, error, message):
    sim.queue(Reply.text("kept for the next valid request"))
    with pytest.raises(error) as caught:
        client.post("/v1/messages", body=body, cast_to=anthropic.types.Message)

    assert caught.value.body["type"] == "error"
    assert message in caught.value.body["error"]["message"]
    assert caught.value.body["request_id"] == caught.value.request_id
    assert caught.value.request_id.startswith("req_sim_")
    assert ask(client)[0] == "kept for the next valid request"


def test_a_body_that_is_not_json_is_a_bad_request(client):
    with pytest.raises(anthropic.BadRequestError, match="not valid JSON"):
        client.post(
            "/v1/messages",
            content=b"{not json",
            cast_to=anthropic.types.Message,
            options={"headers": {"content-type": "application/json"}},
        )


def test_a_request_without_a_key_is_unauthenticated(sim):
    keyless = anthropic.Anthropic(
        base_url=sim.url,
        api_key="sk-test",
        max_retries=0,
        default_headers={"Authorization": anthropic.Omit(), "X-Api-Key": anthropic.Omit()},
    )
    with pytest.raises(anthropic.AuthenticationError, match="x-api-key header is required"):
        keyless.messages.create(model=MODEL, max_tokens=100, messages=PROMPT)


def test_unknown_paths_are_not_found(client):
    with pytest.raises(anthropic.NotFoundError):
        client.get("/v1/nothing-here", cast_to=object)


def test_a_request_the_simulator_cannot_answer_is_an_api_error_not_a_hang_up(client):
    with pytest.raises(anthropic.InternalServerError, match="could not handle"):
        client.post("/v1/messages", body={**VALID, "stop_sequences": [1]}, cast_to=anthropic.types.Message)


def test_the_key_is_never_recorded(client, sim):
    ask(client)
    client.messages.count_tokens(model=MODEL, messages=PROMPT)

    assert [(entry["method"], entry["path"]) for entry in sim.requests] == [
        ("POST", "/v1/messages"),
        ("POST", "/v1/messages/count_tokens"),
    ]
    assert sim.requests[0]["body"]["messages"] == PROMPT
    assert "anthropic-version" in sim.requests[0]["headers"]
    assert all({"x-api-key", "authorization"}.isdisjoint(entry["headers"]) for entry in sim.requests)
    assert "sk-test" not in json.dumps(sim.requests)


def test_queued_replies_come_in_order_then_answers_are_generated_again(client, sim):
    sim.queue(Reply.text("first"), Reply.text("second"))
    first, second, generated = (ask(client)[0] for _ in range(3))
    assert (first, second) == ("first", "second")
    assert generated.startswith("## ")

    sim.queue(Reply.text("dropped by clear"))
    sim.clear()
    assert sim.requests == []
    assert ask(client)[0].startswith("## ")


@pytest.mark.parametrize(
    ("status", "error", "error_type"),
    [
        (400, anthropic.BadRequestError, "invalid_request_error"),
        (401, anthropic.AuthenticationError, "authentication_error"),
        (403, anthropic.PermissionDeniedError, "permission_error"),
        (404, anthropic.NotFoundError, "not_found_error"),
        (413, anthropic.ContentTooLargeError, "request_too_large"),
        (429, anthropic.RateLimitError, "rate_limit_error"),
        (500, anthropic.InternalServerError, "api_error"),
        (503, anthropic.ServiceUnavailableError, "overloaded_error"),
        (529, anthropic.OverloadedError, "overloaded_error"),
    ],
)
def test_http_errors_have_the_real_types(client, sim, status, error, error_type):
    sim.queue(Reply.http_error(status))
    with pytest.raises(error) as caught:
        ask(client)
    assert caught.value.body["error"]["type"] == error_type
    if status == 529:
        assert caught.value.body["error"]["message"] == "Overloaded"


def test_a_rate_limit_carries_retry_after(client, sim):
    sim.queue(Reply.http_error(429, retry_after=7, message="Slow down", headers={"x-extra": "1"}))
    with pytest.raises(anthropic.RateLimitError, match="Slow down") as caught:
        ask(client)
    assert caught.value.response.headers["retry-after"] == "7"
    assert caught.value.response.headers["x-extra"] == "1"


def test_an_error_event_interrupts_a_200_stream(client, sim):
    full, _ = ask(client)
    sim.queue(Reply.error_event(after=3))
    with client.messages.stream(model=MODEL, max_tokens=1024, messages=PROMPT) as stream:
        with pytest.raises(anthropic.APIStatusError) as caught:
            for _ in stream:
                pass
        assert stream.current_message_snapshot.content[0].text == first_words(full, 3)
    assert caught.value.status_code == 200
    assert caught.value.body == {
        "type": "error",
        "error": {"type": "overloaded_error", "message": "Overloaded"},
    }


def chain(exc: BaseException | None) -> list[BaseException]:
    """An exception and its causes: the SDK's wrapper (from 2.17) and the network's own error under it."""
    found = []
    while exc is not None and exc not in found:
        found.append(exc)
        exc = exc.__cause__ or exc.__context__
    return found


def test_a_dropped_chunked_stream_fails_as_an_incomplete_chunked_read(client, sim):
    """The chunked body never gets its terminator: the client fails (whatever class the installed SDK
    wraps that in) with the text so far in the snapshot, unlike `close` framing, which ends silently."""
    sim.queue(Reply.drop(after=2, text="alpha beta gamma delta"))
    with client.messages.stream(model=MODEL, max_tokens=1024, messages=PROMPT) as stream:
        with pytest.raises(Exception) as caught:
            for _ in stream:
                pass
        assert stream.current_message_snapshot.content[0].text == "alpha beta"
    assert not isinstance(caught.value, anthropic.APIStatusError)
    protocol = [e for e in chain(caught.value) if isinstance(e, httpx2.RemoteProtocolError)]
    assert protocol and "incomplete chunked read" in str(protocol[0])


def test_a_stream_dropped_with_close_framing_ends_silently(client, sim):
    sim.queue(Reply.drop(after=2, framing="close", text="alpha beta gamma delta"))
    with client.messages.stream(model=MODEL, max_tokens=1024, messages=PROMPT) as stream:
        for _ in stream:
            pass
        snapshot = stream.current_message_snapshot
        headers = stream.response.headers
    assert (snapshot.content[0].text, snapshot.stop_reason) == ("alpha beta", None)
    assert headers["connection"] == "close"
    assert "content-length" not in headers and "transfer-encoding" not in headers


def test_a_truncated_stream_ends_silently(client, sim):
    sim.queue(Reply.truncate(after=2, text="alpha beta gamma delta"))
    with client.messages.stream(model=MODEL, max_tokens=1024, messages=PROMPT) as stream:
        events = [event.type for event in stream]
        snapshot = stream.current_message_snapshot
    assert (snapshot.content[0].text, snapshot.stop_reason) == ("alpha beta", None)
    assert "content_block_stop" not in events and "message_stop" not in events


def test_a_stall_pauses_then_finishes(client, sim):
    sim.queue(Reply.stall(after=2, seconds=0.3, text="alpha beta gamma delta"))
    started = time.monotonic()
    text, message = ask(client)
    assert time.monotonic() - started >= 0.3
    assert (text, message.stop_reason) == ("alpha beta gamma delta", "end_turn")


def test_a_stall_longer_than_the_client_timeout_is_a_read_timeout_and_stop_is_prompt(sim):
    impatient = anthropic.Anthropic(base_url=sim.url, api_key="sk-test", max_retries=0, timeout=0.5)
    sim.queue(Reply.stall(after=1, seconds=5))
    with pytest.raises(Exception) as caught:  # httpx2's ReadTimeout, wrapped by the SDK from 2.17
        ask(impatient)
    assert any(isinstance(e, httpx2.ReadTimeout) for e in chain(caught.value))
    started = time.monotonic()
    sim.stop()
    assert time.monotonic() - started < 1


def test_stop_returns_promptly_while_a_client_waits_on_a_stall(client, sim):
    sim.queue(Reply.stall(after=1, seconds=30))
    first_text = threading.Event()
    outcome = []

    def listen():
        try:
            with client.messages.stream(model=MODEL, max_tokens=1024, messages=PROMPT) as stream:
                for _ in stream.text_stream:
                    first_text.set()
            outcome.append("finished")
        except Exception as exc:  # noqa: BLE001 - checked below, whatever the SDK wrapped it in
            outcome.append(exc)

    listener = threading.Thread(target=listen)
    listener.start()
    assert first_text.wait(5)
    started = time.monotonic()
    sim.stop()
    assert time.monotonic() - started < 1
    listener.join(5)
    assert not listener.is_alive()
    assert len(outcome) == 1 and any(isinstance(e, httpx2.TransportError) for e in chain(outcome[0]))


def test_a_client_hanging_up_mid_stream_leaves_no_trace(client, sim, capfd):
    sim.pace = 200
    sim.queue(Reply.text("word " * 400))
    request = {"model": MODEL, "max_tokens": 1000, "messages": PROMPT, "stream": True}
    with httpx2.stream(
        "POST", f"{sim.url}/v1/messages", json=request, headers={"x-api-key": "k", "anthropic-version": "2026-10-21"}
    ) as response:
        next(response.iter_bytes())
    time.sleep(0.1)  # the server's next paced write now meets a closed socket

    sim.pace = 0
    assert ask(client)[0].startswith("## ")
    assert capfd.readouterr().err == ""


@pytest.mark.parametrize(
    ("fault", "error"),
    [(Reply.error_event(), anthropic.OverloadedError), (Reply.drop(), anthropic.APIConnectionError)],
)
def test_faults_break_a_non_streaming_request_whole(client, sim, fault, error):
    sim.queue(fault)
    with pytest.raises(error):
        client.messages.create(model=MODEL, max_tokens=100, messages=PROMPT)


def test_a_scripted_tool_use_streams_its_input_as_json_fragments(client, sim):
    arguments = {"location": "Paris", "unit": "celsius"}
    sim.queue(Reply.tool_use("get_weather", arguments, text="Let me check."))
    with client.messages.stream(model=MODEL, max_tokens=1024, messages=PROMPT, tools=[WEATHER]) as stream:
        fragments = [
            event.delta.partial_json
            for event in stream
            if event.type == "content_block_delta" and event.delta.type == "input_json_delta"
        ]
        message = stream.get_final_message()

    assert 3 <= len(fragments) <= 5 and "".join(fragments) == json.dumps(arguments)
    text, call = message.content
    assert (text.text, call.name, call.input) == ("Let me check.", "get_weather", arguments)
    assert call.id.startswith("toolu_sim_")
    assert message.stop_reason == "tool_use"


def test_offered_tools_are_called_and_their_results_quoted(client):
    ask_weather = [{"role": "user", "content": "What's the weather in Paris?"}]
    _, message = ask(client, messages=ask_weather, tools=[WEATHER])
    call = message.content[-1]
    assert message.stop_reason == "tool_use"
    assert call.input == {"location": "weather in Paris", "days": 1, "metric": True, "unit": "celsius"}

    result = {"type": "tool_result", "tool_use_id": call.id, "content": "18°C and sunny"}
    follow_up = [*ask_weather, message.to_param(), {"role": "user", "content": [result]}]
    text, answer = ask(client, messages=follow_up, tools=[WEATHER])
    assert "`get_weather`" in text and "18°C and sunny" in text
    assert answer.stop_reason == "end_turn"

    text, plain = ask(client, messages=ask_weather, tools=[WEATHER], tool_choice={"type": "none"})
    assert plain.stop_reason == "end_turn" and text.startswith("## ")


@pytest.mark.parametrize("thinking", [{"type": "enabled", "budget_tokens": 1024}, {"type": "adaptive"}])
def test_thinking_streams_before_the_text(client, thinking):
    events, _ = raw_events(client, max_tokens=2048, thinking=thinking)
    kinds = [event.json()["delta"]["type"] for event in events if event.event == "content_block_delta"]
    assert kinds[0] == "thinking_delta" and kinds[-1] == "text_delta"
    assert kinds[kinds.index("signature_delta") + 1 :].count("thinking_delta") == 0

    _, message = ask(client, max_tokens=2048, thinking=thinking)
    reasoning, text = message.content
    assert reasoning.type == "thinking" and "reverse a list" in reasoning.thinking and reasoning.signature
    assert text.type == "text" and text.text.startswith("## ")


def test_max_tokens_cuts_the_stream(client, sim):
    full = " ".join(f"w{i}" for i in range(20))
    sim.queue(Reply.text(full))
    text, message = ask(client, max_tokens=5)
    assert text == first_words(full, 5)
    assert (message.stop_reason, message.usage.output_tokens) == ("max_tokens", 5)


def test_a_small_max_tokens_gets_a_one_line_answer(client):
    text, message = ask(client, max_tokens=60)
    assert "\n" not in text and text.startswith("Offline answer to “") and message.stop_reason == "end_turn"


def test_stop_sequences_end_the_answer_before_them(client, sim):
    sim.queue(Reply.text("one two STOP three"))
    text, message = ask(client, stop_sequences=["never", "STOP"])
    assert text == "one two "
    assert (message.stop_reason, message.stop_sequence) == ("stop_sequence", "STOP")

    text, _ = ask(client, stop_sequences=["```"])
    assert "- **" in text and "```" not in text


def test_a_huge_answer_streams_one_word_per_delta(sim):
    # How fast is benchmarks/run.py's business (timed asserts flake on a busy machine).
    sim.queue(Reply.text("a " * 20000))
    request = {"model": MODEL, "max_tokens": 20000, "messages": PROMPT, "stream": True}
    with httpx2.stream(
        "POST", f"{sim.url}/v1/messages", json=request, headers={"x-api-key": "k", "anthropic-version": "2026-10-21"}
    ) as response:
        body = response.read()
    assert body.count(b'"type":"text_delta"') == 20000
    assert b'"stop_reason":"end_turn"' in body


def test_pace_spaces_out_the_deltas(client, sim):
    sim.pace = 40
    sim.queue(Reply.text("one two three four five six seven eight nine ten"))
    started = time.monotonic()
    ask(client)
    assert time.monotonic() - started >= 9 / 40

    sim.queue(Reply.text("one two three four five six seven eight nine ten", pace=10_000))
    started = time.monotonic()
    ask(client)
    assert time.monotonic() - started < 9 / 40


def test_the_module_serves_in_the_foreground_until_ctrl_c():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "claude_magic.simulator", "--port", str(port)],
        cwd=Path(__file__).resolve().parents[1],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            assert process.poll() is None, process.stderr.read()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the simulator never listened"
                time.sleep(0.05)
        response = httpx2.get(f"http://127.0.0.1:{port}/v1/models", headers={"x-api-key": "k"})
        assert response.status_code == 200
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=5)
    finally:
        process.kill()
    assert f"http://127.0.0.1:{port}" in stdout
    assert (process.returncode, stderr) == (0, "")


def _fixtures():
    return sorted(path for path in FIXTURES.iterdir() if path.suffix in (".txt", ".sse"))


@pytest.mark.parametrize("fixture", _fixtures(), ids=lambda path: path.name)
def test_recorded_streams_replay_byte_for_byte(client, sim, fixture):
    raw = fixture.read_bytes()
    # Served twice, framed differently (one chunk for the file, then one per event), built the same.
    sim.queue(Reply.sse(fixture), Reply.sse(raw, pace=1000))
    _, first = ask(client)
    _, second = ask(client)

    assert first.to_dict(warnings=False) == second.to_dict(warnings=False)
    data = [
        json.loads(line[len("data:") :]) for line in raw.decode().splitlines() if line.startswith("data:")
    ]
    deltas = [event["delta"] for event in data if event["type"] == "content_block_delta"]
    streamed = "".join(delta["text"] for delta in deltas if delta["type"] == "text_delta")
    assert "".join(block.text for block in first.content if block.type == "text") == streamed


EPHEMERAL = {"type": "ephemeral"}
# Over the default minimum of 1024 cacheable tokens, counting one token per word.
MANUAL = " ".join(f"Rule {number}: keep the notebook tidy." for number in range(1, 201))


def cached_text(text):
    return {"type": "text", "text": text, "cache_control": EPHEMERAL}


def usage_of(message):
    usage = message.usage
    return usage.input_tokens, usage.cache_creation_input_tokens, usage.cache_read_input_tokens


def test_a_long_conversation_is_written_to_the_cache_then_read_back_turn_by_turn(client):
    first = [{"role": "user", "content": [cached_text(MANUAL), cached_text("Which rule matters most?")]}]
    _, answer = ask(client, messages=first)
    first_count = client.messages.count_tokens(model=MODEL, messages=first).input_tokens
    assert first_count > 1024
    assert usage_of(answer) == (0, first_count, 0)

    second = [*first, answer.to_param(), {"role": "user", "content": [cached_text("And the next one?")]}]
    follow_up = client.messages.create(model=MODEL, max_tokens=1024, messages=second)
    second_count = client.messages.count_tokens(model=MODEL, messages=second).input_tokens
    assert usage_of(follow_up) == (0, second_count - first_count, first_count)

    events, _ = raw_events(client, messages=second)
    assert events[0].json()["message"]["usage"] == {
        "input_tokens": 0,
        "output_tokens": 1,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": second_count,
    }


def test_only_the_marked_prefix_is_cached_and_the_rest_is_plain_input(client):
    tail = "Answer in one line."
    messages = [{"role": "user", "content": [cached_text(MANUAL), {"type": "text", "text": tail}]}]
    _, first = ask(client, messages=messages)
    _, again = ask(client, messages=messages)

    count = client.messages.count_tokens(model=MODEL, messages=messages).input_tokens
    assert usage_of(first) == (4, count - 4, 0)
    assert usage_of(again) == (4, 0, count - 4)


def test_tools_and_system_cached_once_serve_every_conversation_of_the_same_model(client):
    tool = {**WEATHER, "cache_control": EPHEMERAL}
    system = [{"type": "text", "text": "You forecast the weather."}, cached_text(MANUAL)]
    setup = {"tools": [tool], "system": system}
    shared = count_tokens(setup)  # the tools and system prompt alone

    _, paris = ask(client, messages=[{"role": "user", "content": "Weather in Paris?"}], **setup)
    _, rome = ask(client, messages=[{"role": "user", "content": "Weather in Rome?"}], **setup)
    _, elsewhere = ask(
        client, model="claude-opus-4-8", messages=[{"role": "user", "content": "Rome?"}], **setup
    )

    assert usage_of(paris) == (3, shared, 0)
    assert usage_of(rome) == (3, 0, shared)
    assert usage_of(elsewhere) == (1, shared, 0)


def test_a_cached_prefix_more_than_20_blocks_back_is_not_found(client):
    notes = [{"type": "text", "text": f"Note {number}."} for number in range(25)]
    ask(client, messages=[{"role": "user", "content": [cached_text(MANUAL)]}])

    near = [
        {"role": "user", "content": [{"type": "text", "text": MANUAL}, *notes[:19], cached_text("Done.")]}
    ]
    far = [{"role": "user", "content": [{"type": "text", "text": MANUAL}, *notes, cached_text("Done.")]}]
    _, found = ask(client, messages=near)
    _, missed = ask(client, messages=far)

    manual = len(MANUAL.split())
    assert usage_of(found)[2] == manual
    assert usage_of(missed)[1:] == (manual + 51, 0)


def test_prompts_under_the_minimum_are_not_cached_and_clear_forgets_the_cache(client, sim):
    messages = [{"role": "user", "content": [cached_text("A short question about lists?")]}]
    assert [usage_of(ask(client, messages=messages)[1]) for _ in range(2)] == [(5, 0, 0)] * 2

    sim.cache_min_tokens = 5
    assert [usage_of(ask(client, messages=messages)[1]) for _ in range(2)] == [(0, 5, 0), (0, 0, 5)]
    sim.clear()
    assert usage_of(ask(client, messages=messages)[1]) == (0, 5, 0)


def test_more_than_four_cache_breakpoints_are_a_bad_request(client):
    content = [cached_text(f"Part {number}.") for number in range(3)]
    request = {
        "model": MODEL,
        "system": [cached_text("Be brief.")],
        "tools": [{**WEATHER, "cache_control": {"type": "ephemeral", "ttl": "1h"}}],
        "messages": [{"role": "user", "content": content}],
    }
    for call in (client.messages.count_tokens, partial(client.messages.create, max_tokens=100)):
        with pytest.raises(anthropic.BadRequestError, match="A maximum of 4 blocks with cache_control"):
            call(**request)
    assert client.messages.create(**{**request, "tools": [WEATHER]}, max_tokens=100).stop_reason


def batch_request(custom_id, prompt="How do I reverse a list in Python?", **params):
    messages = [{"role": "user", "content": prompt}]
    return {
        "custom_id": custom_id,
        "params": {"model": MODEL, "max_tokens": 1024, "messages": messages, **params},
    }


def test_a_batch_ends_after_its_polls_and_answers_each_request_in_order(client, sim):
    sim.queue(Reply.text("Scripted answer."), Reply.http_error(529))
    requests = [
        batch_request("scripted"),
        batch_request("overloaded"),
        batch_request("unknown-model", model="claude-nonexistent"),
        batch_request("generated"),
    ]
    batch = client.messages.batches.create(requests=requests)
    assert batch.id.startswith("msgbatch_sim_") and batch.type == "message_batch"
    assert (batch.processing_status, batch.request_counts.processing) == ("in_progress", 4)
    assert (batch.ended_at, batch.results_url) == (None, None)
    assert batch.expires_at - batch.created_at == timedelta(hours=24)
    assert client.messages.batches.retrieve(batch.id).processing_status == "in_progress"

    ended = client.messages.batches.retrieve(batch.id)
    assert ended.processing_status == "ended" and ended.ended_at >= ended.created_at
    counts = ended.request_counts
    assert (counts.processing, counts.succeeded, counts.errored, counts.canceled) == (0, 2, 2, 0)
    assert ended.results_url == f"{sim.url}/v1/messages/batches/{batch.id}/results"

    results = list(client.messages.batches.results(batch.id))
    assert [(line.custom_id, line.result.type) for line in results] == [
        ("scripted", "succeeded"),
        ("overloaded", "errored"),
        ("unknown-model", "errored"),
        ("generated", "succeeded"),
    ]
    assert results[0].result.message.content[0].text == "Scripted answer."
    assert results[1].result.error.error.type == "overloaded_error"
    assert results[2].result.error.error.message == "model: claude-nonexistent"
    alone = client.messages.create(**requests[3]["params"])
    assert results[3].result.message.content == alone.content
    assert results[3].result.message.usage.output_tokens == alone.usage.output_tokens


def test_the_sdk_refuses_results_before_the_batch_ends(client, sim):
    sim.batch_polls = 3
    batch = client.messages.batches.create(requests=[batch_request("only")])
    # results() retrieves the batch first, which counts as a poll like any other.
    with pytest.raises(anthropic.AnthropicError, match="No `results_url`"):
        client.messages.batches.results(batch.id)
    with pytest.raises(anthropic.NotFoundError, match="no results until it has ended"):
        client.get(f"/v1/messages/batches/{batch.id}/results", cast_to=object)
    assert client.messages.batches.retrieve(batch.id).processing_status == "in_progress"
    assert [line.result.type for line in client.messages.batches.results(batch.id)] == ["succeeded"]


def test_canceling_a_batch_cancels_what_has_not_finished(client, sim):
    sim.batch_polls = 4
    batch = client.messages.batches.create(requests=[batch_request(f"request-{n}") for n in range(4)])
    client.messages.batches.retrieve(batch.id)  # 1 poll of 4: the first request is done

    canceling = client.messages.batches.cancel(batch.id)
    assert canceling.processing_status == "canceling" and canceling.cancel_initiated_at is not None
    assert canceling.request_counts.processing == 4
    ended = client.messages.batches.retrieve(batch.id)
    assert ended.processing_status == "ended"
    assert (ended.request_counts.succeeded, ended.request_counts.canceled) == (1, 3)
    types = [line.result.type for line in client.messages.batches.results(batch.id)]
    assert types == ["succeeded", "canceled", "canceled", "canceled"]
    assert client.messages.batches.cancel(batch.id).request_counts.canceled == 3


def test_batches_are_listed_newest_first_page_by_page(client, sim):
    sim.batch_polls = 0
    created = [client.messages.batches.create(requests=[batch_request(f"n{n}")]) for n in range(3)]
    assert created[0].processing_status == "ended"

    first_page = client.messages.batches.list(limit=2)
    assert [batch.id for batch in first_page.data] == [created[2].id, created[1].id]
    assert first_page.has_more
    assert [batch.id for batch in client.messages.batches.list(limit=2)] == [b.id for b in reversed(created)]
    before = client.messages.batches.list(before_id=created[0].id, limit=1)
    assert [batch.id for batch in before.data] == [created[1].id] and before.has_more

    sim.clear()
    assert client.messages.batches.list().data == []


@pytest.mark.parametrize(
    ("requests", "message"),
    [
        ([], "at least one request"),
        ([batch_request("no spaces allowed")], "custom_id: String should match pattern"),
        ([batch_request("x" * 65)], "custom_id: String should match pattern"),
        ([batch_request("twice"), batch_request("twice")], "requests.1.custom_id: 'twice' is already used"),
        ([{"custom_id": "no-params"}], "requests.0.params: Input should be a valid dictionary"),
    ],
)
def test_invalid_batches_are_bad_requests(client, requests, message):
    with pytest.raises(anthropic.BadRequestError, match=re.escape(message)):
        client.messages.batches.create(requests=requests)
    assert client.messages.batches.list().data == []


def test_a_streaming_request_in_a_batch_errors_alone(client, sim):
    sim.batch_polls = 0
    batch = client.messages.batches.create(
        requests=[batch_request("streams", stream=True), batch_request("fine")]
    )
    errored, fine = client.messages.batches.results(batch.id)
    assert errored.result.error.error.type == "invalid_request_error"
    assert fine.result.type == "succeeded"


@pytest.mark.parametrize("call", ["retrieve", "cancel", "results"])
def test_unknown_batches_are_not_found(client, call):
    with pytest.raises(anthropic.NotFoundError, match="message batch: msgbatch_nope"):
        getattr(client.messages.batches, call)("msgbatch_nope")


def test_a_tool_use_not_answered_by_a_tool_result_in_the_next_message_is_refused_like_the_api(client):
    use = {"type": "tool_use", "id": "toolu_1", "name": "run_python", "input": {"code": "1"}}
    unanswered = [{"role": "user", "content": "go"}, {"role": "assistant", "content": [use]},
                  {"role": "user", "content": "and now?"}]
    with pytest.raises(anthropic.BadRequestError) as caught:
        client.messages.create(model=MODEL, max_tokens=100, messages=unanswered)
    assert "messages.2: `tool_use` ids were found without `tool_result` blocks immediately after: toolu_1" \
        in str(caught.value)
    answered = [*unanswered[:2], {"role": "user", "content": [
        {"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "text", "text": "1"}]}]}]
    assert client.messages.create(model=MODEL, max_tokens=100, messages=answered).stop_reason == "end_turn"


def test_vertex_and_bedrock_routes_refuse_what_their_platforms_refuse():
    """The model goes in the path and the version in the body; the SDK's clients never send otherwise."""
    import httpx

    from claude_magic.simulator import Simulator

    body = {"max_tokens": 10, "messages": [{"role": "user", "content": "hi"}]}
    vertex = "/v1/projects/p/locations/r/publishers/anthropic/models/claude-sonnet-5-5:rawPredict"
    with Simulator() as sim:
        def post(path, payload):
            return httpx.post(sim.url + path, json=payload, headers={"authorization": "Bearer t"})

        answer = post(vertex, {**body, "anthropic_version": "vertex-2023-10-16"})
        assert answer.status_code == 200 and answer.json()["model"] == "claude-sonnet-5-5"
        refused = post(vertex, {**body, "model": "claude-sonnet-5-5", "anthropic_version": "2026-10-21"})
        assert refused.status_code == 400 and "model" in refused.json()["error"]["message"]
        refused = post(vertex, body)
        assert refused.json()["error"]["message"] == "anthropic_version: Field required"
        bedrock = post("/model/anthropic.claude-sonnet-5-5-v1:0/invoke", {**body, "stream": True,
                                                                         "anthropic_version": "bedrock-2023-05-31"})
        assert bedrock.status_code == 400 and bedrock.headers["x-amzn-errortype"] == "ValidationException"
        assert bedrock.json() == {"message": "stream: Extra inputs are not permitted"}
        unsigned = httpx.post(sim.url + "/model/anthropic.claude-sonnet-5-5-v1:0/invoke", json=body)
        assert unsigned.status_code == 401
