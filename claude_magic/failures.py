"""What can go wrong, classified once: the exception types, one table of HTTP statuses, when a request
failed (`When`: before any response, once streaming, after text), and what a message may show of a URL
or a credential (`safe_url`, `redact`: no userinfo, no query, no key).

Next to a leaf: it imports only `secrets.py` (which credentials there are; itself importing nothing from
the package), so `retry.py` (when to try again) and `errors.py` (what the user reads) both build on it
without importing each other. The SDK is imported only when a failure is classified, keeping
`import claude_magic` cheap.
"""

from __future__ import annotations

import enum
import importlib
import os
import re
import sys
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from . import secrets

RED, RESET = "\x1b[31m", "\x1b[0m"
# A URL's userinfo (`user:pass@`) and its query (`?token=…`) are where credentials ride in a URL.
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^\s/?#@]*@")
_QUERY = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s?#]*)\?[^\s#'\")\]>]*")


def safe_url(url: str) -> str:
    """A URL as it may be shown: without `user:password@` and without a query string (which may hold tokens)."""
    return _QUERY.sub(r"\1", _USERINFO.sub(r"\1", str(url)))


def _secrets() -> list[str]:
    """The credentials a message could echo: every one `secrets.py` knows (the SDK's keys among them), and
    what `ANTHROPIC_BASE_URL` carries in its userinfo or query, which an error quoting the URL some other
    way could show."""
    found = [value for _, value in secrets.known()]
    base_url = os.environ.get("ANTHROPIC_BASE_URL", "")
    if base_url:
        try:
            parts = urlsplit(base_url)
            found += [parts.username or "", parts.password or "", *(v for _, v in parse_qsl(parts.query))]
        except ValueError:
            pass
    return [secret for secret in found if len(secret) >= 8]


def redact(text: str) -> str:
    """Blank out any credential the SDK could have read, wherever a message happens to echo it, and show
    every URL without its userinfo and query."""
    for secret in _secrets():
        text = text.replace(secret, "***")
    return safe_url(text)


def _one_line_or_whole(error: BaseException, line: list[str]) -> list[str]:
    """`line` while the error is being raised; the whole chain when `%tb` asks for it again later.

    IPython renders an error through `_render_traceback_` both when the cell fails (inside the
    handler, so the error is the one being handled) and when `%tb` shows the last error (outside
    it): the second is where the cause, down to the SDK's own exception, is wanted.
    """
    if sys.exc_info()[1] is error:
        return line
    from IPython import get_ipython

    shell = get_ipython()
    if shell is None:
        return line
    return [redact(part) for part in shell.InteractiveTB.structured_traceback(type(error), error, error.__traceback__)]


class ClaudeMagicError(Exception):
    """An error IPython shows as its message alone (via `_render_traceback_`), in red.

    Raised `from` the failure behind it, so `%tb` and `%debug` still reach the SDK's exception.
    """

    def __init__(self, message: str):
        super().__init__(redact(message))

    def _render_traceback_(self) -> list[str]:
        return _one_line_or_whole(self, [f"{RED}{line}{RESET}" for line in str(self).splitlines()])


class BadInput(ClaudeMagicError):
    """The cell or its options are wrong; nothing was sent."""


class BadKeyword(BadInput, TypeError):
    """`ask()` got a keyword it does not take, or a value of the wrong type: a TypeError, in one line."""


class EndedEarly(Exception):
    """The body ended without `message_stop`: the SDK raises nothing, so this says it instead."""


class Stopped(KeyboardInterrupt):
    """The user pressed Stop: the cell ends interrupted, with one line instead of a traceback."""

    def _render_traceback_(self) -> list[str]:
        return _one_line_or_whole(self, [f"{RED}KeyboardInterrupt: {self}{RESET}"])


@dataclass(frozen=True)
class Failed:
    """What stands in `--map`'s results for an item that got no answer; falsy, and says why."""

    error: str

    def __str__(self) -> str:
        return f"⚠ {self.error}"

    def __bool__(self) -> bool:
        return False


class WaitTooLong(Exception):
    """The server asks for a longer wait before retrying than `max_retry_wait` allows."""

    def __init__(self, cause: BaseException, wait: float):
        super().__init__(f"asked to wait {wait:.0f} s")
        self.cause = cause
        self.wait = wait


