"""The context window, enforced like the API: a prompt longer than the model's window is a 400.

The window is the model table's (claude_magic/models.py) unless the simulator is given one, so a test or a
tutorial can fill it in a few cells; GET /v1/models reports the same numbers the check uses.
"""

from __future__ import annotations

from typing import Any

from ..models import rules_for
from .answers import count_tokens


def limits(model: str, window: int | None) -> dict[str, int]:
    """`max_input_tokens` and `max_tokens` as the API's model object reports them, where known."""
    rules = rules_for(model)
    reported = {} if rules is None else {"max_input_tokens": rules.context_window, "max_tokens": rules.max_output}
    return reported if window is None else {**reported, "max_input_tokens": window}


def too_long(body: dict[str, Any], window: int | None) -> tuple[int, str, str] | None:
    """The API's 400 for a valid request whose prompt, counted as count_tokens counts it, overflows the window."""
    limit = limits(body["model"], window).get("max_input_tokens")
    tokens = count_tokens(body)
    if limit is not None and tokens > limit:
        return 400, "invalid_request_error", f"prompt is too long: {tokens} tokens > {limit} maximum"
    return None
