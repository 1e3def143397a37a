"""`--run`: the tool through which Claude runs Python in the notebook, with the user's approval.

It is one more tool of the `--tools` loop (a name, a schema, a `call`), so rounds, history, replay and
usage work as for any tool. Per cell it keeps whether the user said "all", whether anyone could be asked,
and the code that ran without error, which `conclude` offers as one new cell below.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from . import approval, running
from .cells import offer_cell
from .tools import Result
from .view.codeblocks import cell_code, fenced

NAME = "run_python"
DEFINITION = {
    "name": NAME,
    "description": (
        "Run Python code in the user's Jupyter kernel, as a notebook cell: in the notebook's namespace, so "
        "variables persist and are shared with the user's own cells (a DataFrame you create is theirs "
        "afterwards). Returns what the code printed (stdout and stderr), the value of its last expression, "
        "the traceback if it raised, and matplotlib figures as images. The user approves each run and may "
        "decline with a reason. Keep each snippet small and check its output before going on."
    ),
    "input_schema": {
        "type": "object",
        "properties": {"code": {"type": "string", "description": "The Python code to run, as a notebook cell."}},
        "required": ["code"],
    },
}
# While code runs, the answer shows the end of what it printed: this many lines, at most this many characters.
LIVE_LINES = 30
LIVE_CHARS = 4000
NO_STDIN = ("Nothing ran: this frontend cannot ask for approval (no input box). Re-run with `%%claude --run "
            "--yes` to let Claude run code without asking.")


class RunTool:
    """One cell's `run_python` tool: asks (unless `yes`), runs, and remembers what ran."""

    name = NAME

    def __init__(self, shell: Any, *, yes: bool, output_chars: int, text_mode: bool):
        self.shell = shell
        self.every = yes
        self.output_chars = output_chars
        self.text_mode = text_mode  # a terminal shows no streamed code block: the code is printed before asking
        self.unasked = False  # no one could be asked: nothing more is asked in this cell
        self.ran: list[str] = []
        self.stopped: str | None = None  # what the code Stop interrupted had printed
        self.progress: Callable[[str], None] | None = None  # shows markdown in the answer while code runs

    def to_dict(self) -> dict[str, Any]:
        return DEFINITION

    def status(self) -> str:
        if self.every:
            return f"⚙ Running `{NAME}`…"
        return f"⏸ `{NAME}` waits for your answer below."

    def call(self, arguments: Any) -> Result:
        code = arguments.get("code") if isinstance(arguments, dict) else None
        if not isinstance(code, str) or not code.strip():
            return Result(f"No code was given: call {NAME} with {{\"code\": \"...\"}}.", is_error=True)
        if not self.every:
            verdict = approval.Verdict(run=False, asked=False) if self.unasked else self._ask(code)
            self.unasked = self.unasked or not verdict.asked
            self.every = verdict.every
            if not verdict.run:
                return Result(approval.refusal(verdict, NAME), is_error=True)
        outcome = running.run(self.shell, code, self._show if self.progress is not None else None)
        if outcome.interrupted:
            self.stopped = outcome.text
            raise KeyboardInterrupt
        if not outcome.error:
            self.ran.append(code)
        return Result(running.tool_content(outcome, self.output_chars), is_error=outcome.error)

    def _show(self, printed: str) -> None:
        """What the running code has printed so far (its last lines), under the code, as it runs."""
        lines = printed.rstrip("\n").splitlines()
        tail = "\n".join(["…", *lines[-LIVE_LINES:]] if len(lines) > LIVE_LINES else lines)[-LIVE_CHARS:]
        self.progress(f"⚙ Running `{NAME}`… so far it printed:\n\n{fenced(tail)}")

    def _ask(self, code: str) -> approval.Verdict:
        if self.text_mode:
            print(f"\n{fenced(code, 'python')}")
        return approval.ask()

    def conclude(self, answer: Any = None) -> str | None:
        """At the end of the cell: the code that ran without error (and, with `--code`, the answer's code)
        as one new cell below, headed by a comment; a line under the answer says what happened."""
        if self.unasked:
            print(NO_STDIN)
        if self.stopped is not None:
            print("⏹ Stopped while the code ran" + (f"; it had printed:\n{self.stopped}" if self.stopped.strip()
                                                   else ", before it printed anything."))
        if not self.ran and answer is not None:
            return offer_cell(self.shell, answer)
        parts = list(self.ran)
        if answer is not None:
            code = cell_code("".join(block.text for block in answer.content if block.type == "text"))
            if code is not None:
                parts.append(f"# Claude's answer (--code):\n{code}")
        if not parts:
            return None
        count = self.shell.execution_count
        source = "\n\n".join([f"# Code Claude ran in cell [{count}] (%%claude --run), in order.", *parts])
        self.shell.set_next_input(source, replace=False)
        lines = source.count("\n") + 1
        print(f"↓ the code Claude ran ({lines} lines) is offered as a new cell below.")
        return source
