"""A small MCP server for tutorial 12: the tides of a made-up harbour, over stdio.

Any MCP client can start it (`python tide_server.py`) and call its tools; `%%claude --mcp tides` does.
"""

from __future__ import annotations

import math

try:  # mcp 2.x
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError
except ImportError:  # mcp 1.x
    from mcp.server.fastmcp import FastMCP as MCPServer
    from mcp.server.fastmcp.exceptions import ToolError

server = MCPServer("tides")


@server.tool()
def tide_height(hour: int) -> str:
    """The water height at Ravensport harbour at a whole hour of today (0-23), in metres."""
    if not 0 <= hour <= 23:
        raise ToolError(f"hour must be from 0 to 23, not {hour}")
    height = 2.5 + 1.8 * math.sin((hour - 3) / 12.42 * 2 * math.pi)
    return f"{height:.1f} m at {hour:02d}:00"


@server.tool()
def high_tides() -> str:
    """Today's high tides at Ravensport harbour."""
    return "06:06 (4.3 m) and 18:31 (4.3 m)"


if __name__ == "__main__":
    server.run()
