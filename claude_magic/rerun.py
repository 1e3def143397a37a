"""What an exchange needs to be asked again, and the `%%claude` line that asks it.

An exchange records the options of the cell that asked it (`asked_of`), so that an exported notebook's
cell re-runs what was asked (`--tools`, `--file`, `--web`, `--system`, …) rather than a bare prompt.
Context that came from the notebook as text (`--context`, `--cells`, `{In[N]}`) is already the prompt's
text; what no fresh notebook can give back (an image from a variable) is named in `missing`, and the
export turns that into a cell that says so instead of asking something else.

Every value that reaches a generated cell goes through `shlex.quote` (or, when it cannot stay on the
magic's line, into a Python cell as a `repr`): it is data there, never another option.
"""

from __future__ import annotations

import os
import shlex
from typing import Any

from . import files
from .conversation import DEFAULT_CHAT, Exchange

# Context blocks that come from files (documents and pictures), in the order `sources.apply` puts them.
_FROM_FILES = ("document", "image")


def asked_of(args: Any, options: Any, namespace: Any) -> dict[str, Any]:
    """The options of a cell (parsed `args`, built `options`) that shape what it asks, as plain JSON data."""
    asked: dict[str, Any] = {}
    for name in ("max_tokens", "effort", "thinking"):
        if getattr(args, name, None) is not None:
            asked[name] = getattr(args, name)
    if getattr(args, "web", None) is not None:
        asked["web"] = options.web.get("max_uses", 5) if options.web else args.web
    for name in ("cite", "code"):
        if getattr(args, name, False):
            asked[name] = True
    missing = []
    if options.tools:
        names = [name for name in options.tools if name.isidentifier()]
        asked["tools"] = names
        if len(names) < len(options.tools):
            missing.append("a tool given as an object, not by a function's name")
    if getattr(args, "file", None):
        asked["files"] = [os.path.abspath(path) for path in files.paths_from(args.file, namespace)]
    if options.schema is not None:
        asked["schema"] = options.schema.name if options.schema.name.isidentifier() else None
        if asked["schema"] is None:
            missing.append("a schema given as an object")
    if getattr(args, "out", None):
        asked["out"] = args.out
    if any(block.get("type") in _FROM_FILES for block in options.context[len(asked.get("files", [])):]):
        missing.append("a picture from a notebook variable (--context)")
    if missing:
        asked["missing"] = "; ".join(missing)
    return asked


def prompt_of(exchange: Exchange) -> str:
    """What the user's turn said in words: the prompt, after any context given as text."""
    content = exchange.user["content"]
    if isinstance(content, str):
        return content
    return "\n\n".join(block["text"] for block in content if block.get("type") == "text")


def cells_for(exchange: Exchange, chat: str, number: int, folder: str) -> tuple[list[str], str]:
    """The Python cells an exchange needs first (variables, or a refusal), and its `%%claude` cell's source.

    `folder` is where the exported notebook is written: recorded files are named relative to it, as a
    kernel started there finds them.
    """
    asked = exchange.asked
    before: list[str] = []
    words: list[str] = []

    def value(option: str, text: str, variable: str) -> None:
        """`--option=text` on the magic's line, or through a variable when the text cannot stay on one line."""
        if text.isprintable() and not text.startswith("$") and len(text) <= 200:
            words.append(f"{option}={shlex.quote(text)}")
        else:
            before.append(f"{variable} = {text!r}")
            words.append(f"{option}=${variable}" if option == "--system" else f"{option}={variable}")

    if chat != DEFAULT_CHAT:
        words.append(f"--chat={shlex.quote(chat)}")
    prompt = prompt_of(exchange)
    if "{" in prompt:  # the prompt was interpolated once already: braces left in it are literal text now
        words.append("--no-interp")
    if exchange.model:
        words.append(f"--model={shlex.quote(exchange.model)}")
    if exchange.system:
        value("--system", exchange.system, f"system_{number}")
    for name in ("max_tokens", "effort"):
        if name in asked:
            words.append(f"--{name.replace('_', '-')}={shlex.quote(str(asked[name]))}")
    if "thinking" in asked:
        words.append("--thinking" if asked["thinking"] == 0 else f"--thinking={asked['thinking']}")
    if "web" in asked:
        words.append(f"--web={asked['web']}")
    words += [f"--{name}" for name in ("cite", "code") if asked.get(name)]
    if asked.get("tools"):
        words.append(f"--tools={','.join(asked['tools'])}")
    if asked.get("files"):
        paths = [_relative(path, folder) for path in asked["files"]]
        plain = all(path.isprintable() and "," not in path and not path.isidentifier() for path in paths)
        if plain:
            words.append(f"--file={shlex.quote(','.join(paths))}")
        else:  # each path through a variable, so a comma in a name cannot split it
            names = [f"file_{number}_{index}" for index in range(1, len(paths) + 1)]
            before += [f"{name} = {path!r}" for name, path in zip(names, paths)]
            words.append(f"--file={','.join(names)}")
    if asked.get("schema"):
        words.append(f"--schema={asked['schema']}")
    if asked.get("out"):
        words.append(f"--out={asked['out']}")
    cells = ["\n".join(before)] if before else []
    missing = asked.get("missing") or _unrecorded(exchange)
    if missing:
        line = (f"Exchange {number} of chat {chat!r} cannot be asked again as it was ({missing}): the cell below "
                "would ask something else. Edit it to give what it needs, then delete this cell.")
        cells.append(f"from claude_magic.errors import BadInput\n\nraise BadInput({line!r})")
    return cells, f"%%claude {' '.join(words)}".rstrip() + f"\n{prompt}"


def _unrecorded(exchange: Exchange) -> str | None:
    """Files or pictures the user turn holds that no recorded option brings back (a chat saved before
    options were recorded)."""
    content = exchange.user["content"]
    sent = [b for b in content if b.get("type") in _FROM_FILES] if isinstance(content, list) else []
    recorded = len(exchange.asked.get("files", []))
    if len(sent) > recorded:
        kinds = sorted({block["type"] for block in sent[recorded:]})
        return f"it sent {' and '.join(kinds)} content this chat file does not say where it came from"
    return None


def _relative(path: str, folder: str) -> str:
    """`path` as a kernel in `folder` finds it: relative when it is inside that folder, else as it is."""
    try:
        relative = os.path.relpath(path, os.path.abspath(folder))
    except ValueError:  # another drive on Windows
        return path
    return path if relative.startswith("..") else relative
