"""A small stdio MCP server for the tests, written with the `mcp` package's own server class.

Run as `python lab_server.py [NAME]` (over stdio) or `python lab_server.py NAME PORT` (streamable HTTP on
127.0.0.1:PORT/mcp): its tools add, echo, fail (an MCP error), crash (the process dies
mid-call), slow (sleeps; for Stop), picture (an image result) and markup (HTML in a result). Each call is
appended to $LAB_LOG, when set, so tests can see what reached the server.
"""

from __future__ import annotations

import base64
import os
import sys
import time

try:  # mcp 2.x
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError
    from mcp.server.mcpserver.utilities.types import Image
except ImportError:  # mcp 1.x
    from mcp.server.fastmcp import FastMCP as MCPServer
    from mcp.server.fastmcp.exceptions import ToolError
    from mcp.server.fastmcp.utilities.types import Image

# A 1x1 PNG.
PIXEL = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")

server = MCPServer(sys.argv[1] if len(sys.argv) > 1 else "lab")


def _log(line: str) -> None:
    if os.environ.get("LAB_LOG"):
        with open(os.environ["LAB_LOG"], "a") as log:
            log.write(f"{os.getpid()} {line}\n")


@server.tool()
def add(a: int, b: int) -> int:
    """Add two whole numbers."""
    _log(f"add {a} {b}")
    return a + b


@server.tool()
def echo(text: str) -> str:
    """Say the text back."""
    _log(f"echo {text}")
    return text


@server.tool()
def fail(reason: str) -> str:
    """Always fails, with the reason given."""
    raise ToolError(f"failed on purpose: {reason}")


@server.tool()
def crash() -> str:
    """Kills the server in the middle of the call."""
    _log("crash")
    os._exit(3)


@server.tool()
def slow(seconds: float) -> str:
    """Sleeps, then says so."""
    _log(f"slow {seconds}")
    time.sleep(seconds)
    _log("slow done")
    return f"slept {seconds}"


@server.tool()
def picture() -> Image:
    """A tiny picture."""
    return Image(data=PIXEL, format="png")


@server.tool()
def markup() -> str:
    """A result with markup in it."""
    return "x` <img src=x onerror=alert(1)> `y **bold** <script>alert(2)</script>"


if __name__ == "__main__":
    _log("started")
    if len(sys.argv) > 2:
        try:
            server.run("streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
        except TypeError:  # mcp 1.x: host and port are settings
            server.settings.host, server.settings.port = "127.0.0.1", int(sys.argv[2])
            server.run("streamable-http")
    else:
        server.run()
