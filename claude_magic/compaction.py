"""`%claude compact`: Claude summarises a chat's earlier turns, and the summary takes their place.

The summary is asked for in a normal streamed request, shown like any answer, so it works on every model
and any compatible server. It is asked in a scratch chat holding the earlier exchanges; only once it has
ended well does it replace them, so a failure or a Stop leaves the chat as it was.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from .errors import BadInput, ClaudeMagicError

KEEP = 2
PROMPT = (
    "Summarise our conversation so far. The summary will replace all of its earlier turns, so keep "
    "everything needed to carry on: the facts, decisions, names, numbers and code we settled on, and what "
    "is still open. Write the summary only, as compact markdown."
)
_SCRATCH = " (compacting)"


def is_scratch(chat: str) -> bool:
    """True for the chat a summary is asked in: it is neither saved nor compacted itself."""
    return chat.endswith(_SCRATCH)


def compact(session: Any, options: Any, keep: int = KEEP) -> str:
    """Replace all but the last `keep` exchanges of `options.chat` with Claude's summary of them.

    Returns the line that says what changed; raises, with the chat unchanged, when there is nothing to
    summarise or the summary did not come back whole.
    """
    if keep < 0:
        raise BadInput(f"--keep {keep}: give how many of the last exchanges to keep as they are (0 or more).")
    chat = session.conversations[options.chat]
    cut = len(chat.exchanges) - keep
    if cut < 1:
        raise BadInput(f"Nothing to compact: chat {chat.name!r} has {len(chat.exchanges)} exchange(s), and "
                       f"--keep {keep} keeps them all.")
    earlier, kept = chat.exchanges[:cut], chat.exchanges[cut:]
    scratch = session.conversations[chat.name + _SCRATCH]
    scratch.exchanges = list(earlier)
    asking = replace(options, chat=scratch.name, new=False, history=True, tools={}, out=None, context=[],
                     context_labels=[], replay=False)
    try:
        message = session.ask(PROMPT, asking)
        summary = scratch.exchanges[cut:]
    finally:
        session.conversations.reset(scratch.name)
    if message.stop_reason != "end_turn" or not summary:
        raise ClaudeMagicError(
            f"The summary did not come back whole (stop reason: {message.stop_reason}): chat {chat.name!r} is "
            "unchanged.\nRe-run with a larger `--max-tokens`, or keep more with `--keep N`."
        )
    was = earlier[-1].window_tokens
    chat.exchanges = [*summary, *kept]
    return (f"Chat {chat.name!r}: {len(earlier)} earlier exchange(s) (about {was:,} tokens) replaced by the "
            f"summary above ({message.usage.output_tokens:,} tokens); the last {len(kept)} kept as they were.")
