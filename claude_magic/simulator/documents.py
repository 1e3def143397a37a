"""Documents and images in the simulator: checked like the API checks them, cited when asked to be.

A cited answer quotes the first sentence of each document that has citations enabled, as text blocks
carrying `char_location` (plain text), `page_location` (PDF) or `content_block_location` citations,
with `document_index` counting every document of the request in order, as the API counts them.
Uploaded files (the Files API) live in `Files` and are read back when a message names their id.
"""

from __future__ import annotations

import base64
import binascii
import email.parser
import email.policy
import re
import threading
import uuid
from typing import Any

FILES_BETA = "files-api-2025-04-14"
IMAGE_TYPES = {"image/jpeg": b"\xff\xd8\xff", "image/png": b"\x89PNG\r\n\x1a\n", "image/gif": b"GIF8",
               "image/webp": b"RIFF"}
IMAGE_LIMIT = 5 * 1024 * 1024
PDF_LIMIT = 32 * 1024 * 1024
# What a citation sent back in an assistant turn must hold, by kind: these fields, no others (titles may be null).
_CITATION_FIELDS = {
    "char_location": {"cited_text", "document_index", "document_title", "start_char_index", "end_char_index"},
    "page_location": {"cited_text", "document_index", "document_title", "start_page_number", "end_page_number"},
    "content_block_location": {"cited_text", "document_index", "document_title", "start_block_index",
                               "end_block_index"},
    "web_search_result_location": {"cited_text", "encrypted_index", "title", "url"},
}
_SENTENCE = re.compile(r"\S[^.!?\n]*[.!?]?")
_PDF_TEXT = re.compile(rb"\(((?:[^()\\]|\\.)*)\)\s*Tj")


class Files:
    """The simulator's Files API store: what was uploaded, by id."""

    def __init__(self) -> None:
        self._files: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def add(self, filename: str, data: bytes, mime_type: str) -> dict[str, Any]:
        metadata = {"id": f"file_sim_{uuid.uuid4().hex[:24]}", "type": "file", "filename": filename or "unnamed",
                    "mime_type": mime_type, "size_bytes": len(data), "created_at": "2026-11-30T00:00:00Z",
                    "downloadable": False}
        with self._lock:
            self._files[metadata["id"]] = {**metadata, "data": data}
        return metadata

    def get(self, file_id: str) -> dict[str, Any] | None:
        with self._lock:
            return self._files.get(file_id)

    def clear(self) -> None:
        with self._lock:
            self._files.clear()


def uploaded_part(content_type: str, raw: bytes) -> tuple[str, bytes, str] | None:
    """(filename, bytes, media type) of the `file` part of a multipart upload, if there is one."""
    head = f"content-type: {content_type}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + raw)
    for part in message.iter_parts() if message.is_multipart() else ():
        if part.get_param("name", header="content-disposition") == "file":
            return part.get_filename() or "", part.get_payload(decode=True) or b"", part.get_content_type()
    return None


def problem(body: dict[str, Any], headers: Any, files: Files) -> str | None:
    """What the API would refuse in the request's documents and images, as its message."""
    for index, message in enumerate(body["messages"]):
        content = message["content"]
        if isinstance(content, str):
            continue
        for position, block in enumerate(content):
            where = f"messages.{index}.content.{position}"
            kind = block.get("type")
            # Documents in assistant turns and citations on user text depend on the API version: rules.py.
            if kind == "image" and message["role"] != "user":
                return f"{where}: image blocks are only allowed in user messages"
            for number, citation in enumerate(block.get("citations") or [] if kind == "text" else []):
                found = _citation_problem(citation)
                if found:
                    return f"{where}.citations.{number}: {found}"
            if kind in ("document", "image"):
                found = _source_problem(kind, block.get("source"), headers, files)
                if found:
                    return f"{where}.source: {found}"
    return None


def _citation_problem(citation: Any) -> str | None:
    fields = _CITATION_FIELDS.get(citation.get("type")) if isinstance(citation, dict) else None
    if fields is None:
        return "type: Input should be a known citation type"
    missing = sorted(fields - citation.keys())
    extra = sorted(citation.keys() - fields - {"type"})
    if missing:
        return f"{missing[0]}: Field required"
    return f"{extra[0]}: Extra inputs are not permitted" if extra else None


