"""Prompt caching, accounted like the real API's: which prefix of a prompt the cache reads, which it writes.

Nothing is really stored but the prefixes' identities: answers are generated afresh anyway, so caching only
changes the usage a request reports. Entries never expire (a `ttl` is accepted and ignored), so a notebook
re-run hours later reports the same reads as the first run did.
"""

from __future__ import annotations

import hashlib
import json
import threading
from typing import Any

from .answers import count_tokens, prompt_blocks, uncached

MAX_BREAKPOINTS = 4
# How many blocks before a breakpoint the real API checks for an earlier cached prefix.
_LOOKBACK = 20


def breakpoints(body: dict[str, Any]) -> list[int]:
    """Positions in `prompt_blocks(body)` of the blocks that carry cache_control."""
    return [at for at, (_, block, _) in enumerate(prompt_blocks(body)) if block.get("cache_control")]


class PromptCache:
    """The prefixes cached so far, per model; safe to share between the server's threads."""

    def __init__(self) -> None:
        self._prefixes: set[bytes] = set()
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._prefixes.clear()

    def usage(self, body: dict[str, Any], min_tokens: int) -> dict[str, int]:
        """The input side of a request's usage, caching what its breakpoints mark.

        The longest cached prefix found at or up to 20 blocks before any breakpoint is read; every
        breakpoint's prefix of at least `min_tokens` that is not cached yet is written. Like the real API,
        `input_tokens` is only what was neither read nor written.
        """
        # keys[at] identifies the prompt up to block `at` for this model; ends[at] is its token count.
        key = hashlib.sha256(body["model"].encode()).digest()
        keys, ends, total = [], [], 0
        for where, block, tokens in prompt_blocks(body):
            canonical = json.dumps([where, uncached(block)], sort_keys=True)
            key = hashlib.sha256(key + canonical.encode()).digest()
            total += tokens
            keys.append(key)
            ends.append(total)
        marks = breakpoints(body)
        with self._lock:
            hit = max(
                (
                    at
                    for mark in marks
                    for at in range(max(mark - _LOOKBACK, 0), mark + 1)
                    if keys[at] in self._prefixes
                ),
                default=None,
            )
            read = 0 if hit is None else ends[hit]
            written = [
                mark for mark in marks if ends[mark] >= min_tokens and keys[mark] not in self._prefixes
            ]
            self._prefixes.update(keys[mark] for mark in written)
        # A prefix written at or before the one read costs nothing more: it was read.
        creation = max(0, ends[max(written)] - read) if written else 0
        return {
            "input_tokens": count_tokens(body) - read - creation,
            "cache_creation_input_tokens": creation,
            "cache_read_input_tokens": read,
        }
