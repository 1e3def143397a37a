import anthropic
import httpx2

from claude_magic.retry import RetryPolicy, retry_after


def status_error(status, headers=None):
    request = httpx2.Request("POST", "http://127.0.0.1/v1/messages")
    response = httpx2.Response(status, headers=headers or {}, request=request)
    return anthropic.APIStatusError("boom", response=response, body=None)


def test_retry_after_in_seconds_ms_or_missing():
    assert retry_after(status_error(429, {"retry-after": "7"})) == 7
    assert retry_after(status_error(429, {"retry-after-ms": "1500"})) == 1.5
    assert retry_after(status_error(529)) is None


def test_backoff_is_exponential_with_full_jitter_and_capped():
    policy = RetryPolicy(base=1, cap=8, random=lambda: 1.0)
    assert [policy.delay(status_error(529), n) for n in range(1, 6)] == [1, 2, 4, 8, 8]
    assert RetryPolicy(random=lambda: 0.25).delay(status_error(529), 3) == 1.0


def test_countdown_shows_each_second_left():
    slept, shown = [], []
    RetryPolicy(max_retries=4, sleep=slept.append).wait(status_error(529, {"retry-after": "3"}), 1, shown.append)
    assert slept == [1, 1, 1]
    assert shown[0] == "⏳ Overloaded (529) — retrying in 3 s, attempt 2 of 5 — press Stop to cancel"
    assert [s.split("in ")[1].split(" s")[0] for s in shown] == ["3", "2", "1", "0"]