def _source_problem(kind: str, source: Any, headers: Any, files: Files) -> str | None:
    if not isinstance(source, dict):
        return "Field required"
    source_type = source.get("type")
    if source_type == "file":
        if FILES_BETA not in (headers.get("anthropic-beta") or ""):
            return f"file sources need the `anthropic-beta: {FILES_BETA}` header"
        if files.get(str(source.get("file_id"))) is None:
            return f"File not found: {source.get('file_id')}"
        return None
    if kind == "document" and source_type == "text":
        if source.get("media_type") != "text/plain" or not isinstance(source.get("data"), str):
            return "a text source needs media_type 'text/plain' and string data"
        return None
    if kind == "document" and source_type == "content":
        return None if isinstance(source.get("content"), (str, list)) else "content: Field required"
    if source_type != "base64":
        return f"type: Input should be 'base64', 'file'{', text or content' if kind == 'document' else ''}"
    media_type = source.get("media_type")
    allowed = ["application/pdf"] if kind == "document" else list(IMAGE_TYPES)
    if media_type not in allowed:
        return f"media_type: Input should be {' or '.join(repr(m) for m in allowed)}"
    try:
        data = base64.b64decode(source.get("data") or "", validate=True)
    except (binascii.Error, ValueError, TypeError):
        return "data: the base64 data is not valid"
    if kind == "image":
        if len(data) > IMAGE_LIMIT:
            return f"image exceeds 5 MB maximum: {len(data)} bytes > {IMAGE_LIMIT} bytes"
        if not data.startswith(IMAGE_TYPES[media_type]):
            return f"Image does not match the provided media type {media_type}"
        return None
    if len(data) > PDF_LIMIT:
        return f"PDF exceeds 32 MB maximum: {len(data)} bytes"
    if not data.startswith(b"%PDF-"):
        return "The PDF specified was not valid."
    return None


def resolved(body: dict[str, Any], files: Files) -> dict[str, Any]:
    """`body` with each uploaded file a document names put inline, so an answer can quote it."""
    if not any(_file_blocks(body)):
        return body
    messages = []
    for message in body["messages"]:
        content = message["content"]
        if not isinstance(content, str):
            content = [_inline(block, files) for block in content]
        messages.append({**message, "content": content})
    return {**body, "messages": messages}


def _file_blocks(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [block for message in body["messages"] if isinstance(message["content"], list)
            for block in message["content"] if (block.get("source") or {}).get("type") == "file"]


def _inline(block: dict[str, Any], files: Files) -> dict[str, Any]:
    source = block.get("source") or {}
    stored = files.get(source.get("file_id", "")) if source.get("type") == "file" else None
    if stored is None:
        return block
    if stored["mime_type"].startswith("text/"):
        inline = {"type": "text", "media_type": "text/plain", "data": stored["data"].decode("utf-8", "replace")}
    else:
        inline = {"type": "base64", "media_type": stored["mime_type"], "data": base64.b64encode(stored["data"]).decode()}
    return {**block, "source": inline, "_file_id": stored["id"]}


def cited(body: dict[str, Any]) -> list[dict[str, Any]] | None:
    """Text blocks citing the request's citable documents, or None when it has none."""
    documents = [block for message in body["messages"] if isinstance(message["content"], list)
                 for block in message["content"] if block.get("type") == "document"]
    quotes = [(index, document, _quote(document)) for index, document in enumerate(documents)
              if (document.get("citations") or {}).get("enabled")]
    if not quotes:
        return None
    blocks = [{"type": "text", "text": "From the documents you gave me:\n\n"}]
    for index, document, (text, location) in quotes:
        citation = {"cited_text": text, "document_index": index, "document_title": document.get("title"),
                    **location}
        if document.get("_file_id"):
            citation["file_id"] = document["_file_id"]
        title = document.get("title") or f"document {index + 1}"
        blocks.append({"type": "text", "text": f"- *{title}* says: "})
        blocks.append({"type": "text", "text": text, "citations": [citation]})
        blocks.append({"type": "text", "text": "\n"})
    blocks.append({"type": "text", "text": "\nThis is the offline simulator's answer: it quotes the first sentence "
                   "of each document, without calling Claude."})
    return blocks


def _quote(document: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The first sentence of a document and where it is, in the location kind the document's source gets."""
    source = document["source"]
    if source["type"] == "text":
        # The first whole sentence: a heading or a list marker is not one.
        matches = list(_SENTENCE.finditer(source["data"]))
        match = next((m for m in matches if m.group(0).endswith((".", "!", "?"))), matches[0] if matches else None)
        text = match.group(0) if match else source["data"][:1]
        start = match.start() if match else 0
        return text, {"type": "char_location", "start_char_index": start, "end_char_index": start + len(text)}
    if source["type"] == "content":
        content = source["content"]
        first = content if isinstance(content, str) else next(
            (b.get("text", "") for b in content if b.get("type") == "text"), "")
        return first, {"type": "content_block_location", "start_block_index": 0, "end_block_index": 1}
    # A PDF's first sentence: its first uncompressed text string that ends like one (a title does not).
    data = base64.b64decode(source.get("data", "")) if source["type"] == "base64" else b""
    strings = [found.decode("latin-1").replace("\\(", "(").replace("\\)", ")") for found in _PDF_TEXT.findall(data)]
    text = next((string for string in strings if string.rstrip().endswith((".", "!", "?"))), "(page 1)")
    return text, {"type": "page_location", "start_page_number": 1, "end_page_number": 2}
