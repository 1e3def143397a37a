"""The one policy of the files the magic keeps on disk: saved chats, the replay store, batch ids.

When a store's file is …

- **missing**: a chat the user asks to load is one line ("No saved chat at …"); the stores the magic keeps
  for itself (replay, batch ids) start empty, and are created on their first write.
- **unreadable** (a folder, no permission, not UTF-8 text, far too large): one line that names the file and
  says what to do, before anything is sent or paid for; the file is never written over.
- **corrupt** (not JSON, nested beyond reason, not this kind of store, or holding what the API would refuse):
  the same one line, nothing loaded, and the file is never written over. A replay store's torn line is not
  corruption: it is what a crash in the middle of an append leaves, and costs that one replay.
- **from a newer claude_magic** (a higher version): one line, "upgrade claude_magic"; never written over.
- **written by another kernel**: a chat file is never replaced. This kernel writes its chat beside it
  (`NAME-2.claude.json`) and says so in one line, once. A file is this kernel's when it wrote it or loaded
  it and nobody has written it since. The replay and batch stores are shared on purpose (a restarted kernel
  reuses them): an answer is appended as one line, never rewritten; a batch id is merged into the file as
  read just before writing; so neither kernel loses the other's.

Every store is written whole or not at all, and private (0600): `atomic.py`. A store the magic keeps that
cannot be written is one line, and the cell's work is kept (the answer shown, the batch still collected).
"""

from __future__ import annotations

import json
import os
import socket
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .atomic import write_text
from .errors import BadInput
from .reading import read_bytes

# A store is text this package wrote; anything far larger is not one of them.
MAX_BYTES = 256 * 1024 * 1024
# Deeper than any chat, answer or id list the package writes; JSON nested far deeper (10^5 `[`) would
# otherwise reach Python's recursion limit while being read, or later while being sent.
MAX_DEPTH = 64
# This process: a kernel that restarts is another writer (it did not write what the old one left).
PROCESS = uuid.uuid4().hex


@dataclass(frozen=True)
class Store:
    """One kind of store: what the user calls it, what its JSON says it is, and where to turn when it is unusable."""

    noun: str  # what one is called: "chat", "replay", "batch"
    label: str  # how a message names the file: "{label} 'path'", or the path alone when empty
    format: str
    version: int
    fix: str  # the way out when the file cannot be used: "point … at a file of its own"

    def name(self, path: Path) -> str:
        return f"{self.label} {str(path)!r}" if self.label else str(path)

    def refuse(self, path: Path, problem: str, fix: str | None = None) -> BadInput:
        return BadInput(f"{self.name(path)} {problem}: {fix or self.fix}")

    def header(self) -> dict[str, Any]:
        return {"format": self.format, "version": self.version}

    def read(self, path: Path, *, missing: str | None = None) -> str | None:
        """The file's text; None when it does not exist (or BadInput(`missing`) if given)."""
        try:
            size = path.stat().st_size
            if path.is_dir():
                raise self.refuse(path, "is a folder, not a file")
            if size > MAX_BYTES:
                raise self.refuse(path, f"is {size:,} bytes, too large to be a claude_magic {self.noun} file")
            # The one bounded reader: a FIFO or a device (/dev/zero) is refused, never waited on or read.
            return read_bytes(path, MAX_BYTES, label=self.name(path), advice=self.fix).decode("utf-8")
        except FileNotFoundError as exc:
            if missing is None:
                return None
            raise BadInput(missing) from exc
        except UnicodeDecodeError as exc:
            raise self.refuse(path, "is not UTF-8 text") from exc
        except OSError as exc:
            raise self.refuse(path, f"cannot be read ({exc.strerror or exc})") from exc

    def parse(self, text: str, path: Path) -> Any:
        """JSON of reasonable depth, or BadInput naming the file."""
        try:
            data = json.loads(text)
        except RecursionError as exc:
            raise self.refuse(path, "is JSON nested far too deeply to be one") from exc
        except ValueError as exc:
            raise self.refuse(path, f"is not valid JSON ({exc})") from exc
        if too_deep(data):
            raise self.refuse(path, f"is JSON nested more than {MAX_DEPTH} levels deep, which no claude_magic "
                                    "store is")
        return data

    def check(self, data: Any, path: Path) -> None:
        """A JSON object of this store's format, of a version this claude_magic reads."""
        if not isinstance(data, dict) or data.get("format") != self.format:
            raise self.refuse(path, f"is not a claude_magic {self.noun} file")
        version = data.get("version")
        if isinstance(version, int) and not isinstance(version, bool) and version > self.version:
            raise self.refuse(path, f"was written by a newer claude_magic (version {version}; this one reads "
                                    f"{self.version})", "upgrade claude_magic to use it")
        if version != self.version:
            raise self.refuse(path, f"has version {version!r}, which no claude_magic wrote")

    def write(self, path: Path, text: str) -> None:
        """Replace `path` atomically; BadInput, with the file untouched, if that is not possible."""
        try:
            write_text(path, text)
        except OSError as exc:
            raise self.refuse(path, f"cannot be written ({exc.strerror or exc})", "write it somewhere else") from exc


