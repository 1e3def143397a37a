"""The notebook's cells as Claude sees them, and the cells Claude's answers become.

The kernel keeps every cell's source (`In`) and displayed value (`Out`) but not its error, so a
`post_run_cell` hook records how each numbered cell ended, and a `pre_run_cell` hook where the running
cell begins: `{In[-1]}` is the cell before it. (`execution_count` cannot say: IPython 9 counts the
running cell before running it, IPython 8 after.) From that record and the kernel's own
history come `{In[N]}`, `{Out[N]}`, `{Err[N]}`, `--cells` and the failing cell of `%claude fix`;
`offer_cell` puts an answer's code into a new cell below the running one.
"""

from __future__ import annotations

import argparse
import inspect
import os
import re
import sys
import traceback
from dataclasses import dataclass
from typing import Any

import IPython

from .errors import BadInput, ClaudeMagicError, Stopped
from .showing import as_text
from .view.codeblocks import cell_blocks, cell_code, fenced

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
_PARSED_CELL = re.compile(r'File "<ipython-input-([0-9]+)-[0-9a-f]+>"')  # the name IPython parses a cell under
_IPYTHON = os.path.dirname(IPython.__file__) + os.sep
# A cell that asked Claude is already in the chat's history; --cells leaves it out.
_ASKS_CLAUDE = re.compile(r"^\s*%%?claude\b")
_CELLS_HEADING = "The notebook's code cells before this question, oldest first ([N] is the execution count):\n\n"
# --cells shows this much of one cell's output: enough to see what it was, not a dump.
SHORT_OUTPUT = 800


def asks_claude(source: str) -> bool:
    """Whether a cell's source asks Claude (`%%claude` / `%claude`)."""
    return bool(_ASKS_CLAUDE.match(source))


def cell_count(text: str) -> int | str:
    """The value of --cells: a number of cells, or "all" (what --cells alone means)."""
    if text == "all":
        return text
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"give a number of cells, or nothing for all (not {text!r})") from None


@dataclass(frozen=True)
class Ran:
    """How one numbered cell ended: its source as typed, and its error as text (None if it succeeded)."""

    number: int
    source: str
    cell_id: str | None
    error: str | None


