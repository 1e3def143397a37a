"""`--file`: files from disk as prompt content — PDFs and text as documents, pictures as images.

Everything is read and checked before anything is sent, so a missing, unreadable or unsupported file
costs one line and no tokens. Files above a size go through the Files API (beta) once and are then
sent by id; the upload is remembered by content hash for the rest of the session.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import BadInput
from .reading import read_bytes, size_text

# The Files API is a beta: the upload and every message that names a file id carry this header.
FILES_BETA = "files-api-2025-04-14"

IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
               ".webp": "image/webp"}
TEXT_SUFFIXES = frozenset(
    [".txt", ".md", ".markdown", ".rst", ".csv", ".tsv", ".json", ".jsonl", ".yaml", ".yml", ".toml", ".ini", ".cfg", ".xml", ".html", ".htm", ".tex", ".log", ".py", ".ipynb", ".r", ".sql", ".js", ".ts", ".java", ".c", ".h", ".cpp", ".rs", ".go", ".sh"]
)
# What the API accepts inline (base64 counts as 4/3 of this): larger ones must go through the Files API.
IMAGE_LIMIT = 5 * 1024 * 1024
PDF_LIMIT = 32 * 1024 * 1024
# The largest file --file reads at all (README): a Messages request holds at most 32 MB, and no text or
# picture larger than that fits a context window anyway.
FILE_LIMIT = 32 * 1024 * 1024
# How each kind of file the API takes begins: a file whose first bytes say otherwise is refused before
# it costs a request (the API would answer 400).
SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"%PDF-", "application/pdf"),
)
KIND_NAMES = {"image/png": "PNG", "image/jpeg": "JPEG", "image/gif": "GIF", "image/webp": "WebP",
              "application/pdf": "PDF"}


def media_type_of(data: bytes) -> str | None:
    """The media type the first bytes of `data` announce (PNG, JPEG, GIF, WebP or PDF), or None."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    for signature, media_type in SIGNATURES:
        if data.startswith(signature):
            return media_type
    return None


@dataclass
class Uploads:
    """Files already uploaded, by (base URL, content hash): re-asking about a file sends its id again."""

    ids: dict[tuple[str, str], str] = field(default_factory=dict)

    def file_id(self, client: Any, name: str, data: bytes, media_type: str) -> str:
        key = (str(client.base_url), hashlib.sha256(data).hexdigest())
        if key not in self.ids:
            uploaded = client.beta.files.upload(file=(name, data, media_type), betas=[FILES_BETA])
            self.ids[key] = uploaded.id
        return self.ids[key]


@dataclass
class Loaded:
    """One file, read and checked: its block is built once the upload question is settled."""

    path: Path
    data: bytes
    kind: str  # "pdf", "text" or "image"
    media_type: str

    @property
    def label(self) -> str:
        return f"📄 {self.path.name} ({size_text(len(self.data))})"


def paths_from(spec: Any, namespace: Mapping[str, Any]) -> list[Path]:
    """The paths of `--file A,B`: each a path, or the name of a variable holding a str or Path.

    A name that holds a comma is split only if no file has the whole name.

    From `ask(file=…)` a Path, or a list of paths, works too.
    """
    if isinstance(spec, os.PathLike):
        spec = [spec]
    if not isinstance(spec, (str, list, tuple)) or not all(isinstance(p, (str, os.PathLike)) for p in spec):
        raise BadInput(f"--file takes paths (a str, a Path, or a list of them), not {spec!r:.60}.")
    if isinstance(spec, str) and "," in spec and Path(spec.strip()).expanduser().is_file():
        return [Path(spec.strip()).expanduser()]  # a file whose name holds a comma: that file, not two
    items = spec.split(",") if isinstance(spec, str) else [os.fspath(item) for item in spec]
    paths = []
    for item in (part.strip() for part in items):
        if not item:
            continue
        value = namespace.get(item) if item.isidentifier() else None
        if isinstance(value, (str, os.PathLike)):
            item = os.fspath(value)
        paths.append(Path(item).expanduser())
    if not paths:
        raise BadInput("--file needs a path: `--file report.pdf` or `--file a.pdf,notes.md`.")
    return paths


