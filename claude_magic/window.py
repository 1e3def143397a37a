"""How full a chat's context window is: the footer's note, and the check before a prompt is sent.

A model's window is what its server reports (`max_input_tokens` from `models.retrieve`), else (as on a
provider without the models endpoint) the model table's; a model the table does not know gets no check
(the API decides). How much of the window a chat already takes is measured, not guessed: the API counted
it in the last answer's usage. Only the new prompt is estimated, and a request that comes close is counted
exactly with `count_tokens` first.
"""

from __future__ import annotations

import json
from typing import Any

from .errors import WINDOW_WAYS, BadInput
from .models import rules_for
from .providers import LACKS, provider_of

# The footer shows the window's fullness from here on: below it, it is noise.
SHOWN_FROM = 0.5
# An estimate above this share of the window is counted exactly before sending.
CLOSE_FROM = 0.8
# Characters per token for text not yet counted: low, so that estimates err towards counting exactly.
CHARS_PER_TOKEN = 3


class Windows:
    """Context windows by server and model, looked up once each."""

    def __init__(self) -> None:
        self._known: dict[tuple[str, str], int | None] = {}

    def of(self, client: Any, model: str) -> int | None:
        """The window the server reports, asked once (after an answer, so no first token waits for it)."""
        key = (str(client.base_url), model)
        if key not in self._known:
            self._known[key] = _look_up(client, model)
        return self._known[key]

    def known(self, client: Any, model: str) -> int | None:
        """The window without asking: the server's if it was asked already, else the model table's."""
        rules = rules_for(model)
        return self._known.get((str(client.base_url), model), rules.context_window if rules else None)


def _look_up(client: Any, model: str) -> int | None:
    rules = rules_for(model)
    if rules is None:
        return None
    if "models" in LACKS.get(provider_of(client), ()):
        return rules.context_window
    try:
        reported = client.with_options(timeout=5.0, max_retries=0).models.retrieve(model).max_input_tokens
    except Exception:  # noqa: BLE001 - a server without the models endpoint still has the table's window
        reported = None
    return reported if isinstance(reported, int) and reported > 0 else rules.context_window


def used(message: Any) -> int:
    """Tokens of the conversation as the window holds it after this answer: its whole prompt and output."""
    usage = message.usage
    return (usage.input_tokens + (usage.cache_read_input_tokens or 0) + (usage.cache_creation_input_tokens or 0)
            + usage.output_tokens)


def fullness(message: Any, window: int | None) -> str:
    """The footer's note on the window, once it matters; else nothing."""
    if window is None or message is None or message.stop_reason is None:
        return ""
    share = used(message) / window
    if share < SHOWN_FROM:
        return ""
    hint = " — `%claude compact` makes room" if share >= CLOSE_FROM else ""
    return f" · context {share:.0%} of {window:,}{hint}"


def estimate(history: list[Any], request: dict[str, Any]) -> int:
    """Tokens a request will take: the history as last counted by the API, plus the rest, estimated.

    `history` holds the exchanges the request re-sends; the last one's usage covers all of them. The
    request's new turns (and system prompt and tools, which the measured part may not have had) are
    estimated from their characters.
    """
    measured = history[-1].window_tokens if history else 0
    new_turns = request["messages"][sum(len(exchange.turns) for exchange in history):]
    rest = [new_turns, request.get("system"), request.get("tools")]
    return measured + len(json.dumps(rest, ensure_ascii=False)) // CHARS_PER_TOKEN


def overflow(history: list[Any], request: dict[str, Any], window: int | None,
             count: Any) -> int | None:
    """The request's token count when it would not fit the window, else None.

    `count(request)` counts exactly (count_tokens); it is asked only when the estimate comes close, and
    a failure to count lets the request go (the API decides).
    """
    if window is None:
        return None
    guess = estimate(history, request)
    if history and history[-1].window_tokens > window:
        return guess  # the history alone, as the API counted it, is already too long
    if guess <= CLOSE_FROM * window:
        return None
    try:
        exact = count(request)
    except Exception:  # noqa: BLE001 - counting is a courtesy; the request itself will tell
        return None
    return exact if exact > window else None


def refusal(tokens: int, window: int, model: str) -> BadInput:
    return BadInput(f"This chat and prompt take about {tokens:,} tokens, more than `{model}`'s context window "
                    f"of {window:,}: nothing was sent.\n{WINDOW_WAYS}")
