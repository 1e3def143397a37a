"""The notebook extension as the kernel sees it: the `claude_magic` comm, and the clicks that come over it.

`%load_ext claude_magic` opens a comm to the frontend's `claude_magic` target. The extension (in
labextension/, installed with the package) registers that target and answers `ready`; only then does
the magic count on it. Without the extension — terminal IPython, nbclient, VS Code, Colab — the comm is
refused or never answered, and the magic works as it always did: nothing is guessed from the
environment.

Over the comm the kernel says which cell just failed (the page puts "Fix with Claude" and "Explain" on
it), sends Claude's proposed edits (shown as diffs) and streams answers to the extension's renderer
(view/renderer_surface.py; `token` names this kernel's streams in the page). The page sends a click,
which is answered as `%claude fix` / `%claude explain` would answer for that cell — its answer is the
output of the click's message, which the page shows under the error — and Accept / Reject.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

TARGET = "claude_magic"
PROTOCOL = 1
# What a fix asked by the button adds to the system prompt: its code replaces the cell, once accepted.
FIX_INSTRUCTION = (
    "Your answer's Python code will be proposed to the user as the new source of the failed notebook cell, shown "
    "as a diff they accept or reject. Give the whole corrected cell in one ```python block, and keep any text "
    "outside it to a few sentences."
)


class Frontend:
    """The comm to the notebook extension; `present` once the extension has answered."""

    def __init__(self, shell: Any):
        self.shell = shell
        self.comm: Any = None
        self.ready = False
        self.handlers: dict[str, Callable[[dict[str, Any]], None]] = {}
        # Names this kernel's answer streams in the page (renderer_surface.py): the page may hold outputs
        # of other kernels, and of earlier sessions of this one, saved mid-stream.
        self.token = uuid.uuid4().hex[:12]

    def open(self) -> None:
        if getattr(self.shell, "kernel", None) is None:  # terminal IPython: there is no page to ask
            return
        # A required dependency; imported here to keep `import claude_magic` cheap.
        from comm import create_comm

        try:
            self.comm = create_comm(target_name=TARGET, data={"protocol": PROTOCOL, "token": self.token})
        except NotImplementedError:  # a kernel older than the `comm` package (ipykernel < 6.18): no comms,
            return  # so no extension to talk to — the magic works as without it
        self.comm.on_msg(self._received)
        self.comm.on_close(self._closed)

    def close(self) -> None:
        comm, self.comm, self.ready = self.comm, None, False
        if comm is not None:
            comm.close()

    @property
    def present(self) -> bool:
        return self.ready and self.comm is not None

    def send(self, data: dict[str, Any]) -> None:
        if self.comm is not None:
            self.comm.send(data)

    def _received(self, msg: dict[str, Any]) -> None:
        data = (msg.get("content") or {}).get("data") or {}
        kind = data.get("type") if isinstance(data, dict) else None
        if kind == "ready":  # from each page that has the extension (and again after a reload)
            self.ready = True
            self.send({"type": "hello", "token": self.token})
        elif kind in self.handlers:
            self.handlers[kind](data)

    def _closed(self, msg: dict[str, Any]) -> None:
        self.comm, self.ready = None, False


def connect(shell: Any, magics: Any) -> Frontend:
    """Open the comm for the loaded magic, and wire what the page can ask of it."""
    frontend = Frontend(shell)
    magics.frontend = frontend

    def failed(result: Any) -> None:  # a post_run_cell hook, after the cell record's own
        run = magics.cells.runs[-1] if magics.cells.runs else None
        # Sent once the comm is open, even before the page has answered (Run All queues the answer behind
        # the cells): a page without the extension drops it, and it changes nothing in the kernel.
        if (frontend.comm is not None and run is not None and result is not None and run.number == result.execution_count
                and run.error is not None and run.cell_id):
            frontend.send({"type": "failed", "cell_id": run.cell_id, "number": run.number})

    def asked(data: dict[str, Any]) -> None:
        cell_id = data.get("cell_id")
        if isinstance(cell_id, str) and cell_id:
            answer_click(magics, data["type"], cell_id)

    def decided(data: dict[str, Any]) -> None:
        if isinstance(data.get("id"), str) and isinstance(data.get("outcome"), str):
            magics.edits.decided(data["id"], data["outcome"])

    frontend.handlers.update(fix=asked, explain=asked, decision=decided)
    frontend.hook = failed
    shell.events.register("post_run_cell", failed)
    frontend.open()
    return frontend


def disconnect(shell: Any, magics: Any) -> None:
    frontend = getattr(magics, "frontend", None)
    if frontend is None:
        return
    hook = getattr(frontend, "hook", None)
    if hook is not None:
        shell.events.unregister("post_run_cell", hook)
    frontend.close()


def answer_click(magics: Any, kind: str, cell_id: str) -> None:
    """"Fix with Claude" / "Explain" on a failed cell: `%claude fix` / `%claude explain` for that cell.

    The cell's source and error go verbatim, as the line commands send them. A fix's code comes back as a
    proposed edit of the failed cell (not a new cell). What goes wrong is told in the answer's place.
    """
    from .cells import failure_prompt
    from .edits import Proposal
    from .magic import EXPLAIN, FIX
    from .view.codeblocks import cell_code
    from .view.markdown import markdown_of

    try:
        run = magics.cells.failure_of(cell_id, kind)
        args = magics._parse([])
        options = magics.options_for(args)
        if kind == "fix":  # not --code: the code becomes an edit of the failed cell, not a new cell
            options.system = f"{options.system}\n\n{FIX_INSTRUCTION}" if options.system else FIX_INSTRUCTION
        prompt = failure_prompt(run, FIX if kind == "fix" else EXPLAIN, magics.context_chars)
        # The exchange is the click's on that cell: asking again replaces it in the chat.
        message = magics.session.ask(prompt, options, cell_id=f"{kind}:{cell_id}")
        if kind == "fix":
            code = cell_code(markdown_of(message))
            if code is None:
                print("No Python code block in this answer, so no edit of the cell was proposed.")
            elif code.strip("\n") != run.source.strip("\n"):
                proposal = Proposal(uuid.uuid4().hex, run.number, cell_id, run.source, code, args.chat)
                magics.edits.deliver([proposal], magics.frontend, magics.shell)
    except (Exception, KeyboardInterrupt):  # noqa: BLE001 - a comm handler's error would only reach a log
        magics.shell.showtraceback()  # ours render as one line; the page shows it under the buttons
