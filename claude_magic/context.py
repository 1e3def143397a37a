"""Notebook variables as prompt content: compact, bounded, and readable by a model.

A DataFrame becomes its shape, dtypes and head/tail; an array its shape, dtype and a sample; an image
(PIL image, PNG/JPEG bytes, matplotlib figure) an image block; anything else a bounded repr, built by
`reprlib` from the first items and characters only, so a 100 MB value costs no 100 MB of text. The
libraries are only looked at by duck typing, so none of them is a dependency.
"""

from __future__ import annotations

import base64
import io
import reprlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import BadInput
from .files import media_type_of
from .showing import bounded, placeholder


@dataclass
class Limits:
    chars: int = 4000  # per variable, for any text rendering
    rows: int = 10  # DataFrame rows shown: half from the head, half from the tail


def blocks_for(names: str, namespace: Mapping[str, Any], limits: Limits) -> tuple[list[dict[str, Any]], list[str]]:
    """Content blocks describing each named variable, and a one-line label for each (for the footer)."""
    blocks: list[dict[str, Any]] = []
    labels: list[str] = []
    if not names.strip(" ,"):
        raise BadInput("--context needs a variable name: `--context df` or `--context df,model`.")
    for name in (n.strip() for n in names.split(",") if n.strip()):
        if name not in namespace:
            raise BadInput(f"--context {name}: there is no variable {name!r} in the notebook.")
        block, label = _described(name, namespace[name], limits)
        if block["type"] == "image":  # an image needs its name said in words beside it
            blocks.append({"type": "text", "text": f"Variable `{name}` ({label}):"})
        blocks.append(block)
        labels.append(f"{name} ({label})")
    return blocks, labels


def _described(name: str, value: Any, limits: Limits) -> tuple[dict[str, Any], str]:
    """`describe`, bounded: the value's own code (repr, to_string, savefig) may raise or hang (showing.py)."""
    return bounded(lambda: describe(name, value, limits), f"--context {name}",
                   lambda exc: ({"type": "text", "text": f"Variable `{name}`: {placeholder(exc)}"}, type(value).__name__))


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
    preview = _Preview(limits.chars)
    body = preview.repr(value)
    size = f" of length {len(value):,}" if isinstance(value, _SIZED) else ""
    whole = f"; the whole is a {type(value).__name__}{size}"
    cut = preview.left < 0 or isinstance(value, _CONTAINERS) and len(value) > _Preview.items
    return _text(name, body, limits, whole, cut=cut), type(value).__name__


def _text(name: str, body: str, limits: Limits, whole: str = "", cut: bool = False) -> dict[str, Any]:
    if len(body) > limits.chars or cut:
        body = f"{body[: limits.chars]}\n… (shortened to {limits.chars:,} characters{whole})"
    return {"type": "text", "text": f"Variable `{name}`:\n```\n{body}\n```"}


_SIZED = (str, bytes, bytearray, list, tuple, dict, set, frozenset)
_CONTAINERS = (list, tuple, dict, set, frozenset)


class _Preview(reprlib.Repr):
    """A repr that stops writing once it has written `chars` characters: items past it are `...`.

    Strings and bytes are sliced before their repr is built, and containers are read only as far as
    their first items, so the cost follows `chars`, not the size of the value.
    """

    items = 100  # of any one container

    def __init__(self, chars: int):
        super().__init__()
        self.maxstring = self.maxother = self.maxlong = chars
        self.maxlist = self.maxtuple = self.maxset = self.maxfrozenset = self.maxdeque = self.maxarray = self.items
        self.maxdict = self.items
        self.left = chars

    def repr1(self, x: Any, level: int) -> str:
        if self.left <= 0:
            return self.fillvalue
        text = super().repr1(x, level)
        if not isinstance(x, _CONTAINERS):  # a container's items were counted already
            self.left -= len(text) + 2
        return text

    def repr_bytes(self, x: bytes, level: int) -> str:
        return self.repr_str(x, level)

    def repr_bytearray(self, x: bytearray, level: int) -> str:
        return f"bytearray({self.repr_str(bytes(x[: self.maxstring]), level)}{', ...' if len(x) > self.maxstring else ''})"

    def repr_int(self, x: int, level: int) -> str:
        try:
            return super().repr_int(x, level)
        except ValueError:  # more digits than Python will write (sys.int_max_str_digits)
            return f"<int of {x.bit_length():,} bits>"


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
    """PNG/JPEG/GIF/WebP bytes with their media type and size, for the kinds of image a notebook holds."""
    if isinstance(value, (bytes, bytearray)):
        media_type = media_type_of(bytes(value[:16]))
        return (bytes(value), media_type, "") if media_type and media_type.startswith("image/") else None
    buffer = io.BytesIO()
    if hasattr(value, "savefig") and hasattr(value, "get_size_inches"):  # a matplotlib Figure
        value.savefig(buffer, format="png", dpi=100)
        width, height = (int(v * 100) for v in value.get_size_inches())
        return buffer.getvalue(), "image/png", f"{width}×{height}"
    if hasattr(value, "save") and hasattr(value, "size") and hasattr(value, "mode"):  # a PIL Image
        value.save(buffer, format="PNG")
        return buffer.getvalue(), "image/png", "×".join(map(str, value.size))
    return None