@dataclass(frozen=True)
class Status:
    """How one HTTP status is handled: retried or not, its name (in the countdown and the final
    message), and the next step the final message suggests."""

    name: str
    retry: bool
    advice: str = ""


# The statuses the SDK itself retries (408, 409, 429, 5xx) are retried here too, visibly.
STATUSES: dict[int, Status] = {
    400: Status("Claude rejected the request", False),
    401: Status("Claude rejected the API key", False,
                "Set a valid key: `%env ANTHROPIC_API_KEY=sk-ant-…` (or in your shell), then re-run the cell."),
    403: Status("This key may not do that", False),
    404: Status("Not found", False),
    408: Status("The request timed out at the server", True, "Re-run the cell."),
    409: Status("Conflict", True, "Re-run the cell."),
    413: Status("The request is too large", False,
                "Drop turns with `%claude undo` or `%claude reset`, or start over with `--new`."),
    429: Status("Rate limited", True, "Wait a minute and re-run the cell."),
    500: Status("Server error", True, "Re-run the cell in a minute."),
    503: Status("Overloaded", True, "Re-run the cell in a minute."),
    529: Status("Overloaded", True, "Re-run the cell in a minute."),
}
_SERVER_ERROR = STATUSES[500]
_CLIENT_ERROR = STATUSES[400]


def status_of(exc: BaseException) -> int | None:
    return getattr(exc, "status_code", None)


def status(code: int) -> Status:
    """The table's row for a status; a status it does not list is handled like its class (4xx, 5xx)."""
    return STATUSES.get(code) or (_SERVER_ERROR if code >= 500 else _CLIENT_ERROR)


class When(enum.Enum):
    """When a request failed: this, not the exception's class, decides what the user reads and what is retried.

    The SDK's classes for one and the same event change between releases (a connection dropped
    mid-stream was httpx2's `TransportError` up to anthropic 2.16 and is `APIConnectionError` from
    2.17), while the moment the failure came is what the user sees: nothing yet, an answer begun, text.
    """

    BEFORE_RESPONSE = "before any response"
    STREAM_STARTED = "after the stream started, before any text"
    AFTER_TEXT = "after some text was shown"


def when(started: bool, text_shown: bool) -> When:
    """`started`: the response (a 200 stream) had arrived; `text_shown`: some of the answer was on screen."""
    if not started:
        return When.BEFORE_RESPONSE
    return When.AFTER_TEXT if text_shown else When.STREAM_STARTED


def transport_errors() -> tuple[type[BaseException], ...]:
    """The HTTP library's errors, which SDK releases up to 2.16 let through unwrapped once a body streams."""
    errors = []
    for name in ("httpx2", "httpx"):  # the SDK moved from httpx to httpx2; accept either
        try:
            errors.append(importlib.import_module(name).HTTPError)
        except ImportError:
            pass
    return tuple(errors)


def is_timeout(exc: BaseException) -> bool:
    return "Timeout" in type(exc).__name__


def is_connection_failure(exc: BaseException) -> bool:
    """The network failed (refused, dropped, timed out), however the installed SDK wraps it."""
    import anthropic

    return isinstance(exc, (anthropic.APIConnectionError, *transport_errors())) or is_timeout(exc)


def retryable(exc: BaseException, at: When = When.BEFORE_RESPONSE, midstream: bool = False) -> bool:
    """Whether a second try may not hit the failure, and may be made.

    Before any response: a status the table retries, or no connection. Once the stream has started
    (`midstream`, the `retry_midstream` setting): any failure of the API or the network — an `error`
    event, a drop, a stall, an early end — since the answer is asked (and paid for) again.
    """
    import anthropic

    if at is not When.BEFORE_RESPONSE:
        return midstream and from_outside(exc) and not isinstance(exc, (ClaudeMagicError, WaitTooLong))
    if is_connection_failure(exc):
        return True
    return isinstance(exc, anthropic.APIStatusError) and status(exc.status_code).retry


def from_outside(exc: BaseException) -> bool:
    """Whether the failure came from the API, the network or the user, rather than a bug of ours."""
    import anthropic

    outside = (ClaudeMagicError, EndedEarly, WaitTooLong, anthropic.APIError, *transport_errors())
    return isinstance(exc, outside) or is_timeout(exc)
