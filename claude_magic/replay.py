"""Run-All replay: an unchanged request gets its stored answer back instead of a new (paid) call.

Answers are kept in a JSON-lines file (in the kernel's working directory, which is the notebook's
folder in Jupyter and under nbclient), keyed by a hash of the whole request: the model, every option,
the history and the prompt. Only the hash and the answer are written, never the prompt. The first line
says what the file is (format and version); each answer is appended as one whole line, so kernels sharing
the folder never lose each other's; a line torn by a crash is skipped when reading, and the next answer
starts on a line of its own. A store that cannot be written costs the next run a request, never the
answer in hand. Missing, unreadable, foreign or newer files follow the stores' one policy (`stores.py`).
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from .atomic import append_bytes
from .stores import Store, too_deep

STORE = Store("replay", "replay_file", "claude_magic.replay", 1,
              "point `%config ClaudeMagics.replay_file = 'claude_replay.jsonl'` at a file of its own")


def request_key(request: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(request, sort_keys=True, default=str).encode()).hexdigest()


class ReplayStore:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._answers: dict[str, dict[str, Any]] | None = None

    def check(self) -> None:
        """Read the store now, so an unreadable one is said in a line before anything is asked."""
        self._load()

    def get(self, request: dict[str, Any]) -> Any | None:
        from anthropic.types import Message
        from pydantic import ValidationError

        stored = self._load().get(request_key(request))
        try:
            return Message.model_validate(stored) if stored is not None else None
        except ValidationError:  # a hand-edited answer costs one replay, not the cell
            return None

    def put(self, request: dict[str, Any], message: Any) -> None:
        """Keep `message` for `request`; if the file cannot be written, say so in a line and carry on."""
        key = request_key(request)
        data = message.model_dump(mode="json", warnings=False)
        self._load()[key] = data
        line = json.dumps({"key": key, "message": data}).encode() + b"\n"
        try:
            if self._fresh():
                line = json.dumps(STORE.header()).encode() + b"\n" + line
            append_bytes(self.path, line, before=b"\n")  # after a torn last line, so that this one stays whole
        except OSError as exc:
            print(f"⚠ claude_magic: the replay store {str(self.path)!r} could not be written "
                  f"({exc.strerror or exc}); this answer is shown and kept, but a re-run will ask again.",
                  file=sys.stderr)

    def _fresh(self) -> bool:
        try:
            return self.path.stat().st_size == 0
        except FileNotFoundError:
            return True

    def _load(self) -> dict[str, dict[str, Any]]:
        if self._answers is None:
            self._answers = read_answers(self.path)
        return self._answers


def read_answers(path: Path) -> dict[str, dict[str, Any]]:
    """The answers a replay store holds, by request key; BadInput for a file that is not one (see `stores`)."""
    text = STORE.read(path)
    answers: dict[str, dict[str, Any]] = {}
    kind_known = False
    for line in (text or "").splitlines():
        try:
            entry = json.loads(line)
        except (ValueError, RecursionError):
            continue  # a torn line costs one replay, not the cell
        if isinstance(entry, dict) and "format" in entry:
            STORE.check(entry, path)  # a header: another kind of file, or a newer claude_magic's store
            kind_known = True
        elif isinstance(entry, dict) and isinstance(entry.get("key"), str) and isinstance(entry.get("message"), dict) \
                and not too_deep(entry):
            answers[entry["key"]] = entry["message"]
            kind_known = True
    if text and text.strip() and not kind_known:  # not one line a replay store holds: someone else's file
        raise STORE.refuse(path, "is not a claude_magic replay file")
    return answers