class CellRecord:
    """What ran in this kernel since the extension was loaded, kept by `after_cell` (a post_run_cell hook)."""

    def __init__(self, shell: Any):
        self.shell = shell
        self.runs: list[Ran] = []
        self.start: int | None = None  # the running cell's number, or the next one's if it is not numbered

    def before_cell(self, info: Any = None) -> None:
        """pre_run_cell: the running cell's source is stored (if at all) right after this, under this number."""
        self.start = len(self._inputs())

    def current(self) -> int:
        """The number before which the notebook's earlier cells lie (the running cell's, when it has one)."""
        if self.start is not None:
            return min(self.start, len(self._inputs()))
        return min(self.shell.execution_count, len(self._inputs()))  # loaded in this very cell

    def after_cell(self, result: Any) -> None:
        self.start = len(self._inputs())  # between cells (ask() from a script), every cell is an earlier one
        if result is None or result.execution_count is None:  # a silent or unnumbered execution
            return
        error = result.error_before_exec or result.error_in_exec
        if isinstance(error, (ClaudeMagicError, Stopped)):
            error = None  # a failed question to Claude is no bug in the user's code
        text = None
        if error is not None:
            try:
                text = error_text(error, self.shell, result.error_before_exec)
            except Exception:  # noqa: BLE001 - a hook that raises would complain after every cell
                text = f"{type(error).__name__} (its traceback could not be read)"
        self.runs.append(Ran(result.execution_count, result.info.raw_cell, getattr(result.info, "cell_id", None),
                             text))

    # ---- the failing cell of %claude fix / explain

    def failure(self, command: str) -> Ran:
        """The most recent failed cell, unless it has run without error since."""
        failed = [run for run in self.runs if run.error is not None]
        if not failed:
            raise BadInput(f"No cell has failed since `%load_ext claude_magic`: `%claude {command}` "
                           "looks at the most recent failed cell.")
        last = failed[-1]
        since = [run for run in self.runs if run.number > last.number and run.error is None
                 and last.cell_id is not None and run.cell_id == last.cell_id]
        if since:
            raise BadInput(f"Cell [{last.number}] failed, but it ran without error since (as [{since[-1].number}]): "
                           f"nothing to {command}.")
        return last

    def failure_of(self, cell_id: str, command: str) -> Ran:
        """How the cell with this id failed when it last ran (for the extension's buttons on it)."""
        runs = [run for run in self.runs if run.cell_id == cell_id]
        if not runs:
            raise BadInput(f"That cell has not run since `%load_ext claude_magic`: nothing to {command}.")
        if runs[-1].error is None:
            raise BadInput(f"That cell ran without error since (as [{runs[-1].number}]): nothing to {command}.")
        return runs[-1]

    # ---- --cells

    def recent(self, count: int | str, budget: int) -> tuple[dict[str, Any], str]:
        """A text block with the last `count` code cells before this one ("all": every one) and a footer label.

        Cells that asked Claude are left out (they are in the chat already); past `budget` characters the
        oldest cells are dropped.
        """
        if count != "all" and count < 1:
            raise BadInput(f"--cells {count}: give a number of cells of at least 1, or `--cells` alone for all.")
        inputs = self._inputs()
        current = self.current()
        numbers = [n for n in range(current - 1, 0, -1) if inputs[n].strip() and not _ASKS_CLAUDE.match(inputs[n])]
        if count != "all":
            numbers = numbers[:count]
        if not numbers:
            raise BadInput("--cells: no code cell has run before this one yet.")
        errors = {run.number: run.error for run in self.runs}
        parts: list[str] = []
        used = len(_CELLS_HEADING)
        for number in numbers:  # newest first, so the budget keeps the newest
            part = self._cell_text(number, inputs[number], errors.get(number))
            if parts and used + len(part) > budget:
                break
            parts.append(cut(part, max(budget - used, 0)) if not parts else part)
            used += len(parts[-1]) + 2  # and the blank line between cells
        shown = numbers[: len(parts)][::-1]
        dropped = len(numbers) - len(shown)
        label = f"cells {_numbers(shown)}" + (f" ({dropped} older left out: cells_chars)" if dropped else "")
        return {"type": "text", "text": _CELLS_HEADING + "\n\n".join(reversed(parts))}, label

    def _cell_text(self, number: int, source: str, error: str | None) -> str:
        text = f"[{number}]:\n" + fenced(source.strip("\n"), "python")
        outputs = self.shell.history_manager.output_hist
        if number in outputs:
            shown = self.output_text(outputs[number], f"--cells: Out[{number}]")
            text += f"\nOut[{number}]:\n{fenced(cut(shown, SHORT_OUTPUT))}"
        if error is not None:
            text += f"\nError: {error.strip().splitlines()[-1]}"
        return text

    # ---- {In[N]}, {Out[N]}, {Err[N]}

    def reference(self, kind: str, number: int, chars: int) -> str | None:
        """The text that `{kind[number]}` stands for, or None (with a warning) when there is no such cell."""
        current = self.current()
        if kind == "In":
            found = current + number if number < 0 else number
            text = self._inputs()[found] if 0 < found < current else None
        elif kind == "Out":
            text = self._output(number, current, chars)
        else:
            text = self._error(number, current, chars)
        if text is None:
            print(f"claude_magic: there is no cell [{number}] for {{{kind}[{number}]}}, so it is sent as written.",
                  file=sys.stderr)
        return text

    def _inputs(self) -> list[str]:
        return self.shell.history_manager.input_hist_raw

    def _output(self, number: int, current: int, chars: int) -> str | None:
        outputs = self.shell.history_manager.output_hist
        if number < 0:
            earlier = sorted(n for n in outputs if n < current)
            if len(earlier) < -number:
                raise BadInput(f"{{Out[{number}]}}: only {len(earlier)} cell(s) before this one have an Out value.")
            number = earlier[number]
        if number not in outputs:
            if not 0 < number < current:
                return None
            raise BadInput(f"{{Out[{number}]}}: cell [{number}] has no Out value (printed text and plots are not "
                           "kept by the kernel). Use `--context NAME` for a variable.")
        return cut(self.output_text(outputs[number], f"{{Out[{number}]}}"), chars)

    def _error(self, number: int, current: int, chars: int) -> str | None:
        failed = [run for run in self.runs if run.error is not None and run.number < current]
        if number < 0:
            if len(failed) < -number:
                raise BadInput(f"{{Err[{number}]}}: only {len(failed)} cell(s) have failed since "
                               "`%load_ext claude_magic`.")
            return cut(failed[number].error, chars, keep_end=True)
        found = [run for run in failed if run.number == number]
        if found:
            return cut(found[-1].error, chars, keep_end=True)
        if not 0 < number < current:
            return None
        if not self.runs or number < self.runs[0].number:
            raise BadInput(f"{{Err[{number}]}}: cell [{number}] ran before `%load_ext claude_magic`, "
                           "so its error was not recorded.")
        raise BadInput(f"{{Err[{number}]}}: cell [{number}] did not fail.")

    def output_text(self, value: Any, what: str = "a value") -> str:
        """A value as the notebook showed it: IPython's plain-text form (bounded: see showing.py).

        The formatter is called unwrapped: IPython's own wrapper would print a raising repr's traceback
        into the cell; here it becomes `<repr failed: …>`.
        """
        formatter = self.shell.display_formatter.formatters["text/plain"]
        plain = inspect.unwrap(type(formatter).__call__)
        return _ANSI.sub("", as_text(lambda: str(plain(formatter, value)), what))


