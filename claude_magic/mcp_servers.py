"""Tools from MCP servers (`--mcp db,docs`): started on first use, kept up for the kernel's life.

`ClaudeMagics.mcp_servers` is the map Claude Desktop and Claude Code use: a name to `{"command", "args",
"env"}` (a local server over stdio) or `{"url"}` (streamable HTTP). The official `mcp` package is the
client and the SDK's `async_mcp_tool` converts each tool; the servers' sessions live in one event loop
on a daemon thread owned by the magic. A converted tool becomes a `ServerTool`: an object with a name, a
definition and a blocking `call`, which the ordinary tool loop (tools.run_calls) runs like a notebook
function; Stop cancels the call on the server's side too. Nothing starts until a cell names the server.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import os
import re
import shlex
import shutil
import tempfile
import threading
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from .errors import BadInput, Stopped
from .view.escape import code, shorten
from .view.tables import Rendered, markdown_table

INSTALL = "`--mcp` needs the `mcp` package: `pip install 'claude-magic[mcp]'`, then restart the kernel."
NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")
TOOL_NAME = re.compile(r"[a-zA-Z0-9_-]{1,64}")
# Keys a server's entry may have (Claude Desktop / Code also write "type" and "transport").
_STDIO_KEYS = {"command", "args", "env", "cwd", "type", "transport"}
_HTTP_KEYS = {"url", "headers", "type", "transport"}
# Seconds a stopping server gets to exit, beyond the `mcp` package's own grace period and kill.
_STOP_WAIT = 10.0


class ServerGone(Exception):
    """The server's connection closed during a call (it exited or crashed)."""


@dataclass
class Server:
    """One configured server and, once started, its session and tools."""

    name: str
    spec: dict[str, Any]
    state: str = "not started"  # "running", "failed"
    why: str = ""
    tools: list[Any] = field(default_factory=list)  # the MCP Tool definitions
    session: Any = None
    stop: Any = None  # an asyncio.Event set to end the server's task
    task: concurrent.futures.Future | None = None
    errlog: Any = None

    @property
    def what(self) -> str:
        """What it runs or reaches, as the start line and `%claude mcp` say it."""
        if "url" in self.spec:  # without a query or user info, where tokens hide
            url = urlsplit(self.spec["url"])
            return f"{url.scheme}://{url.hostname}{f':{url.port}' if url.port else ''}{url.path}"
        return shlex.join([self.spec["command"], *self.spec.get("args", [])])


def validate(config: Any) -> dict[str, dict[str, Any]]:
    """The servers of `mcp_servers` (also as `{"mcpServers": {...}}`, as Claude Desktop's file has it),
    or one line saying what is wrong."""
    if isinstance(config, dict) and set(config) == {"mcpServers"}:
        config = config["mcpServers"]
    where = "ClaudeMagics.mcp_servers"
    if not isinstance(config, dict):
        raise BadInput(f"{where} must be a dict of server names to {{'command': …}} or {{'url': …}}.")
    servers = {}
    for name, spec in config.items():
        label = f"{where}[{name!r}]"
        if not isinstance(name, str) or not NAME.fullmatch(name):
            raise BadInput(f"{where}: {name!r} is not a server name (letters, digits, _ . -, at most 64).")
        if not isinstance(spec, dict):
            raise BadInput(f"{label} must be a dict with 'command' (and 'args', 'env') or 'url'.")
        if ("command" in spec) == ("url" in spec):
            raise BadInput(f"{label} needs either 'command' (a local server) or 'url' (streamable HTTP).")
        if "command" in spec:
            _check_stdio(label, spec)
        else:
            _check_http(label, spec)
        servers[name] = spec
    return servers


def _check_stdio(label: str, spec: dict[str, Any]) -> None:
    unknown = set(spec) - _STDIO_KEYS
    if unknown:
        raise BadInput(f"{label} has unknown keys {sorted(unknown)}: a local server takes command, args, env, cwd.")
    if not isinstance(spec["command"], str) or not spec["command"].strip() or "\0" in spec["command"]:
        raise BadInput(f"{label}['command'] must be the program to run, as text.")
    args = spec.get("args", [])
    if not isinstance(args, list) or not all(isinstance(arg, str) and "\0" not in arg for arg in args):
        raise BadInput(f"{label}['args'] must be a list of strings.")
    env = spec.get("env", {})
    if not isinstance(env, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in env.items()):
        raise BadInput(f"{label}['env'] must be a dict of strings to strings.")
    cwd = spec.get("cwd")
    if cwd is not None and not (isinstance(cwd, str) and os.path.isdir(cwd)):
        raise BadInput(f"{label}['cwd'] must be an existing folder, not {cwd!r}.")
    if spec.get("type", "stdio") not in ("stdio",):
        raise BadInput(f"{label}: type {spec['type']!r} does not go with 'command' (a local server is 'stdio').")


