"""The simulator's rate limits, through the SDK over real HTTP: headers, buckets, and the 429 the API sends."""

from __future__ import annotations

import re
from datetime import datetime, timezone

import anthropic
import pytest

from claude_magic.simulator import Reply, Simulator
from claude_magic.simulator.ratelimits import RateLimits, check

MODEL = "claude-sonnet-5-5"
PROMPT = [{"role": "user", "content": "Say hello."}]
RFC3339 = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)")


@pytest.fixture
def limited():
    with Simulator(rate_limits={"requests": 600, "input_tokens": 60_000, "output_tokens": 6_000}) as sim:
        yield sim


def client_of(sim):
    return anthropic.Anthropic(api_key="test-key", base_url=sim.url, max_retries=0)


def test_every_response_carries_the_rate_limit_headers(limited):
    client = client_of(limited)
    raw = client.messages.with_raw_response.create(model=MODEL, max_tokens=50, messages=PROMPT)
    message = raw.parse()
    for kind, limit in (("requests", 600), ("input-tokens", 60_000), ("output-tokens", 6_000), ("tokens", None)):
        assert RFC3339.fullmatch(raw.headers[f"anthropic-ratelimit-{kind}-reset"])
        assert int(raw.headers[f"anthropic-ratelimit-{kind}-remaining"]) >= 0
        if limit:
            assert raw.headers[f"anthropic-ratelimit-{kind}-limit"] == str(limit)
    # Buckets of one second's worth: 10 requests, 1,000 input tokens, 100 output tokens.
    assert raw.headers["anthropic-ratelimit-requests-remaining"] == "9"
    assert int(raw.headers["anthropic-ratelimit-input-tokens-remaining"]) == 1000 - message.usage.input_tokens
    reset = datetime.fromisoformat(raw.headers["anthropic-ratelimit-requests-reset"].replace("Z", "+00:00"))
    assert 0 <= (reset - datetime.now(timezone.utc)).total_seconds() <= 2
    # A stream's headers arrive before its first event.
    with client.messages.stream(model=MODEL, max_tokens=20, messages=PROMPT) as stream:
        assert stream.response.headers["anthropic-ratelimit-requests-limit"] == "600"


def test_an_eleventh_request_within_a_second_is_a_429_shaped_as_the_apis(limited):
    client = client_of(limited)
    limited._limits.clock = lambda: 0.0  # all 20 within the same instant: nothing refills meanwhile
    limited.queue(*[Reply.text("ok") for _ in range(20)])
    answered = 0
    with pytest.raises(anthropic.RateLimitError) as caught:
        for _ in range(20):
            client.messages.create(model=MODEL, max_tokens=5, messages=PROMPT)
            answered += 1
    assert answered == 10
    error = caught.value
    assert error.status_code == 429
    assert set(error.body) == {"type", "error", "request_id"} and error.body["type"] == "error"
    assert error.body["error"]["type"] == "rate_limit_error"
    assert "600 requests per minute" in error.body["error"]["message"]
    assert error.body["request_id"] == error.response.headers["request-id"]
    assert error.response.headers["retry-after"] == "1"
    assert error.response.headers["anthropic-ratelimit-requests-remaining"] == "0"
    # The refused request did not take a queued reply: the next one answered gets it.
    assert len(limited._replies) == 10


def test_output_tokens_are_charged_and_refuse_once_exhausted():
    with Simulator(rate_limits={"output_tokens": 600}) as sim:  # 10 tokens a second
        client = client_of(sim)
        sim.queue(Reply.text(" ".join(["word"] * 30)))
        client.messages.create(model=MODEL, max_tokens=100, messages=PROMPT)
        with pytest.raises(anthropic.RateLimitError) as caught:
            client.messages.create(model=MODEL, max_tokens=100, messages=PROMPT)
        assert "600 output tokens per minute" in caught.value.body["error"]["message"]
        assert int(caught.value.response.headers["retry-after"]) == 2  # 20 tokens in debt at 10 a second


def test_buckets_refill_continuously_per_model():
    now = [0.0]
    limits = RateLimits({"requests": 60, "claude-haiku-5-5": {"requests": 120}}, clock=lambda: now[0])
    assert limits.admit(MODEL, 10)[0] is None
    wait, _ = limits.admit(MODEL, 10)
    assert wait == pytest.approx(1.0)
    assert limits.admit("claude-haiku-5-5", 10)[0] is None  # its own bucket
    assert limits.admit("claude-haiku-5-5", 10)[0] is None  # 2 a second
    now[0] = 0.5
    assert limits.admit(MODEL, 10)[0] == pytest.approx(0.5)
    now[0] = 1.0
    assert limits.admit(MODEL, 10)[0] is None


def test_no_limits_no_headers_and_bad_limits_say_what_is_wrong():
    with Simulator() as sim:
        raw = client_of(sim).messages.with_raw_response.create(model=MODEL, max_tokens=5, messages=PROMPT)
        assert not any(name.startswith("anthropic-ratelimit") for name in raw.headers)
    for bad in ({"requests": -1}, {"requests": "many"}, {"rpm": 5}, [600]):
        with pytest.raises(ValueError, match="rate limit"):
            check(bad)
