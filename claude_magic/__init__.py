"""claude_magic: `%%claude` for Jupyter — Claude's answers stream into the notebook.

    %load_ext claude_magic

Importing this package is cheap: the SDK is imported on the first question.

What a cell can raise, to catch from code: `ClaudeMagicError` (a failure told in one line; `BadInput`,
the cell or its options are wrong and nothing was sent, is one), `Stopped` (the user pressed Stop; a
`KeyboardInterrupt`); `--map` results hold a `Failed` for an item that got no answer.
"""

from __future__ import annotations

import copy
from typing import Any

from .failures import BadInput, BadKeyword, ClaudeMagicError, Failed, Stopped

__version__ = "0.1.0"

__all__ = [
    "BadInput",
    "ClaudeMagicError",
    "Failed",
    "Stopped",
    "__version__",
    "aask",
    "ask",
    "async_client",
    "chats",
    "client",
    "history",
    "load_ipython_extension",
    "offline",
    "offline_simulator",
    "unload_ipython_extension",
    "usage",
]

_EXTENSION = "ClaudeMagics"


def load_ipython_extension(ipython: Any) -> None:
    from .frontend import connect
    from .magic import ClaudeMagics
    from .persistence import offer

    magics = ClaudeMagics(ipython)
    ipython.register_magics(magics)
    ipython.events.register("pre_run_cell", magics.cells.before_cell)
    ipython.events.register("post_run_cell", magics.cells.after_cell)
    connect(ipython, magics)  # the notebook extension, if the page has it
    saved = offer(magics.chats_folder)
    if saved:
        print(saved)


def unload_ipython_extension(ipython: Any) -> None:
    manager = ipython.magics_manager
    magics = manager.registry.pop(_EXTENSION, None)
    if magics is None:
        return
    for kind in ("line", "cell"):
        manager.magics[kind].pop("claude", None)
    ipython.events.unregister("pre_run_cell", magics.cells.before_cell)
    ipython.events.unregister("post_run_cell", magics.cells.after_cell)
    from .frontend import disconnect

    disconnect(ipython, magics)
    magics.session.connection.close()
    magics.mcp.close()


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
    return magics.session.connection.resolve(magics.backend, magics.provider) == "simulator"


def offline_simulator() -> Any:
    """The notebook's offline simulator, started on first use: queue scripted replies and faults on it.

    (Not `simulator()`: that name is the `claude_magic.simulator` package's.)
    """
    return _magics().session.connection.simulator


def client(**options: Any) -> Any:
    """A plain SDK client for the magic's backend: `anthropic.Anthropic(**options)` with your key or the
    simulator, the provider's client (`AnthropicVertex`, …), or the one given to `use_client`."""
    return _magics().session.plain_client(options)


def async_client(**options: Any) -> Any:
    """The same as `client()`, as an async client (`anthropic.AsyncAnthropic`, …)."""
    return _magics().session.plain_client(options, asynchronous=True)


def use_client(client: Any, async_client: Any = None) -> None:
    """Send every cell, command and helper through `client`, an SDK client: `Anthropic` with your own
    headers or `http_client`, `AnthropicBedrock`, `AnthropicVertex` or `AnthropicFoundry`.
    `async_client` is what `claude_magic.async_client()` returns. `use_client(None)` goes back to the default
    (`ClaudeMagics.provider` and `backend`). Retries stay the magic's: a copy with `max_retries=0` is used.
    """
    _magics().session.connection.use(client, async_client)


def history(name: str = "default") -> list[dict[str, Any]]:
    """The messages of a chat, as plain dicts that can be sent to the Messages API as they are."""
    return copy.deepcopy(_magics().session.conversations[name].messages())


def chats() -> Any:
    """The notebook's chats: index by name for one `Chat`; either displays as a table."""
    return _magics().session.conversations


def usage() -> Any:
    """The tokens spent since the kernel started, by chat and model; displays as `%claude usage`'s table."""
    return _magics().session.ledger


def ask(prompt: str, **options: Any) -> Any:
    """Ask from code, exactly as a `%%claude` cell with the same options would; returns what it made.

    Options are the cell's, spelt as keywords (`max_tokens=` for `--max-tokens`) and checked by the
    cell's own parser: `model=`, `max_tokens=`, `system=`, `chat=`, `new=True`, `no_history=True`,
    `out=`, `tools=[f, g]` (or "f,g"), `thinking=True` (or a budget), `events=True`,
    `context=["df"]`, `effort=`, `no_interp=True`, `replay=True`, `fresh=True`, `code=True`,
    `cells=N`, `file="a.pdf"` (or a Path, or a list), `cite=True`, `web=True` (or a number of
    searches), `schema=Model` (the class or dict itself, or its name), `budget=0.5` (US dollars),
    `run=True` (and `yes=True`). Returns the final
    `Message`; with `count=True` the input token count (nothing is asked); with `map="xs"` (and
    `batch=True`) the answers, aligned with `xs`. A keyword the cell has no option for is a TypeError.
    """
    if not isinstance(prompt, str):
        raise BadKeyword(f"ask() takes the prompt as text, not a {type(prompt).__name__}.")
    magics = _magics()
    return magics.dispatch(magics.arguments(options), prompt)


async def aask(prompt: str, **options: Any) -> Any:
    """`ask` for async code: awaitable, and several can stream at once, each into its own output.

    The request runs the same synchronous streaming path in a worker thread (which inherits the
    calling cell's context, so the output lands under that cell): one implementation of streaming,
    retries and history, and no patching of the running event loop.
    """
    import asyncio

    return await asyncio.to_thread(ask, prompt, **options)