def load(path: Path) -> Loaded:
    """Read one file (a regular one, within FILE_LIMIT), or say in one line why it cannot be sent.

    An image or PDF must start as its kind does; an image whose suffix names another image kind
    (a PNG saved as .jpg) is sent as what it is.
    """
    if path.is_dir():
        raise BadInput(f"--file {path}: that is a folder; name the files in it.")
    if not path.exists():
        raise BadInput(f"--file {path}: no such file (relative paths start in {Path.cwd()}).")
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        kind, media_type = "pdf", "application/pdf"
    elif suffix in IMAGE_TYPES:
        kind, media_type = "image", IMAGE_TYPES[suffix]
    elif suffix in TEXT_SUFFIXES:
        kind, media_type = "text", "text/plain"
    else:
        raise BadInput(f"--file {path}: {suffix or 'a file without an extension'} is not supported; send PDFs, "
                       "text files (.txt .md .csv .json .py …) or images (.png .jpg .gif .webp).")
    data = read_bytes(path, FILE_LIMIT, label=f"--file {path}",
                      advice="Send a part of it: split it, or extract the pages or rows you need.")
    if not data:
        raise BadInput(f"--file {path}: the file is empty.")
    found = media_type_of(data)
    if kind == "pdf" and found != "application/pdf":
        raise BadInput(f"--file {path}: this is not a PDF (it does not start with %PDF-).")
    if kind == "image":
        if found is None or not found.startswith("image/"):
            raise BadInput(f"--file {path}: this is not a {KIND_NAMES[media_type]} image (its first bytes are not "
                           f"a {KIND_NAMES[media_type]}'s, nor any picture's the API takes): check the file.")
        media_type = found
    if kind == "text":
        try:
            data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadInput(f"--file {path}: not UTF-8 text (byte {exc.start}); save it as UTF-8 first.") from exc
    return Loaded(path, data, kind, media_type)


def blocks_for(files: list[Loaded], *, cite: bool, upload_above: int,
               file_id: Callable[[Loaded], str] | None) -> tuple[list[dict[str, Any]], list[str]]:
    """Content blocks for loaded files, and their footer labels.

    Files larger than `upload_above` bytes (or than the API takes inline) are sent by the id
    `file_id` gives them; with no `file_id` (`--count`, which asks nothing) every file is inline.
    """
    blocks: list[dict[str, Any]] = []
    labels: list[str] = []
    for loaded in files:
        limit = IMAGE_LIMIT * 3 // 4 if loaded.kind == "image" else PDF_LIMIT * 3 // 4
        if file_id is not None and len(loaded.data) > min(upload_above, limit):
            source: dict[str, Any] = {"type": "file", "file_id": file_id(loaded)}
            labels.append(f"{loaded.label[:-1]}, via the Files API)")
        else:
            source = _inline(loaded)
            labels.append(loaded.label)
        if loaded.kind == "image":
            blocks.append({"type": "text", "text": f"Image file `{loaded.path.name}`:"})
            blocks.append({"type": "image", "source": source})
            continue
        block = {"type": "document", "source": source, "title": loaded.path.name}
        if cite:
            block["citations"] = {"enabled": True}
        blocks.append(block)
    return blocks, labels


def _inline(loaded: Loaded) -> dict[str, Any]:
    if loaded.kind == "text":
        return {"type": "text", "media_type": "text/plain", "data": loaded.data.decode("utf-8")}
    return {"type": "base64", "media_type": loaded.media_type, "data": base64.b64encode(loaded.data).decode()}




def needs_beta(messages: list[dict[str, Any]]) -> bool:
    """Whether any block of `messages` names an uploaded file (the history's included)."""
    return any(isinstance(block, dict) and (block.get("source") or {}).get("type") == "file"
               for message in messages if isinstance(message["content"], list) for block in message["content"])
