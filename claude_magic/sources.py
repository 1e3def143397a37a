"""What `--file`, `--cite`, `--web` and `--schema` add to a cell: checked options (request.py lays them out)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from . import files
from .errors import BadInput
from .secrets import redact
from .structured import schema_from
from .web import MAX_USES, web_tool


def apply(options: Any, args: Any, namespace: Mapping[str, Any], *, upload_above: int,
          file_id: Callable[[files.Loaded], str]) -> None:
    """Fill the options' document, web and schema fields from parsed arguments, or raise one line."""
    if args.cite and args.file is None and args.web is None:
        raise BadInput("--cite needs something to cite: add `--file PATH` (or `--web`, which always cites).")
    if args.file is not None:
        loaded = [files.load(path) for path in files.paths_from(args.file, namespace)]
        for item in loaded:  # a text file may be uploaded before the user turn is built: redacted here
            if item.kind == "text":
                text, names = redact(item.data.decode("utf-8"))
                if names:
                    item.data = text.encode("utf-8")
                    options.redacted.update(names)
        if args.cite and all(item.kind == "image" for item in loaded):
            raise BadInput("--cite works on documents (PDF or text); images cannot be cited.")
        # --count asks nothing, so it uploads nothing either: its files are counted inline.
        blocks, labels = files.blocks_for(loaded, cite=args.cite, upload_above=upload_above,
                                          file_id=None if getattr(args, "count", False) else file_id)
        options.context = [*blocks, *options.context]  # documents first, then the question: as the API advises
        options.context_labels = [*labels, *options.context_labels]
    if args.web is not None:  # ask(web=True) means the flag alone
        options.web = web_tool(MAX_USES if args.web is True else args.web)
    options.schema = schema_from(args.schema, namespace) if args.schema else None
