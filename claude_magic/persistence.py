"""Chats on disk: JSON files that a fresh kernel loads to continue a conversation.

A file holds one or more chats as `Chat.to_dict` gives them: the messages exactly as the API takes them,
plus what the magic needs to continue (each exchange's turn count, cell id, model, system prompt, usage).
Never the key or any request header: neither is part of a chat. What happens to a missing, unreadable,
corrupt, newer or another kernel's file is the stores' one policy (`stores.py`): in short, one line and
nothing loaded, and another kernel's chat file is never replaced (this kernel saves beside it and says so).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

from . import stores
from .conversation import Chat
from .errors import BadInput
from .secrets import redact_content

FORMAT = "claude_magic.chats"
VERSION = 1
SUFFIX = ".claude.json"
CHATS = stores.Store("chat", "", FORMAT, VERSION, "give the path of a file `%claude save` wrote")
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


def notebook_stem() -> str | None:
    """The running notebook's file name without extension, when the server says (jupyter_server 2 does)."""
    name = os.environ.get("JPY_SESSION_NAME", "")
    stem = _UNSAFE.sub("_", Path(name).stem).strip("_") if name.endswith(".ipynb") else ""
    return stem or None


def file_name(chat: str) -> str:
    """`{notebook}.{chat}.claude.json`: a chat's default file, named after both, safe on every OS.

    A name that had to be changed gets a short hash of the original, so `a b` and `a_b` stay apart.
    """
    safe = _UNSAFE.sub("_", chat).strip("_")[:80] or "chat"
    if safe != chat:
        safe += "-" + hashlib.sha256(chat.encode("utf-8", "surrogatepass")).hexdigest()[:6]
    stem = notebook_stem()
    return f"{stem}.{safe}{SUFFIX}" if stem else f"{safe}{SUFFIX}"


def default_files(folder: Path) -> list[Path]:
    """This notebook's default chat files in `folder`: what `save` and autosave write there."""
    stem = notebook_stem()
    pattern = re.compile(rf"{re.escape(stem)}\.[\w-]+{re.escape(SUFFIX)}" if stem else rf"[\w-]+{re.escape(SUFFIX)}")
    try:
        return sorted(path for path in folder.iterdir() if pattern.fullmatch(path.name) and path.is_file())
    except OSError:
        return []


def resolve(path: str | None, folder: str) -> Path:
    """PATH as the user means it: `~` expanded, and a relative one taken from the chats folder (None: that folder)."""
    if path is not None and not path.strip():
        raise BadInput("The PATH is empty: give a file name, or leave it out for the chat's own file.")
    return Path(os.path.expanduser(folder or ".")) / os.path.expanduser(path or ".")


def is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:  # a name too long for the file system, say: not a folder, and writing it will say why
        return False


def target(path: str | None, folder: str, chat: str) -> Path:
    """Where a chat is saved or found: PATH, the chat's default file in PATH if that is a folder, or in `folder`."""
    chosen = resolve(path, folder)
    return chosen / file_name(chat) if path is None or is_dir(chosen) else chosen


def dumps(chats: list[Chat]) -> str:
    return json.dumps({**CHATS.header(), "writer": stores.writer(), "chats": [chat.to_dict() for chat in chats]},
                      indent=1)


def loads(text: str, where: Path) -> list[Chat]:
    """The chats of a file's text; BadInput names the file and what is wrong with it."""
    data = CHATS.parse(text, where)
    CHATS.check(data, where)
    if not isinstance(data.get("chats"), list):
        raise CHATS.refuse(where, "is not a claude_magic chat file (it has no list of chats)")
    try:
        chats = [Chat.from_dict(entry) for entry in data["chats"]]
    except (ValueError, TypeError) as exc:
        raise CHATS.refuse(where, f"is not a valid chat file ({exc})", "nothing was loaded") from exc
    names = [chat.name for chat in chats]
    if len(set(names)) != len(names):
        raise BadInput(f"{where} holds two chats of the same name: keep one of them.")
    return chats


def _check_folder(path: Path) -> None:
    if is_dir(path):
        raise BadInput(f"{path} is a folder: give a file name.")
    if not is_dir(path.parent):
        raise BadInput(f"There is no folder {path.parent}: create it first, or save elsewhere.")


def write(path: Path, text: str) -> None:
    """Replace `path` (an export) with `text` atomically; BadInput, with the file untouched, if that is not possible."""
    _check_folder(path)
    CHATS.write(path, text)


def write_chats(chats: list[Chat], path: Path) -> tuple[Path, str | None]:
    """Write chats to `path`, or beside it if another kernel's chat is there: where they went, and the line
    that says it went beside."""
    _check_folder(path)
    what = f"chat {chats[0].name!r}" if len(chats) == 1 else f"{len(chats)} chats"
    return stores.write_own(CHATS, path, dumps(chats), f"this kernel's {what}")


def read(path: Path) -> list[Chat]:
    """The chats saved at `path`; BadInput in one line for a missing, unreadable or foreign file."""
    if is_dir(path):
        raise BadInput(f"{path} is a folder with no saved chat of that name: give the file's path.")
    text = CHATS.read(path, missing=f"No saved chat at {path}: save one with `%claude save`, or give its path.")
    return loads(text, path)