def _check_http(label: str, spec: dict[str, Any]) -> None:
    unknown = set(spec) - _HTTP_KEYS
    if unknown:
        raise BadInput(f"{label} has unknown keys {sorted(unknown)}: a remote server takes url and headers.")
    url = spec["url"]
    if not isinstance(url, str) or not re.match(r"https?://[^\s/]+", url):
        raise BadInput(f"{label}['url'] must be an http(s) URL.")
    headers = spec.get("headers", {})
    if not isinstance(headers, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                for k, v in headers.items()):
        raise BadInput(f"{label}['headers'] must be a dict of strings to strings.")
    if spec.get("type", "http") not in ("http", "streamable-http", "streamable_http"):
        raise BadInput(f"{label}: only streamable HTTP servers are supported, not {spec['type']!r}.")


class ServerTool:
    """An MCP server's tool as the tool loop runs it (like the SDK's function tools: name, to_dict, call)."""

    def __init__(self, servers: Servers, server: Server, tool: Any, name: str):
        from anthropic.lib.tools.mcp import async_mcp_tool

        self.servers, self.server, self.tool, self.name = servers, server, tool, name
        self.definition = {**async_mcp_tool(tool, server.session).to_dict(), "name": name}

    def to_dict(self) -> dict[str, Any]:
        return dict(self.definition)

    def call(self, input: object) -> Any:
        """The result as the API's tool_result content; raises (an is_error result) when the call fails."""
        return self.servers.call(self, input)


