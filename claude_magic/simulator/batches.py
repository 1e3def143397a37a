"""The Message Batches API's bookkeeping: batches answered when created, ended by being polled.

The server answers every request of a batch the moment the batch is created, so only the wait is
simulated. A batch ends on its `polls_to_end`-th retrieval: a count rather than a clock, so a notebook or a
test that polls sees the same story every run. Until then its requests finish in proportion to the polls so
far, which is what a cancel leaves done.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

_CUSTOM_ID = re.compile(r"[a-zA-Z0-9_-]{1,64}")
# Unfinished requests would expire this long after their batch was created.
_LIFETIME = timedelta(hours=24)
_COUNTS = ("processing", "succeeded", "errored", "canceled", "expired")
# The most requests one batch may hold, as the real API limits it.
MAX_REQUESTS = 100_000


class Unknown(LookupError):
    """No such batch, or no results for it yet: a 404."""


def problem(body: Any) -> str | None:
    """What the real API rejects in a batch's envelope; the requests' params are judged one by one."""
    if not isinstance(body, dict):
        return "The request body is not valid JSON: send a JSON object"
    requests = body.get("requests")
    if requests is None:
        return "requests: Field required"
    if not isinstance(requests, list) or not requests:
        return "requests: at least one request is required"
    if len(requests) > MAX_REQUESTS:
        return f"requests: List should have at most {MAX_REQUESTS} items after validation, not {len(requests)}"
    seen = set()
    for index, request in enumerate(requests):
        if not isinstance(request, dict):
            return f"requests.{index}: Input should be a valid dictionary"
        custom_id = request.get("custom_id")
        if not isinstance(custom_id, str) or not _CUSTOM_ID.fullmatch(custom_id):
            return f"requests.{index}.custom_id: String should match pattern '^{_CUSTOM_ID.pattern}$'"
        if custom_id in seen:
            return f"requests.{index}.custom_id: {custom_id!r} is already used: custom_id must be unique"
        seen.add(custom_id)
        if not isinstance(request.get("params"), dict):
            return f"requests.{index}.params: Input should be a valid dictionary"
    return None


@dataclass
class _Batch:
    custom_ids: list[str]
    results: list[dict[str, Any]]
    polls_to_end: int
    id: str = field(default_factory=lambda: f"msgbatch_sim_{uuid.uuid4().hex[:24]}")
    created_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    polls: int = 0
    cancel_initiated_at: datetime | None = None
    ended_at: datetime | None = None

    def settle(self) -> None:
        """End the batch if its last poll is due, or a cancel is pending."""
        if self.ended_at is None and (self.cancel_initiated_at or self.polls >= self.polls_to_end):
            self.ended_at = datetime.now(timezone.utc)

    def cancel(self) -> None:
        if self.ended_at is None and self.cancel_initiated_at is None:
            self.cancel_initiated_at = datetime.now(timezone.utc)
            # settle() ends the batch at polls_to_end, so polls < polls_to_end here.
            done = len(self.results) * self.polls // self.polls_to_end
            self.results[done:] = [{"type": "canceled"}] * (len(self.results) - done)

    def view(self, url: str) -> dict[str, Any]:
        """The MessageBatch object; `url` is the simulator's, for the results_url."""
        counts = dict.fromkeys(_COUNTS, 0)
        if self.ended_at:
            for result in self.results:
                counts[result["type"]] += 1
        else:  # the real API tallies nothing until the whole batch has ended
            counts["processing"] = len(self.results)
        status = "ended" if self.ended_at else "canceling" if self.cancel_initiated_at else "in_progress"
        return {
            "id": self.id,
            "type": "message_batch",
            "processing_status": status,
            "request_counts": counts,
            "created_at": _stamp(self.created_at),
            "expires_at": _stamp(self.created_at + _LIFETIME),
            "ended_at": _stamp(self.ended_at),
            "cancel_initiated_at": _stamp(self.cancel_initiated_at),
            "archived_at": None,
            "results_url": f"{url}/v1/messages/batches/{self.id}/results" if self.ended_at else None,
        }


class Batches:
    """Every batch created so far; safe to share between the server's threads."""

    def __init__(self) -> None:
        self._batches: dict[str, _Batch] = {}
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._batches.clear()

    def create(
        self, custom_ids: list[str], results: list[dict[str, Any]], polls_to_end: int, url: str
    ) -> dict[str, Any]:
        """A new batch whose requests got `results`; it ends on its `polls_to_end`-th retrieval."""
        batch = _Batch(custom_ids, results, polls_to_end)
        batch.settle()
        with self._lock:
            self._batches[batch.id] = batch
            return batch.view(url)

    def retrieve(self, batch_id: str, url: str) -> dict[str, Any]:
        """The batch, one poll further on."""
        with self._lock:
            batch = self._find(batch_id)
            batch.polls += 1
            batch.settle()
            return batch.view(url)

    def cancel(self, batch_id: str, url: str) -> dict[str, Any]:
        """Cancel what has not finished; the batch ends on its next retrieval. An ended batch is unchanged."""
        with self._lock:
            batch = self._find(batch_id)
            batch.cancel()
            return batch.view(url)

    def results(self, batch_id: str) -> bytes:
        """The results file: one JSON line per request, in the order they were sent."""
        with self._lock:
            batch = self._find(batch_id)
            if batch.ended_at is None:
                raise Unknown(f"message batch {batch_id} has no results until it has ended")
            lines = [
                {"custom_id": custom_id, "result": result}
                for custom_id, result in zip(batch.custom_ids, batch.results)
            ]
        return b"".join(json.dumps(line).encode() + b"\n" for line in lines)

    def page(self, url: str, limit: int, after_id: str | None, before_id: str | None) -> dict[str, Any]:
        """One page of the batches, newest first, as GET /v1/messages/batches pages them."""
        with self._lock:
            newest = list(reversed(self._batches.values()))
            if before_id is not None:
                end = newest.index(self._find(before_id))
                chosen, has_more = newest[max(end - limit, 0) : end], end > limit
            else:
                start = 0 if after_id is None else newest.index(self._find(after_id)) + 1
                chosen, has_more = newest[start : start + limit], start + limit < len(newest)
            data = [batch.view(url) for batch in chosen]
        first_id, last_id = (data[0]["id"], data[-1]["id"]) if data else (None, None)
        return {"data": data, "has_more": has_more, "first_id": first_id, "last_id": last_id}

    def _find(self, batch_id: str) -> _Batch:
        try:
            return self._batches[batch_id]
        except KeyError:
            raise Unknown(f"message batch: {batch_id}") from None


def _stamp(moment: datetime | None) -> str | None:
    """RFC 3339, as the real API writes its times."""
    return None if moment is None else moment.isoformat().replace("+00:00", "Z")
