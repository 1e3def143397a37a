"""Claude's proposed edits of the notebook's cells (`%%claude --edit`, and the fix behind "Fix with Claude").

Claude proposes through a tool whose input names an existing cell (`[N]`, its number as shown, or its
id) and the cell's whole new source. Nothing in the notebook changes when it does: with the notebook
extension each proposal shows on its cell as a diff with Accept / Reject; without it, the answer shows
each proposal as a unified diff and the new version is offered as a cell below. The tool's calls and
results are in the chat's history (what was proposed); what the user then accepted or rejected is told
to Claude with the chat's next question, so it sees the notebook as it really is.
"""

from __future__ import annotations

import difflib
import re
import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from .cells import CellRecord, asks_claude
from .view.codeblocks import fenced

EDIT_TOOL = "propose_cell_edit"
# A proposal longer than this is no cell edit: Claude is told so instead of the page getting megabytes.
MAX_SOURCE = 200_000
_NUMBER = re.compile(r"\s*(?:In\s*)?\[?\s*([0-9]+)\s*\]?\s*")
DESCRIPTION = (
    "Propose a new source for one of the user's existing notebook code cells. The user sees your proposal as a "
    "diff on that cell and accepts or rejects it: nothing changes before they accept, and the cell is not run. "
    "Name the cell by its number as shown in the notebook ([N]) or by its cell id, and give the cell's whole new "
    "source (not a patch). Call once per cell; cells that ask Claude (%%claude) cannot be edited."
)
SCHEMA = {
    "type": "object",
    "properties": {
        "cell": {"type": "string", "description": "The cell to change: its number as shown, e.g. \"[3]\", or its id."},
        "source": {"type": "string", "description": "The cell's complete new source code."},
    },
    "required": ["cell", "source"],
}
# What became of a proposal, as the notebook extension reports it, in the words Claude is told.
OUTCOMES = {"accepted": "accepted (the cell now holds it; it has not been run)",
            "rejected": "rejected (the cell is unchanged)",
            "gone": "not applied: the cell had been deleted from the notebook"}


@dataclass(frozen=True)
class Proposal:
    """A proposed new source for one cell: `old` is the source Claude saw (as the cell last ran)."""

    id: str
    number: int
    cell_id: str | None
    old: str
    new: str
    chat: str

    @property
    def label(self) -> str:
        return f"[{self.number}]"

    def diff(self) -> str:
        """A unified diff from the old source to the new one (the markup is the caller's to escape)."""
        lines = difflib.unified_diff(self.old.splitlines(), self.new.splitlines(), f"cell {self.label}",
                                     f"cell {self.label}, proposed", lineterm="")
        return "\n".join(lines)

    def changes(self) -> str:
        added = removed = 0
        for line in self.diff().splitlines()[2:]:
            added += line.startswith("+")
            removed += line.startswith("-")
        return f"+{added} −{removed} lines"

    def message(self) -> dict[str, Any]:
        """What the notebook extension gets to show it on its cell."""
        return {"id": self.id, "cell_id": self.cell_id, "label": self.label, "old": self.old, "new": self.new,
                "diff": self.diff()}