class Servers:
    """The notebook's MCP servers and the event loop thread their sessions live in."""

    def __init__(self, timeout: Any = lambda: 30.0) -> None:
        self.timeout = timeout  # seconds a server has to answer `initialize` (read when one starts)
        self.servers: dict[str, Server] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._registered = False

    # --- what cells and commands ask for

    def tools(self, names: str, config: Any, taken: set[str] = frozenset()) -> dict[str, ServerTool]:
        """The tools of the named servers, starting those not running; a name taken by another tool (or
        by another server's tool) is prefixed with its server's name."""
        wanted = [name.strip() for name in names.split(",") if name.strip()]
        if not wanted:
            raise BadInput("--mcp needs server names: `--mcp db` or `--mcp db,docs`.")
        _require_mcp()
        specs = validate(config)
        for name in wanted:
            if name not in specs:
                known = ", ".join(specs) or "none is configured"
                raise BadInput(f"--mcp {name}: there is no MCP server {name!r} in ClaudeMagics.mcp_servers "
                               f"({known}).")
        started = [self._started(name, specs[name]) for name in dict.fromkeys(wanted)]
        counts: dict[str, int] = {}
        for server in started:
            for tool in server.tools:
                counts[tool.name] = counts.get(tool.name, 0) + 1
        tools: dict[str, ServerTool] = {}
        for server in started:
            for tool in server.tools:
                name = tool.name
                if counts[name] > 1 or name in taken or not TOOL_NAME.fullmatch(name):
                    name = re.sub(r"[^a-zA-Z0-9_-]", "_", f"{server.name}_{name}")[:64]
                if name in tools or name in taken:
                    raise BadInput(f"--mcp {server.name}: two tools would be named {name!r}; rename one server.")
                tools[name] = ServerTool(self, server, tool, name)
        return tools

    def status(self, config: Any) -> Status:
        """`%claude mcp`: every configured server, whether it runs, and its tools."""
        specs = validate(config) if config else {}
        rows = []
        for name, spec in specs.items():
            server = self.servers.get(name)
            if server is None or server.spec != spec:
                server = Server(name, spec)
            state = f"failed ({server.why})" if server.state == "failed" else server.state
            tools = ", ".join(tool.name for tool in server.tools) if server.state == "running" else ""
            rows.append([name, server.what, state, tools])
        return Status(rows)

    def call(self, tool: ServerTool, input: object) -> Any:
        server = tool.server
        if server.state != "running" or self._loop is None:
            raise ServerGone(f"MCP server {server.name!r} is not running ({server.why or server.state}).")
        future = asyncio.run_coroutine_threadsafe(self._call(server, tool, input), self._loop)
        try:
            while True:  # waits in short steps, so Stop (KeyboardInterrupt) lands at once
                try:
                    return future.result(timeout=0.1)
                except concurrent.futures.TimeoutError:
                    continue
        except ServerGone as exc:  # Claude reads it as an is_error result; the user gets this line
            print(f"⚠ {exc}. The next `--mcp {server.name}` cell starts it again.")
            raise
        except BaseException:
            future.cancel()  # Stop: the task is cancelled and the `mcp` client tells the server
            raise

    def close(self) -> None:
        """Stop every server and the loop: `%unload_ext`, kernel shutdown."""
        loop, self._loop = self._loop, None
        if loop is None:
            return
        for server in self.servers.values():
            if server.stop is not None:
                loop.call_soon_threadsafe(server.stop.set)
        # Every task the loop still has (a cancelled start's shutdown too) ends its process first; past the
        # wait the loop stops anyway, and the kernel's exit closes the pipes.
        drained = asyncio.run_coroutine_threadsafe(_drain(), loop)
        concurrent.futures.wait([drained], timeout=_STOP_WAIT + 1)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=_STOP_WAIT)
        for server in self.servers.values():
            server.state, server.session, server.task = "not started", None, None
            if server.errlog is not None:
                server.errlog.close()
        self.servers.clear()

    # --- the event loop's side

    def _ensure_loop(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                self._thread = threading.Thread(target=self._loop.run_forever, name="claude-magic-mcp", daemon=True)
                self._thread.start()
                if not self._registered:  # the kernel's exit stops the servers (and so their processes)
                    atexit.register(self.close)
                    self._registered = True
            return self._loop

    def _started(self, name: str, spec: dict[str, Any]) -> Server:
        server = self.servers.get(name)
        if server is not None and server.state == "running" and server.spec == spec:
            return server
        if server is not None:
            self._stop(server)  # its settings changed, or it died: start it afresh
            if server.errlog is not None:
                server.errlog.close()
        server = self.servers[name] = Server(name, spec)
        if "command" in spec and not _runnable(spec["command"]):
            server.state, server.why = "failed", f"no command {spec['command']!r}"
            raise BadInput(f"--mcp {name}: cannot run {spec['command']!r}: no such command. Install it, or fix "
                           f"ClaudeMagics.mcp_servers[{name!r}]['command'].")
        verb = "Connecting to" if "url" in spec else "Starting"
        print(f"{verb} MCP server {name!r}: {server.what}")
        loop = self._ensure_loop()
        ready: concurrent.futures.Future = concurrent.futures.Future()
        server.stop = None
        timeout = float(self.timeout())
        server.task = asyncio.run_coroutine_threadsafe(self._serve(server, ready, timeout), loop)
        try:
            ready.result(timeout=timeout + _STOP_WAIT)
        except KeyboardInterrupt:
            server.state, server.why = "failed", "stopped by you while starting"
            self._stop(server)
            raise Stopped(f"stopped by you while MCP server {name!r} was starting; nothing was sent.") from None
        except BaseException as raised:  # noqa: BLE001 - told below, outside this handler
            failure = _leaf(raised)  # the transport's task group wraps what happened in an exception group
        else:
            server.state = "running"
            return server
        # Raised outside the handler: IPython prints any error whose context holds an exception group
        # as a whole traceback, ignoring its `_render_traceback_`.
        server.state, server.why = "failed", _reason(failure, server, timeout)
        self._stop(server)
        raise BadInput(f"--mcp {name}: the server did not start ({server.why}). Nothing was sent.") from failure

    async def _serve(self, server: Server, ready: concurrent.futures.Future, timeout: float) -> None:
        """The server's whole life: connect, initialize, list tools, then wait to be stopped."""
        from contextlib import AsyncExitStack

        from mcp import ClientSession

        server.stop = asyncio.Event()
        try:
            async with AsyncExitStack() as stack:
                read, write = _streams(await stack.enter_async_context(self._transport(server)))
                session = await stack.enter_async_context(ClientSession(read, write))
                listed = await asyncio.wait_for(_handshake(session), timeout)
                server.session, server.tools = session, list(listed.tools)
                ready.set_result(None)
                await server.stop.wait()
        except BaseException as exc:  # the starting cell reads it; a later failure marks the server failed
            if not ready.done():
                ready.set_exception(exc)
            elif server.state == "running":
                server.state, server.why = "failed", _one_line(exc)
            if not isinstance(exc, Exception):
                raise
        finally:
            server.session = None

    def _transport(self, server: Server) -> Any:
        spec = server.spec
        if "url" in spec:
            return _http_client(spec["url"], spec.get("headers") or {})
        from mcp import StdioServerParameters, stdio_client

        # The server's stderr goes to a file of its own: in a kernel it would land in whichever cell runs.
        server.errlog = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace")  # noqa: SIM115 - closed in close()
        params = StdioServerParameters(command=spec["command"], args=list(spec.get("args", [])),
                                       env=dict(spec.get("env", {})) or None, cwd=spec.get("cwd"))
        return stdio_client(params, errlog=server.errlog)

    async def _call(self, server: Server, tool: ServerTool, input: object) -> Any:
        from anthropic.lib.tools.mcp import async_mcp_tool

        try:  # converted against the live session: the SDK turns the result into the API's content
            return await async_mcp_tool(tool.tool, server.session).call(input)
        except Exception as exc:
            if _closed(exc):
                server.state, server.why = "failed", "exited during a call"
                if server.stop is not None:
                    server.stop.set()
                # No stderr here: a server's last line is as often its own request log as the cause.
                raise ServerGone(f"MCP server {server.name!r} stopped during the call to {tool.tool.name!r}") from exc
            raise

    def _stop(self, server: Server) -> None:
        """End a server's task: politely when it waits to be stopped, else by cancelling it (the `mcp`
        client's shutdown, which stops the process, is shielded from the cancel)."""
        if self._loop is not None and server.stop is not None:
            self._loop.call_soon_threadsafe(server.stop.set)
        if server.task is not None:
            if server.state != "running":
                server.task.cancel()
            concurrent.futures.wait([server.task], timeout=_STOP_WAIT)
        server.session = None


class Status(Rendered):
    """`%claude mcp`'s table: each server, what it runs, running / not started / failed (why), its tools."""

    def __init__(self, rows: list[list[str]]):
        self.rows = rows

    def _repr_markdown_(self) -> str:
        if not self.rows:
            return ("No MCP servers are configured: set `%config ClaudeMagics.mcp_servers = {'name': {'command': …, "
                    "'args': […]}}` (or `{'url': …}`), then ask with `%%claude --mcp name`.")
        rows = [[code(shorten(name, 80)), shorten(what, 120), shorten(state, 120), shorten(tools, 400)]
                for name, what, state, tools in self.rows]
        return markdown_table(["server", "runs", "state", "tools"], rows)


async def _handshake(session: Any) -> Any:
    await session.initialize()
    return await session.list_tools()


async def _drain() -> None:
    tasks = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    if tasks:
        await asyncio.wait(tasks, timeout=_STOP_WAIT)


def _streams(opened: Any) -> tuple[Any, Any]:
    """(read, write) from a transport: stdio yields two streams, streamable HTTP three in mcp 1.x."""
    return opened[0], opened[1]


def _http_client(url: str, headers: dict[str, str]) -> Any:
    try:  # mcp 2.x
        from mcp.client.streamable_http import streamable_http_client
    except ImportError:  # mcp 1.x
        from mcp.client.streamable_http import streamablehttp_client

        return streamablehttp_client(url, headers=headers or None)
    if headers:
        from mcp.shared._httpx_utils import create_mcp_http_client

        return streamable_http_client(url, http_client=create_mcp_http_client(headers=headers))
    return streamable_http_client(url)


def _require_mcp() -> None:
    import importlib.util

    try:
        found = importlib.util.find_spec("mcp") is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        raise BadInput(INSTALL)


def _runnable(command: str) -> bool:
    if os.sep in command or (os.altsep and os.altsep in command):
        return os.path.isfile(command) and os.access(command, os.X_OK)
    return shutil.which(command) is not None


def _closed(exc: BaseException) -> bool:
    """Whether a failed call means the connection is gone (the `mcp` client's "Connection closed", or
    anyio's closed-stream errors underneath it)."""
    if type(exc).__name__ in ("ClosedResourceError", "BrokenResourceError", "EndOfStream"):
        return True
    return "connection closed" in str(exc).lower()


def _reason(exc: BaseException, server: Server, timeout: float) -> str:
    if isinstance(exc, (TimeoutError, asyncio.TimeoutError, concurrent.futures.TimeoutError)):
        return f"no answer to `initialize` within {timeout:g} s{_stderr_tail(server)}"
    return f"{_one_line(exc)}{_stderr_tail(server)}"


def _leaf(exc: BaseException) -> BaseException:
    """The first exception inside (nested) exception groups; the exception itself otherwise."""
    while getattr(exc, "exceptions", None):
        exc = exc.exceptions[0]
    return exc


def _one_line(exc: BaseException) -> str:
    exc = _leaf(exc)
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:200]


def _stderr_tail(server: Server) -> str:
    """The last line a server that did not start wrote to stderr, if any: usually why."""
    log = server.errlog
    if log is None or log.closed:
        return ""
    try:
        log.seek(max(0, os.fstat(log.fileno()).st_size - 4000))
        lines = [line.strip() for line in log.read().splitlines() if line.strip()]
    except (OSError, ValueError):
        return ""
    return f"; it said: {lines[-1][:200]}" if lines else ""