def error_text(error: BaseException, shell: Any, before_exec: BaseException | None = None) -> str:
    """An exception as a reader of the notebook saw it: type, message and traceback, without ANSI codes.

    IPython's own frames (the code that ran the cell) are left out, and cells are named `Cell In[N]` as
    IPython names them. An exception that renders itself (`_render_traceback_`) is shown that way.
    """
    rendered = _rendered(error)
    if rendered is not None:
        return rendered
    if error is before_exec:  # a SyntaxError and the like: where it is, not how IPython got there
        text = "".join(traceback.format_exception_only(type(error), error))
        return _ANSI.sub("", _PARSED_CELL.sub(r'File "Cell In[\1]"', text)).rstrip()
    tb = error.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename.startswith(_IPYTHON):
        tb = tb.tb_next
    report = traceback.TracebackException(type(error), error, tb)
    name_of = getattr(getattr(shell, "compile", None), "format_code_name", None)
    for frame in report.stack:
        label = name_of(frame.filename) if name_of else None
        if label:
            frame.filename = " ".join(label)
    return _ANSI.sub("", "".join(report.format())).rstrip()


def _rendered(error: BaseException) -> str | None:
    render = getattr(error, "_render_traceback_", None)
    if not callable(render):
        return None
    try:
        return _ANSI.sub("", "\n".join(render()))
    except Exception:  # noqa: BLE001 - a broken renderer: the standard form will do
        return None


def cut(text: str, chars: int, keep_end: bool = False) -> str:
    """`text` within `chars`, saying how much is left out; a traceback keeps its start and its end."""
    if len(text) <= chars:
        return text
    if not keep_end:
        return f"{text[:chars]}\n… ({len(text) - chars:,} more characters not shown)"
    half = chars // 2
    return f"{text[:half]}\n… ({len(text) - 2 * half:,} characters not shown) …\n{text[-half:]}"


def failure_prompt(run: Ran, request: str, chars: int) -> str:
    """The question about a failed cell: its source and error verbatim, fenced so nothing in them is read as markup."""
    return (f"{request}\n\nCell [{run.number}]:\n{fenced(run.source.strip(), 'python')}\n\n"
            f"Error:\n{fenced(cut(run.error, chars, keep_end=True))}")


def offer_cell(shell: Any, message: Any) -> str | None:
    """Put the code of `message` into a new cell below the running one (in a terminal: the next prompt).

    Returns the code offered, or None when there is none; either way a line under the answer says so
    (printed, so the answer stays the cell's last display). Code an answer cut at max_tokens left
    unclosed is offered too (it was paid for, and may be finished by hand), but headed by `CUT_CODE`:
    never as if it were whole.
    """
    answer = "".join(block.text for block in message.content if block.type == "text")
    code = cell_code(answer)
    if code is None:
        print("No Python code block in this answer, so no new cell was added.")
        return None
    if getattr(message, "stop_reason", None) == "max_tokens" and not cell_blocks(answer)[-1].closed:
        code = f"{CUT_CODE}\n{code}"
        shell.set_next_input(code, replace=False)
        print("⚠ The answer was cut at max_tokens inside its code: the new cell below holds the part that came, "
              "marked incomplete on its first line. Raise --max-tokens and ask again for all of it.")
        return code
    shell.set_next_input(code, replace=False)
    lines = code.count("\n") + 1
    print(f"↓ {lines} line{'s' if lines > 1 else ''} of code offered as a new cell below.")
    return code


CUT_CODE = "# ⚠ INCOMPLETE: the answer was cut at max_tokens inside this code (raise --max-tokens and ask again)."


def _numbers(numbers: list[int]) -> str:
    """[3], [4], [6] — or, for many, [3]…[40] (25 cells)."""
    if len(numbers) <= 5:
        return ", ".join(f"[{n}]" for n in numbers)
    return f"[{numbers[0]}]…[{numbers[-1]}] ({len(numbers)} cells)"