class EditTool:
    """The tool `--edit` offers Claude, for one question; its calls collect proposals, at most one per cell."""

    name = EDIT_TOOL

    def __init__(self, cells: CellRecord, chat: str):
        self.cells = cells
        self.chat = chat
        self.proposals: dict[int, Proposal] = {}

    def to_dict(self) -> dict[str, Any]:
        return {"name": EDIT_TOOL, "description": DESCRIPTION, "input_schema": SCHEMA}

    def call(self, input: dict[str, Any]) -> str:
        """Record a proposal; a wrong one raises, which the tool loop turns into an error result Claude reads."""
        if not isinstance(input, dict):
            raise TypeError("give an object with `cell` and `source`")
        cell, source = input.get("cell"), input.get("source")
        if isinstance(cell, int) and not isinstance(cell, bool):
            cell = str(cell)
        if not isinstance(cell, str) or not cell.strip():
            raise TypeError("`cell` must name a cell: its number as shown, e.g. \"[3]\", or its id")
        if not isinstance(source, str):
            raise TypeError("`source` must be the cell's whole new source, as text")
        if len(source) > MAX_SOURCE:
            raise ValueError(f"the new source is {len(source):,} characters: too long for one cell "
                             f"(at most {MAX_SOURCE:,})")
        number, cell_id, old = self._find(cell.strip())
        if asks_claude(old):
            raise ValueError(f"cell [{number}] asks Claude (%%claude); only code cells can be edited")
        if source.strip("\n") == old.strip("\n"):
            raise ValueError(f"that is cell [{number}]'s source already: nothing would change")
        replaced = number in self.proposals
        proposal = Proposal(uuid.uuid4().hex, number, cell_id, old, source, self.chat)
        self.proposals[number] = proposal
        again = f" It replaces your earlier proposal for cell [{number}]." if replaced else ""
        return (f"Proposed a new version of cell [{number}] ({proposal.changes()}).{again} The user will review "
                "it; nothing has changed yet.")

    def _find(self, name: str) -> tuple[int, str | None, str]:
        """(number, cell id, source as it last ran) of the cell `name` names, or LookupError saying why not."""
        inputs = self.cells.shell.history_manager.input_hist_raw
        current = min(self.cells.shell.execution_count, len(inputs))
        match = _NUMBER.fullmatch(name)
        if match:
            number = int(match.group(1))
            if not 0 < number < current:
                raise LookupError(f"there is no cell [{number}]: the cells that ran are [1] to [{current - 1}]"
                                  if current > 1 else f"there is no cell [{number}]: no cell has run yet")
            runs = [run for run in self.cells.runs if run.number == number]
            return number, runs[-1].cell_id if runs else None, inputs[number]
        runs = [run for run in self.cells.runs if run.cell_id == name]
        if not runs:
            raise LookupError(f"no cell with id {name!r} has run in this kernel; name cells by their number, "
                              "e.g. \"[3]\"")
        return runs[-1].number, name, runs[-1].source


class Edits:
    """The proposals made in this kernel, and what became of them, until the chat's next question."""

    def __init__(self) -> None:
        self.sent: dict[str, Proposal] = {}
        self._outcomes: dict[str, list[str]] = defaultdict(list)

    def tool(self, cells: CellRecord, chat: str) -> EditTool:
        return EditTool(cells, chat)

    def deliver(self, proposals: list[Proposal], frontend: Any, shell: Any) -> None:
        """Show each proposal: on its cell through the extension, else as a diff and a new cell below."""
        from .view.answer_view import display_markdown

        if not proposals:
            return
        on_cells = [p for p in proposals if p.cell_id and frontend is not None and frontend.present]
        for proposal in on_cells:
            self.sent[proposal.id] = proposal
            frontend.send({"type": "propose", "proposal": proposal.message()})
        if on_cells:
            names = ", ".join(p.label for p in on_cells)
            display_markdown(f"✎ Claude proposes a new version of cell{'s' if len(on_cells) > 1 else ''} {names}: "
                             "review the diff on each cell, then Accept or Reject.")
        rest = [p for p in proposals if p not in on_cells]
        if not rest:
            return
        display_markdown("\n\n".join(f"✎ Proposed new version of cell {p.label} ({p.changes()}):\n\n"
                                     f"{fenced(p.diff(), 'diff')}" for p in rest))
        if len(rest) == 1:
            code = rest[0].new
        else:  # one cell below can hold them all, each under a line saying which cell it replaces
            code = "\n\n".join(f"# Claude's new version of cell {p.label}\n{p.new.strip()}" for p in rest)
        shell.set_next_input(code, replace=False)
        print(f"↓ The new version{'s' if len(rest) > 1 else ''} offered as a new cell below: run it, or copy "
              "it into the cell.")

    def decided(self, proposal_id: str, outcome: str) -> None:
        """The extension reports Accept / Reject (or a deleted cell): noted for the chat's next question."""
        proposal = self.sent.pop(proposal_id, None)
        if proposal is None or outcome not in OUTCOMES:
            return
        self._outcomes[proposal.chat].append(f"your proposed edit of cell {proposal.label} was {OUTCOMES[outcome]}")

    def context(self, chat: str) -> tuple[list[dict[str, Any]], list[str]]:
        """The note to send with `chat`'s next question, and its footer label; each outcome is told once."""
        told = self._outcomes.pop(chat, [])
        if not told:
            return [], []
        text = "Since your last answer, in the notebook: " + "; ".join(told) + "."
        return [{"type": "text", "text": text}], [f"{len(told)} edit outcome{'s' if len(told) > 1 else ''}"]


def proposals_of(tools: dict[str, Any]) -> list[Proposal]:
    """The proposals `--edit`'s tool collected during one question (none without it)."""
    tool = tools.get(EDIT_TOOL)
    return list(tool.proposals.values()) if isinstance(tool, EditTool) else []
