"""What went wrong, told in a line or two with what to do next, never as a traceback."""

from __future__ import annotations

import os

RED, RESET = "\x1b[31m", "\x1b[0m"
_SECRET_VARIABLES = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN")


def redact(text: str) -> str:
    """Blank out any credential the SDK could have read, wherever a message happens to echo it."""
    for name in _SECRET_VARIABLES:
        secret = os.environ.get(name)
        if secret and len(secret) >= 8:
            text = text.replace(secret, "***")
    return text


# What to do when a chat outgrows the context window: said by the API's 400 and by the magic's own check.
WINDOW_WAYS = ("Summarise the earlier turns with `%claude compact`, drop the last exchange with `%claude undo`, "
               "or start over with `%claude reset`.")


class ClaudeMagicError(Exception):
    """An error IPython shows as its message alone (via `_render_traceback_`), in red."""

    def __init__(self, message: str):
        super().__init__(redact(message))

    def _render_traceback_(self) -> list[str]:
        return [f"{RED}{line}{RESET}" for line in str(self).splitlines()]


class BadInput(ClaudeMagicError):
    """The cell or its options are wrong; nothing was sent."""


class EndedEarly(Exception):
    """The body ended without `message_stop`: the SDK raises nothing, so this says it instead."""


class Stopped(KeyboardInterrupt):
    """The user pressed Stop: the cell ends interrupted, with one line instead of a traceback."""

    def _render_traceback_(self) -> list[str]:
        return [f"{RED}KeyboardInterrupt: {self}{RESET}"]


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



def transport_errors() -> tuple[type[BaseException], ...]:
    """The HTTP library's errors, which the SDK lets through unwrapped once a body is streaming."""
    import importlib

    errors = []
    for name in ("httpx2", "httpx"):  # the SDK moved from httpx to httpx2; accept either
        try:
            errors.append(importlib.import_module(name).HTTPError)
        except ImportError:
            pass
    return tuple(errors)


def is_timeout(exc: BaseException) -> bool:
    return "Timeout" in type(exc).__name__


def explain(exc: BaseException, *, base_url: str, timeout: float, attempts: int, partial: bool) -> str:
    """One or two lines: what happened, and what to do about it."""
    import anthropic

    kept = " The partial answer above is kept (marked incomplete) and in `last_message`." if partial else ""
    tries = f" after {attempts} attempts" if attempts > 1 else ""
    from .retry import WaitTooLong, reason

    if isinstance(exc, ClaudeMagicError):
        return str(exc)
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
        status = exc.status_code
        if status == 200:  # an `error` event in the middle of the stream
            kind = error_type(exc) or "error"
            what = "Claude was overloaded mid-answer" if kind == "overloaded_error" else "Claude hit an error mid-answer"
            return f"{what} ({kind}: {message}).{kept}\nRe-run the cell to ask again."
        if status == 401:
            return (
                "Claude rejected the API key (401 authentication_error).\n"
                "Set a valid key: `%env ANTHROPIC_API_KEY=sk-ant-…` (or in your shell), then re-run the cell."
            )
        if status == 403:
            return f"This key may not do that (403 permission_error): {message}"
        if status == 404 and "model" in message.lower():
            return f"Unknown model ({message}).\nList the available ones with `%claude models`, then use `-m NAME`."
        if status == 413:
            return (
                f"The request is too large (413: {message}).\n"
                "Drop turns with `%claude undo` or `%claude reset`, or start over with `--new`."
            )
        if status == 400 and "too long" in message.lower():
            return f"The chat no longer fits the model's context window ({message}).\n{WINDOW_WAYS}"
        if status == 429:
            return f"Rate limited (429){tries}: {message}\nWait a minute and re-run the cell."
        if status in (500, 502, 503, 504, 529):
            return f"Claude is overloaded or failing ({status}){tries}: {message}\nRe-run the cell in a minute."
        return f"Claude rejected the request ({status}): {message}"
    if isinstance(exc, anthropic.APITimeoutError) or is_timeout(exc):
        return (
            f"Timed out: no data from {base_url} for {timeout:g} s{tries}.{kept}\n"
            "Re-run the cell, or allow longer with `%config ClaudeMagics.timeout = SECONDS`."
        )
    if isinstance(exc, anthropic.APIConnectionError):
        cause = exc.__cause__ or exc
        return f"Cannot reach {base_url}{tries} ({cause}).\nCheck your network and ANTHROPIC_BASE_URL."
    if isinstance(exc, transport_errors()):
        return f"The connection dropped mid-answer ({exc}).{kept}\nRe-run the cell to ask again."
    return f"{type(exc).__name__}: {exc}"