def offer(folder: str) -> str | None:
    """The line `%load_ext` shows when this notebook's folder holds chats saved by an earlier session."""
    files = default_files(resolve(None, folder))
    if not files:
        return None
    names = ", ".join(f"`{path.name}`" for path in files[:5]) + (" …" if len(files) > 5 else "")
    count = f"{len(files)} saved chat{'s' if len(files) > 1 else ''}"
    return f"{count} from an earlier session here ({names}): `%claude load --all` brings them back."


def save(chats: list[Chat], path: Path) -> str:
    """Write `chats` to `path` (atomically, or beside it when another kernel's chat is there); what was done."""
    written, beside = write_chats(chats, path)
    what = f"chat {chats[0].name!r}" if len(chats) == 1 else f"{len(chats)} chats"
    count = sum(len(chat.exchanges) for chat in chats)
    done = f"Saved {what} ({count} exchange{'s' if count != 1 else ''}) to {written}."
    return f"{beside}\n{done}" if beside else done


def redact_loaded(chats: list[Chat]) -> set[str]:
    """Redact credentials from loaded chats in place (a chat saved by an older version may hold one, and
    it would be sent again with the next question); the names of the variables whose values were found.

    Thinking blocks are left as they are: their signature covers their text."""
    names: set[str] = set()
    for chat in chats:
        for exchange in chat.exchanges:
            for turn in exchange.turns:
                turn["content"], found = redact_content(turn["content"])
                names.update(found)
    return names


def load_for(path: str | None, folder: str, chat: str, *, every: bool) -> list[tuple[Chat, Path]]:
    """The chats `%claude load [PATH] [--all]` means, each with the file it came from.

    A file brings every chat it holds; a folder (the default one without PATH) the chat's default file,
    or with `every` all of this notebook's default files there.
    """
    where = resolve(path, folder)
    if every and is_dir(where):
        files = default_files(where)
        if not files:
            raise BadInput(f"No saved chats in {where}: save them with `%claude save --all`.")
    else:
        files = [target(path, folder, chat)]
    return [(loaded, file) for file in files for loaded in read(file)]


def export(chat: Chat, path: str, folder: str) -> str:
    """Write a chat for reading: a markdown transcript (.md) or a notebook (.ipynb). The line that says so."""
    from . import transcript

    if not chat.exchanges:
        raise BadInput(f"Chat {chat.name!r} has no exchanges yet: nothing to export.")
    where = resolve(path, folder)
    if where.suffix.lower() == ".md":
        write(where, transcript.markdown(chat))
    elif where.suffix.lower() == ".ipynb":
        write(where, json.dumps(transcript.notebook(chat, where.parent), indent=1, ensure_ascii=False) + "\n")
    else:
        raise BadInput(f"`%claude export` writes a .md transcript or an .ipynb notebook, not {str(where)!r}.")
    return f"Exported chat {chat.name!r} ({len(chat.exchanges)} exchanges) to {where}."


def restore(conversations: Any, chats: list[tuple[Chat, Path]], *, replace: bool, append: bool) -> list[str]:
    """Put loaded chats into the notebook's: all of them or, if any would clash, none. Lines saying what changed.

    A chat that already has exchanges is only replaced or appended to when asked; appended exchanges
    lose cell ids the chat already uses, so re-running those cells still replaces their own exchange.
    A file loaded is this kernel's to write from then on (see `stores.took`).
    """
    current = {chat.name: chat for chat in conversations}
    names = [chat.name for chat, _ in chats]
    if len(set(names)) != len(names):
        repeat = _first_repeat(names)
        where = " and ".join(str(path) for chat, path in chats if chat.name == repeat)
        raise BadInput(f"Two files hold a chat named {repeat!r} ({where}): load them one at a time.")
    busy = [name for name in names if name in current and current[name].exchanges]
    if busy and not (replace or append):
        raise BadInput(f"Chat {busy[0]!r} already has exchanges: load with `--replace` to drop them, or "
                       f"`--append` to add the saved ones after them.")
    told = []
    for chat, where in chats:
        into = conversations[chat.name]
        kept = into.exchanges if append else []
        used = {exchange.cell_id for exchange in kept}
        for exchange in chat.exchanges:
            if exchange.cell_id in used:
                exchange.cell_id = None
        into.exchanges = [*kept, *chat.exchanges]
        verb = "appended to" if append and kept else "loaded into"
        model = chat.exchanges[-1].model if chat.exchanges else None
        asked = f", last asked with `{model}`" if model else ""
        told.append(f"{len(chat.exchanges)} exchange(s) {verb} chat {chat.name!r} from {where}{asked}.")
        stores.took(where)  # loaded, so this kernel's to write again (until another kernel writes it)
    return told


def _first_repeat(names: list[str]) -> str:
    return next(name for number, name in enumerate(names) if name in names[:number])


def autosave(conversations: Any, name: str, folder: str) -> None:
    """Write chat `name` to its default file; a chat that was reset leaves an empty one (nothing to offer)."""
    chat = next((chat for chat in conversations if chat.name == name), Chat(name))
    path = target(None, folder, name)
    if not chat.exchanges and not (stores.where(path).exists() and stores.is_ours(stores.where(path))):
        return
    try:
        _, beside = write_chats([chat], path)
    except BadInput as exc:
        print(f"(claude_magic autosave: {exc})", file=sys.stderr)
        return
    if beside:
        print(f"(claude_magic autosave: {beside})", file=sys.stderr)
