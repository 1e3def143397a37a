"""Run-All replay: an unchanged request gets its stored answer back instead of a new (paid) call.

Answers are kept in a JSON-lines file (in the kernel's working directory, which is the notebook's
folder in Jupyter and under nbclient), keyed by a hash of the whole request: the model, every option,
the history and the prompt. Only the hash and the answer are written, never the prompt.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any


def request_key(request: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(request, sort_keys=True, default=str).encode()).hexdigest()


class ReplayStore:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._answers: dict[str, dict[str, Any]] | None = None

    def get(self, request: dict[str, Any]) -> Any | None:
        from anthropic.types import Message

        stored = self._load().get(request_key(request))
        return Message.model_validate(stored) if stored is not None else None

    def put(self, request: dict[str, Any], message: Any) -> None:
        key = request_key(request)
        data = message.model_dump(mode="json", warnings=False)
        self._load()[key] = data
        with self.path.open("a", encoding="utf-8") as file:
            file.write(json.dumps({"key": key, "message": data}) + "\n")

    def _load(self) -> dict[str, dict[str, Any]]:
        if self._answers is None:
            self._answers = {}
            if self.path.exists():
                for line in self.path.read_text(encoding="utf-8").splitlines():
                    try:
                        entry = json.loads(line)
                        self._answers[entry["key"]] = entry["message"]
                    except (ValueError, KeyError, TypeError):
                        continue  # a torn or hand-edited line costs one replay, not the cell
        return self._answers
