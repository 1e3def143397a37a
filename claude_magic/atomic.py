"""Files the magic writes for the user (saved chats, the replay store, batch ids): private, whole or not at all.

Every store is created 0600 here, and nowhere else: a chat, an answer or a batch id is the user's own,
as readable by the other accounts of a shared machine as their notebook's kernel is (not at all).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

PRIVATE = 0o600  # what every store is created with (and brought back to when this kernel appends)


def write_text(path: Path, text: str, *, replace: bool = True) -> os.stat_result:
    """Replace `path` with `text`: a temporary file beside it, flushed to disk, then renamed over it.

    With `replace=False` an existing file is never replaced (FileExistsError), however close two kernels
    come: the file is linked into place, which fails where a rename would overwrite. A crash or a full
    disk leaves the old file as it was; on OSError no temporary file is left behind. Returns the new
    file's status, from before it was put in place, so the caller knows the file it wrote.
    """
    temporary = None
    try:
        # mkstemp makes the file 0600 already; said again so that no umask or platform makes it otherwise
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=path.parent, prefix=f".{path.name}.",
                                         suffix=".tmp", delete=False) as file:
            temporary = file.name
            os.chmod(temporary, PRIVATE)
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        written = os.stat(temporary)
        if replace:
            os.replace(temporary, path)
        else:
            _create(Path(temporary), path)
        return written
    except OSError:
        if temporary is not None:
            Path(temporary).unlink(missing_ok=True)
        raise


def append_bytes(path: Path, data: bytes, *, before: bytes = b"") -> None:
    """Add `data` at the end of `path` in one write (created 0600 if missing); `before` goes first if the
    file does not end in it (a line torn by a crash gets its newline, so the new one stays whole).

    Appending, never rewriting, is what lets two kernels share the file without losing each other's lines.
    """
    descriptor = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, PRIVATE)
    try:
        try:
            os.fchmod(descriptor, PRIVATE)  # a store an older claude_magic left 0644
        except (OSError, AttributeError):  # not ours to change (a shared folder), or Windows: keep going
            pass
        size = os.fstat(descriptor).st_size
        if before and size >= len(before):
            os.lseek(descriptor, size - len(before), os.SEEK_SET)
            if os.read(descriptor, len(before)) != before:
                data = before + data
        os.write(descriptor, data)
    finally:
        os.close(descriptor)


def _create(temporary: Path, path: Path) -> None:
    """Put `temporary` at `path` only if nothing is there: a hard link, or where the file system has none,
    an exclusive create of the name (which only one kernel can win) and then the rename."""
    try:
        os.link(temporary, path)
    except FileExistsError:
        raise
    except OSError:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE))
        os.replace(temporary, path)
        return
    temporary.unlink()
