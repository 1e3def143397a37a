"""Run-All replay: an unchanged request gets its stored answer back instead of a new (paid) call.

Answers are kept in a JSON-lines file (in the kernel's working directory, which is the notebook's
folder in Jupyter and under nbclient), keyed by a hash of the whole request: the model, every option,
the history and the prompt. Only the hash and the answer are written, never the prompt. Each answer
is appended as one whole line; a line torn by a crash is skipped when reading, and the next answer
starts on a line of its own. A store that cannot be written costs the next run a request, never the
answer in hand.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from .errors import BadInput


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

        stored = self._load().get(request_key(request))
        return Message.model_validate(stored) if stored is not None else None

    def put(self, request: dict[str, Any], message: Any) -> None:
        """Keep `message` for `request`; if the file cannot be written, say so in a line and carry on."""
        key = request_key(request)
        data = message.model_dump(mode="json", warnings=False)
        self._load()[key] = data
        line = json.dumps({"key": key, "message": data}).encode() + b"\n"
        try:
            with self.path.open("ab") as file:
                if file.tell() and not self._ends_with_newline():
                    line = b"\n" + line  # after a torn last line, so that this one stays whole
                file.write(line)
        except OSError as exc:
            print(f"⚠ claude_magic: the replay store {str(self.path)!r} could not be written "
                  f"({exc.strerror or exc}); this answer is shown and kept, but a re-run will ask again.",
                  file=sys.stderr)

    def _ends_with_newline(self) -> bool:
        with self.path.open("rb") as file:
            file.seek(-1, 2)
            return file.read(1) == b"\n"

    def _load(self) -> dict[str, dict[str, Any]]:
        if self._answers is None:
            answers = {}
            for line in self._lines():
                try:
                    entry = json.loads(line)
                    answers[entry["key"]] = entry["message"]
                except (ValueError, KeyError, TypeError):
                    continue  # a torn or hand-edited line costs one replay, not the cell
            self._answers = answers
        return self._answers

    def _lines(self) -> list[str]:
        fix = "point `%config ClaudeMagics.replay_file = 'claude_replay.jsonl'` at a file of its own."
        try:
            return self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        except IsADirectoryError as exc:
            raise BadInput(f"replay_file {str(self.path)!r} is a folder, not a file: {fix}") from exc
        except UnicodeDecodeError as exc:
            raise BadInput(f"replay_file {str(self.path)!r} is not a replay store (not UTF-8 text): {fix}") from exc
        except OSError as exc:
            raise BadInput(f"replay_file {str(self.path)!r} cannot be read ({exc.strerror or exc}): {fix}") from exc