def too_deep(data: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether lists and objects nest deeper than `limit` (walked without recursion)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, (dict, list)):
            if depth > limit:
                return True
            stack.extend((item, depth + 1) for item in (value.values() if isinstance(value, dict) else value))
    return False


def writer() -> dict[str, Any]:
    """Who writes: recorded in a chat file, so the kernel that finds it can say whose it is."""
    return {"kernel": _kernel_id(), "pid": os.getpid(), "host": socket.gethostname()}


def _kernel_id() -> str:
    """A Jupyter kernel's id (the name of the connection file it was started with), else this process's."""
    for argument in sys.argv:
        name = os.path.basename(argument)
        if name.startswith("kernel-") and name.endswith(".json"):
            return name.removeprefix("kernel-").removesuffix(".json")
    return PROCESS


# --- whose a chat file is ------------------------------------------------------------------------------------

# The version of each file this kernel wrote or loaded (device, inode, mtime, size): while the file on disk
# is still that one, it is this kernel's to replace. Kept for the process: a restarted kernel starts afresh.
_known: dict[str, tuple[int, int, int, int]] = {}
# Files that turned out to be another kernel's, and where this kernel writes instead.
_moved: dict[str, Path] = {}
_ATTEMPTS = 100


def _key(path: Path) -> str:
    return os.path.abspath(path)


def _signature(status: os.stat_result) -> tuple[int, int, int, int]:
    return (status.st_dev, status.st_ino, status.st_mtime_ns, status.st_size)


def took(path: Path) -> None:
    """This kernel loaded `path`: it may replace that version (and writes there again, not beside it)."""
    try:
        _known[_key(path)] = _signature(path.stat())
    except OSError:
        return
    _moved.pop(_key(path), None)


def where(path: Path) -> Path:
    """Where this kernel writes what belongs at `path`: beside it, if it turned out to be another kernel's."""
    return _moved.get(_key(path), path)


def is_ours(path: Path) -> bool:
    """Missing, or the very version this kernel last wrote or loaded."""
    try:
        return _known.get(_key(path)) == _signature(path.stat())
    except FileNotFoundError:
        return True
    except OSError:
        return False


def write_own(store: Store, path: Path, text: str, what: str) -> tuple[Path, str | None]:
    """Write a file this kernel owns: `path` when it is missing or this kernel's, else beside it.

    Returns where it went and, the first time it goes beside `path`, the line saying so (`what` names
    what is being written: "chat 'default'").
    """
    start = where(path)
    for candidate in [start, *(_beside(path, number) for number in range(2, _ATTEMPTS))]:
        if candidate != start and candidate == path:
            continue
        try:
            if not candidate.exists():
                status = write_text(candidate, text, replace=False)  # fails if another kernel just made it
            elif is_ours(candidate):
                status = write_text(candidate, text)
            else:
                continue
        except FileExistsError:
            continue
        except OSError as exc:
            raise store.refuse(candidate, f"cannot be written ({exc.strerror or exc})",
                               "write it somewhere else") from exc
        _known[_key(candidate)] = _signature(status)
        if candidate == path:
            return path, None
        told = _moved.get(_key(path)) == candidate
        _moved[_key(path)] = candidate
        return candidate, None if told else (
            f"{path} holds {_whose(path)}: not replacing it, {what} is saved to {candidate} instead.")
    raise store.refuse(path, f"and {_ATTEMPTS} files beside it are other kernels' chats", "save elsewhere")


def _beside(path: Path, number: int) -> Path:
    suffixes = "".join(path.suffixes[-2:]) if path.name.endswith(".claude.json") else path.suffix
    return path.with_name(f"{path.name[: len(path.name) - len(suffixes)]}-{number}{suffixes}")


def _whose(path: Path) -> str:
    """Another kernel's chat, said with what the file records of its writer."""
    try:
        small = path.is_file() and path.stat().st_size < MAX_BYTES
        found = json.loads(path.read_text(encoding="utf-8")).get("writer") if small else None
    except (OSError, ValueError, AttributeError, RecursionError):
        found = None
    if not isinstance(found, dict) or not isinstance(found.get("pid"), int):
        return "a chat this kernel did not write"
    host = found.get("host")
    shown = isinstance(host, str) and host.isprintable() and len(host) <= 100 and host != socket.gethostname()
    host = f" on {host}" if shown else ""
    return f"another kernel's chat (process {found['pid']}{host})"
