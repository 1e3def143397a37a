"""Notebook variables as prompt content: compact, bounded, and readable by a model.

A DataFrame becomes its shape, dtypes and head/tail; an array its shape, dtype and a sample; an image
(PIL image, PNG/JPEG bytes, matplotlib figure) an image block; anything else a truncated repr. The
libraries are only looked at by duck typing, so none of them is a dependency.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import BadInput

_IMAGE_SIGNATURES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}


@dataclass
class Limits:
    chars: int = 4000  # per variable, for any text rendering
    rows: int = 10  # DataFrame rows shown: half from the head, half from the tail


def blocks_for(names: str, namespace: Mapping[str, Any], limits: Limits) -> tuple[list[dict[str, Any]], list[str]]:
    """Content blocks describing each named variable, and a one-line label for each (for the footer)."""
    blocks: list[dict[str, Any]] = []
    labels: list[str] = []
    for name in (n.strip() for n in names.split(",") if n.strip()):
        if name not in namespace:
            raise BadInput(f"--context {name}: there is no variable {name!r} in the notebook.")
        block, label = describe(name, namespace[name], limits)
        if block["type"] == "image":  # an image needs its name said in words beside it
            blocks.append({"type": "text", "text": f"Variable `{name}` ({label}):"})
        blocks.append(block)
        labels.append(f"{name} ({label})")
    return blocks, labels


def describe(name: str, value: Any, limits: Limits) -> tuple[dict[str, Any], str]:
    image = _image_bytes(value)
    if image is not None:
        data, media_type, size = image
        block = {"type": "image", "source": {"type": "base64", "media_type": media_type,
                                             "data": base64.b64encode(data).decode()}}
        return block, f"image {size}" if size else "image"
    if hasattr(value, "dtypes") and hasattr(value, "head") and hasattr(value, "shape"):
        return _text(name, _frame(value, limits), limits), f"DataFrame {value.shape[0]}×{value.shape[1]}"
    if hasattr(value, "dtype") and hasattr(value, "shape"):
        shape = "×".join(map(str, value.shape)) or "scalar"
        return _text(name, _array(value), limits), f"array {shape} {value.dtype}"
    return _text(name, repr(value), limits), type(value).__name__


def _text(name: str, body: str, limits: Limits) -> dict[str, Any]:
    if len(body) > limits.chars:
        body = f"{body[: limits.chars]}\n… ({len(body) - limits.chars:,} more characters not shown)"
    return {"type": "text", "text": f"Variable `{name}`:\n```\n{body}\n```"}


def _frame(frame: Any, limits: Limits) -> str:
    rows, columns = frame.shape
    dtypes = ", ".join(f"{column}: {dtype}" for column, dtype in frame.dtypes.items())
    half = max(1, limits.rows // 2)
    if rows > limits.rows:
        sample = f"{frame.head(half).to_string()}\n…\n{frame.tail(half).to_string(header=False)}"
    else:
        sample = frame.to_string()
    return f"DataFrame with {rows:,} rows × {columns} columns\ndtypes: {dtypes}\n{sample}"


def _array(array: Any) -> str:
    import numpy

    sample = numpy.array2string(array, threshold=50, edgeitems=3)
    return f"array shape={array.shape} dtype={array.dtype}\n{sample}"


def _image_bytes(value: Any) -> tuple[bytes, str, str] | None:
    """PNG/JPEG bytes with their media type and size, for the kinds of image a notebook holds."""
    if isinstance(value, (bytes, bytearray)):
        for signature, media_type in _IMAGE_SIGNATURES.items():
            if bytes(value[: len(signature)]) == signature:
                return bytes(value), media_type, ""
        return None
    buffer = io.BytesIO()
    if hasattr(value, "savefig") and hasattr(value, "get_size_inches"):  # a matplotlib Figure
        value.savefig(buffer, format="png", dpi=100)
        width, height = (int(v * 100) for v in value.get_size_inches())
        return buffer.getvalue(), "image/png", f"{width}×{height}"
    if hasattr(value, "save") and hasattr(value, "size") and hasattr(value, "mode"):  # a PIL Image
        value.save(buffer, format="PNG")
        return buffer.getvalue(), "image/png", "×".join(map(str, value.size))
    return None
