"""What went wrong, told in a line or two with what to do next, never as a traceback.

The failures themselves are classified in `failures.py`; the exception types are re-exported here
because this is where the package's modules look for `BadInput` and friends.
"""

from __future__ import annotations

from .failures import (
    BadInput,
    ClaudeMagicError,
    EndedEarly,
    Stopped,
    WaitTooLong,
    When,
    from_outside,
    is_connection_failure,
    is_timeout,
    safe_url,
    status,
)
from .retry import reason

__all__ = ["BadInput", "ClaudeMagicError", "EndedEarly", "Stopped", "api_message", "explain"]

# What to do when a chat outgrows the context window: said by the API's 400 and by the magic's own check.
WINDOW_WAYS = ("Summarise the earlier turns with `%claude compact`, drop the last exchange with `%claude undo`, "
               "or start over with `%claude reset`.")


def api_message(exc: BaseException) -> str:
    """The API's own explanation from an error body, falling back to the SDK's text."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
    return str(getattr(exc, "message", None) or exc)


def error_type(exc: BaseException) -> str | None:
    body = getattr(exc, "body", None)
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return body["error"].get("type")
    return None


def kept_line(at: When, partial: bool) -> str:
    """What became of the answer so far: kept, and where; said only when something was kept."""
    if not partial:
        return ""
    if at is When.STREAM_STARTED:
        return " The unfinished answer (no text had arrived) is in `last_message`, marked incomplete."
    return " The partial answer above is kept (marked incomplete) and in `last_message`."


def cause_of(exc: BaseException) -> BaseException:
    """The network's own error behind the SDK's wrapper, the one that says what happened."""
    return exc.__cause__ or exc


def explain(exc: BaseException, *, base_url: str, timeout: float, attempts: int, partial: bool,
            at: When = When.BEFORE_RESPONSE) -> str:
    """One or two lines: what happened, and what to do about it.

    `at` is when the (last) attempt failed, `partial` whether an unfinished answer was kept: together,
    not the exception's class, they decide between "cannot reach" and "the connection dropped".
    """
    import anthropic

    base_url = safe_url(base_url)  # never `user:password@` or `?token=`: see failures.redact
    kept = kept_line(at, partial)
    tries = f" after {attempts} attempts" if attempts > 1 else ""
    if isinstance(exc, ClaudeMagicError):
        return str(exc)
    if not from_outside(exc):
        return (
            f"claude_magic internal error ({type(exc).__name__}: {exc}): a bug in claude_magic, not an API "
            f"failure.{kept}\nRun `%tb` for the traceback, and please report it."
        )
    if isinstance(exc, WaitTooLong):
        return (
            f"{reason(exc.cause)}: the API asks to wait {exc.wait:.0f} s, longer than `max_retry_wait`.\n"
            f"Re-run the cell in {exc.wait:.0f} s, or allow longer waits with "
            "`%config ClaudeMagics.max_retry_wait = SECONDS`."
        )
    if isinstance(exc, EndedEarly):
        return (
            f"The answer ended before Claude finished (the stream stopped without `message_stop`).{kept}\n"
            "Re-run the cell to ask again."
        )
    message = api_message(exc)
    if isinstance(exc, anthropic.APIStatusError):
        code, kind = exc.status_code, error_type(exc)
        if code == 200:  # an `error` event in the middle of the stream
            what = "Claude was overloaded mid-answer" if kind == "overloaded_error" else "Claude hit an error mid-answer"
            return f"{what} ({kind or 'error'}: {message}).{kept}\nRe-run the cell to ask again."
        if code == 404 and "model" in message.lower():
            return f"Unknown model ({message}).\nList the available ones with `%claude models`, then use `-m NAME`."
        if code == 400 and "too long" in message.lower():
            return f"The chat no longer fits the model's context window ({message}).\n{WINDOW_WAYS}"
        row = status(code)
        line = f"{row.name} ({code}{f' {kind}' if kind else ''}){tries}: {message}"
        return f"{line}\n{row.advice}" if row.advice else line
    if is_timeout(exc):
        return (
            f"Timed out: no data from {base_url} for {timeout:g} s{tries}.{kept}\n"
            "Re-run the cell, or allow longer with `%config ClaudeMagics.timeout = SECONDS`."
        )
    if is_connection_failure(exc):
        if at is When.AFTER_TEXT:
            return f"The connection dropped mid-answer ({cause_of(exc)}).{kept}\nRe-run the cell to ask again."
        if at is When.STREAM_STARTED:
            return (f"The connection dropped after Claude started answering, before any text arrived "
                    f"({cause_of(exc)}).{kept}\nRe-run the cell to ask again.")
        return (f"Cannot reach {base_url}{tries} ({cause_of(exc)}).{kept}\n"
                "Check your network and ANTHROPIC_BASE_URL.")
    return f"{type(exc).__name__}: {message}{kept}"
