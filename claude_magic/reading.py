"""Reading a file the user named, bounded: regular files only, up to a size, in chunks so Stop is clean.

`/dev/zero` would fill the memory, a FIFO would wait forever for a writer, a folder cannot be read, and
a 200 MB file is no prompt: each is refused in one line before anything is read. The file is opened
without blocking (a FIFO opens at once) and checked on the open descriptor, so what is read is what
was checked.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from .errors import BadInput, Stopped

CHUNK = 1024 * 1024


def size_text(count: int) -> str:
    if count < 1024:
        return f"{count:,} bytes"
    return f"{count / 1024:.1f} KB" if count < 1024 * 1024 else f"{count / 1024 / 1024:.1f} MB"


def _kind(mode: int) -> str | None:
    """What a file that is not a regular file is, in words; None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a pipe (FIFO), which would wait for a writer"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device, not a file"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def read_bytes(path: Path, limit: int, *, label: str, advice: str, missing: str | None = None) -> bytes:
    """The bytes of the regular file at `path`, at most `limit` of them, or one line saying why not.

    `label` starts each message (`--file notes.md`); `advice` says what to do with a file over the limit;
    `missing` is the whole message for a file that does not exist.
    A Stop while reading ends in one line (`Stopped`), with nothing read kept.
    """
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError as exc:
        raise BadInput(missing or f"{label}: no such file (relative paths start in {Path.cwd()}).") from exc
    except IsADirectoryError as exc:
        raise BadInput(f"{label}: that is a folder; name a file in it.") from exc
    except OSError as exc:
        raise BadInput(f"{label}: cannot be read ({exc.strerror or exc}).") from exc
    try:
        info = os.fstat(descriptor)
        kind = _kind(info.st_mode)
        if kind is not None:
            raise BadInput(f"{label}: that is {kind}; only regular files can be read.")
        if info.st_size > limit:
            raise BadInput(f"{label}: {size_text(info.st_size)}, over the {size_text(limit)} limit. {advice}")
        if hasattr(os, "set_blocking"):
            os.set_blocking(descriptor, True)
        chunks: list[bytes] = []
        total = 0
        while True:
            chunk = os.read(descriptor, min(CHUNK, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:  # it grew while being read
                raise BadInput(f"{label}: over the {size_text(limit)} limit (it grew while being read). {advice}")
        return b"".join(chunks)
    except KeyboardInterrupt:
        raise Stopped(f"stopped while reading {path}.") from None
    except OSError as exc:
        raise BadInput(f"{label}: cannot be read ({exc.strerror or exc}).") from exc
    finally:
        os.close(descriptor)
