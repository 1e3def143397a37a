"""claude_magic: `%%claude` for Jupyter — Claude's answers stream into the notebook.

    %load_ext claude_magic

Importing this package is cheap: the SDK is imported on the first question.
"""

from __future__ import annotations

import copy
from typing import Any

__version__ = "0.1.0"

_EXTENSION = "ClaudeMagics"


def load_ipython_extension(ipython: Any) -> None:
    from .magic import ClaudeMagics

    ipython.register_magics(ClaudeMagics)


def unload_ipython_extension(ipython: Any) -> None:
    manager = ipython.magics_manager
    magics = manager.registry.pop(_EXTENSION, None)
    if magics is None:
        return
    for kind in ("line", "cell"):
        manager.magics[kind].pop("claude", None)
    magics.session.connection.close()


def _magics() -> Any:
    from IPython import get_ipython

    shell = get_ipython()
    magics = shell.magics_manager.registry.get(_EXTENSION) if shell is not None else None
    if magics is None:
        raise RuntimeError("claude_magic is not loaded: run `%load_ext claude_magic` first.")
    return magics


def offline() -> bool:
    """True when the magic answers from the offline simulator (no API key set, or backend='simulator')."""
    magics = _magics()
    return magics.session.connection.resolve(magics.backend) == "simulator"


def offline_simulator() -> Any:
    """The notebook's offline simulator, started on first use: queue scripted replies and faults on it.

    (Not `simulator()`: that name is the `claude_magic.simulator` package's.)
    """
    return _magics().session.connection.simulator


def client(**options: Any) -> Any:
    """A plain `anthropic.Anthropic(**options)` for the magic's backend: your key, or the simulator."""
    import anthropic

    return anthropic.Anthropic(**_magics().session.sdk_options(), **options)


def async_client(**options: Any) -> Any:
    """The same as `client()`, as an `anthropic.AsyncAnthropic`."""
    import anthropic

    return anthropic.AsyncAnthropic(**_magics().session.sdk_options(), **options)


def history(name: str = "default") -> list[dict[str, Any]]:
    """The messages of a chat, as plain dicts that can be sent to the Messages API as they are."""
    return copy.deepcopy(_magics().session.conversations[name].messages())


def ask(prompt: str, **options: Any) -> Any:
    """Ask from code, like a `%%claude` cell: same chats, rendering and `last_message`; returns the Message.

    Options are the cell's, spelt as keywords: `model=`, `max_tokens=`, `system=`, `chat=`, `new=True`,
    `no_history=True`, `out=`, `tools=[f, g]`, `thinking=True` (or a budget), `events=True`,
    `context=["df"]`, `effort=`, `no_interp=True`, `file="a.pdf"` (or a Path, or a list), `cite=True`,
    `web=True` (or a number of searches), `schema=Model` (the class or dict itself, or its name).
    """
    magics = _magics()
    args = magics.claude.parser.parse_args([])
    for name, value in options.items():
        if name == "command" or not hasattr(args, name):
            raise TypeError(f"ask() got an unknown option {name!r}; see `%%claude?` for the options")
        if name == "context" and not isinstance(value, str):
            value = ",".join(value)
        setattr(args, name, 0 if name == "thinking" and value is True else value)
    return magics.session.ask(*magics.prepare(args, prompt))


async def aask(prompt: str, **options: Any) -> Any:
    """`ask` for async code: awaitable, and several can stream at once, each into its own output.

    The request runs the same synchronous streaming path in a worker thread (which inherits the
    calling cell's context, so the output lands under that cell): one implementation of streaming,
    retries and history, and no patching of the running event loop.
    """
    import asyncio

    return await asyncio.to_thread(ask, prompt, **options)
