"""What the simulator proposes when it is offered a tool that edits notebook cells (`%%claude --edit`).

A model offered such a tool reads the cells it was shown and proposes new sources for the ones the user
named; the simulator does the same, deterministically: each named cell (else the last one shown) comes
back with a comment line on top and its trailing whitespace tidied.
"""

from __future__ import annotations

import re
from typing import Any

# A cell as the notebook shows it to Claude: "[N]:" and its source in a python fence.
_CELL = re.compile(r"^\[([0-9]+)\]:\n(`{3,})python\n(.*?)\n\2$", re.DOTALL | re.MULTILINE)
_NAMED = re.compile(r"\[([0-9]+)\]")
REVISED = "# Revised by Claude (offline simulator): reviewed, whitespace tidied."


def is_edit_tool(tool: dict[str, Any]) -> bool:
    """A tool whose input names a cell and gives its source."""
    return {"cell", "source"} <= set((tool.get("input_schema") or {}).get("properties") or {})


def proposals(tool: dict[str, Any], texts: list[str]) -> list[dict[str, Any]]:
    """tool_use blocks proposing new sources for the cells the prompt names (the last text), else the last cell."""
    cells = {int(number): code for text in texts for number, _, code in _CELL.findall(text)}
    if not cells:
        return []
    named = [int(number) for number in _NAMED.findall(texts[-1]) if int(number) in cells]
    chosen = list(dict.fromkeys(named)) or [max(cells)]
    return [{"type": "tool_use", "name": tool["name"], "input": {"cell": f"[{number}]", "source": revised(cells[number])}}
            for number in chosen]


def revised(code: str) -> str:
    lines = [line.rstrip() for line in code.splitlines() if line.strip() != REVISED]
    return "\n".join([REVISED, *lines])
