"""--map against a rate-limited server: paced to the limit, concurrency grows, a 429 is waited out and asked again."""

from __future__ import annotations

import re

from conftest import error_text, final_markdown

from claude_magic.mapping import Failed
from claude_magic.pacing import Pacer, limits_of
from claude_magic.simulator import Reply


def starts(nb):
    return sorted(r["at"] for r in nb.requests)


def test_auto_concurrency_grows_past_its_start_while_the_limit_allows(nb):
    assert nb.magics.map_concurrency == "auto"
    nb.magics.simulator_rate_limits = {"requests": 600}  # 10 a second, in buckets of one second
    nb.ns["items"] = list(range(24))
    nb.sim.queue(*[Reply.stall(after=0, seconds=1.0, text=f"Answer {n}.") for n in range(24)])
    _, captured = nb.run("%%claude --map items --out out\nSay {item}.")
    assert all(isinstance(answer, str) for answer in nb.ns["out"])  # every item answered, in order
    at = starts(nb)
    # Answers take a second: a fixed 4 in flight would start 4 in the first 0.9 s; the limit allows
    # 10 at once and 9 more as the bucket refills.
    early = [t for t in at if t - at[0] < 0.9]
    assert 8 <= len(early) <= 19
    assert len(at) == 24  # no 429: every request was asked once
    assert final_markdown(captured).startswith("✓ 24 of 24 answered")
    bars = [o.data["text/markdown"] for o in captured.outputs[:-1]]
    assert any(re.search(r"\d+/24 · [\d,]+ items/min · \d+ in flight · ETA \d+ s", bar) for bar in bars), bars


def test_a_429_is_waited_out_for_its_retry_after_and_asked_again(nb):
    nb.ns["items"] = ["a", "b", "c"]
    nb.sim.queue(Reply.http_error(429, retry_after=1), Reply.text("A."), Reply.text("B."), Reply.text("C."))
    _, captured = nb.run("%%claude --map items --out out\nSay {item}.")
    assert sorted(nb.ns["out"]) == ["A.", "B.", "C."]  # the refused item is not a Failed
    refused_at = starts(nb)[0]
    later = [t for t in starts(nb) if t > refused_at + 0.2]
    assert later and min(later) - refused_at >= 0.95  # the retry waited for retry-after
    assert len(nb.requests) == 4
    assert "1 × 429 (rate limit, waited out and asked again)" in final_markdown(captured).splitlines()[0]


def test_starts_pause_after_a_429_and_concurrency_halves():
    pacer = Pacer(max_tokens=100)
    tickets = [pacer.begin() for _ in range(4)]
    assert pacer.cap == 4 and pacer.in_flight == 4
    pacer.refused(tickets[0], {"anthropic-ratelimit-requests-limit": "60",
                               "anthropic-ratelimit-requests-remaining": "0"}, retry_after=30)
    assert pacer.cap == 2 and pacer.refusals == 1
    assert pacer._wait_for_limits(pacer.clock()) > 0 and pacer.paused_until - pacer.clock() > 29
    assert pacer.begin(stopped=lambda: True) is None  # a Stop ends the wait


def test_a_fixed_cap_is_kept_and_headers_are_read():
    pacer = Pacer(2)
    first, second = pacer.begin(), pacer.begin()
    assert pacer.in_flight == 2 and pacer.cap == 2
    headers = {"anthropic-ratelimit-requests-limit": "600", "anthropic-ratelimit-requests-remaining": "9",
               "anthropic-ratelimit-output-tokens-limit": "60000", "anthropic-ratelimit-output-tokens-remaining": "x"}
    assert limits_of(headers) == {"requests": (600.0, 9.0)}
    pacer.headers(first, headers)
    pacer.end(first)
    pacer.end(second)
    assert pacer.cap == 2 and pacer.readings["requests"].rate == 10


def test_an_integer_map_concurrency_is_a_fixed_cap(nb):
    nb.magics.map_concurrency = 1
    nb.ns["items"] = ["a", "b", "c"]
    nb.sim.queue(*[Reply.stall(after=0, seconds=0.3, text=f"{n}.") for n in "abc"])
    nb.run("%%claude --map items --out out\nSay {item}.")
    at = starts(nb)
    assert nb.ns["out"] == ["a.", "b.", "c."] and all(b - a >= 0.25 for a, b in zip(at, at[1:]))


def test_map_concurrency_takes_auto_or_a_positive_number(nb):
    import pytest
    from traitlets import TraitError

    for bad in ("fast", 0, -3):
        with pytest.raises(TraitError):
            nb.magics.map_concurrency = bad
    assert Failed("x") != "x"


def test_bad_simulator_rate_limits_are_one_line(nb):
    nb.magics.simulator_rate_limits = {"requests": -5}
    result, captured = nb.run("%%claude\nHi")
    assert "simulator_rate_limits: rate limit 'requests' must be a positive number" in error_text(captured)
    assert "Traceback" not in error_text(captured) and nb.requests == []
