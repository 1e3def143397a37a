"""`%%claude` and `%claude`: options, settings and notebook commands; the asking is in session.py."""

from __future__ import annotations

import re
import shlex
import sys
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class, no_var_expand
from IPython.core.magic_arguments import argument, magic_arguments
from traitlets import Bool, Dict, Enum, Float, Integer, Unicode

from .answer_view import MODES, display_markdown
from .connection import BACKENDS
from .context import Limits, blocks_for
from .conversation import DEFAULT_CHAT
from .errors import BadInput
from .mapping import Mapper
from .prompt import interpolate, resolve_system
from .request_summary import preview
from .session import Options, Session
from .tools import tools_from

COMMANDS = ("history", "reset", "undo", "chats", "models", "explain", "usage", "tokens")
EFFORTS = ("low", "medium", "high", "xhigh", "max")


@magics_class
class ClaudeMagics(Magics):
    """Ask Claude from a notebook cell; answers stream in and the conversation carries on."""

    model = Unicode("claude-sonnet-5-5", help="Model used when a cell gives no -m/--model.").tag(config=True)
    max_tokens = Integer(2048, help="Longest answer, in tokens, when a cell gives no --max-tokens.").tag(config=True)
    system = Unicode("", help="System prompt used when a cell gives no -s/--system.").tag(config=True)
    backend = Enum(BACKENDS, "auto", help="auto: the API if a key is set, else the offline simulator.").tag(
        config=True
    )
    display = Enum(MODES, "auto", help="auto: a live widget in Jupyter, printed text in a terminal.").tag(
        config=True
    )
    update_interval = Float(0.1, help="Seconds between live updates of a streaming answer.").tag(config=True)
    timeout = Float(90.0, help="Seconds without any data from the server before giving up.").tag(config=True)
    max_retries = Integer(4, help="Retries of 429/5xx/connection failures before the first byte.").tag(
        config=True
    )
    max_retry_wait = Float(60.0, help="Longest wait before one retry; a longer retry-after gives up.").tag(
        config=True
    )
    retry_midstream = Bool(False, help="Re-ask (and pay again) when an answer breaks mid-stream.").tag(config=True)
    max_tool_rounds = Integer(10, help="Most rounds of tool calls in one cell before stopping.").tag(config=True)
    context_chars = Integer(4000, help="--context: most characters shown of one variable.").tag(config=True)
    context_rows = Integer(10, help="--context: DataFrame rows shown (half head, half tail).").tag(config=True)
    cache = Bool(True, help="Mark the re-sent history for prompt caching (cache reads cost a tenth).").tag(
        config=True
    )
    replay = Bool(False, help="Reuse stored answers of unchanged requests (Run-All costs nothing twice).").tag(
        config=True
    )
    replay_file = Unicode("claude_replay.jsonl", help="Where replayed answers are kept (relative to the "
                          "kernel's working directory, i.e. the notebook's folder).").tag(config=True)
    prices = Dict(help="USD per million tokens by model, over the built-in table: "
                  "{'model': {'input':…, 'output':…, 'cache_read':…, 'cache_write':…}}").tag(config=True)
    map_concurrency = Integer(4, help="--map: requests in flight at once.").tag(config=True)
    batch_poll_interval = Float(10.0, help="--map --batch: seconds between status checks.").tag(config=True)
    simulator_pace = Float(120.0, help="Offline simulator speed, tokens per second (0 = instant).").tag(config=True)

    def __init__(self, shell: Any = None, **kwargs: Any):
        super().__init__(shell=shell, **kwargs)
        self.session = Session(shell, self)

    @no_var_expand
    @magic_arguments()
    @argument("command", nargs="*", help=f"Line mode only: {' | '.join(COMMANDS)} (reset takes a chat NAME).")
    @argument("-m", "--model", help="Model for this cell (default: ClaudeMagics.model).")
    @argument("--max-tokens", type=int, help="Longest answer in tokens (default: ClaudeMagics.max_tokens).")
    @argument("-s", "--system", help="System prompt: text in quotes, or $NAME of a variable holding it.")
    @argument("--effort", choices=EFFORTS, help="How much effort the model puts in (output_config.effort).")
    @argument("--new", action="store_true", help="Start this chat afresh before asking.")
    @argument("--chat", default=DEFAULT_CHAT, help="Name of the conversation to continue (default: default).")
    @argument("--no-history", action="store_true", help="One-off: send no history and record nothing.")
    @argument("--out", metavar="VAR", help="Also store the final Message in this variable.")
    @argument("--no-interp", action="store_true", help="Send {name} verbatim instead of the variable's value.")
    @argument("--tools", metavar="F,G", help="Python functions Claude may call (schemas from signature and docstring).")
    @argument("--thinking", nargs="?", const=0, type=int, metavar="BUDGET",
              help="Extended thinking: adaptive, or a budget of at least 1024 tokens.")
    @argument("--events", action="store_true", help="Also show the stream's event timeline under the answer.")
    @argument("--context", metavar="A,B", help="Include these variables (DataFrames, arrays, images, …).")
    @argument("--replay", action="store_true", help="Reuse the stored answer of an unchanged request (see replay).")
    @argument("--fresh", action="store_true", help="Ask again even when replaying, and store the new answer.")
    @argument("--count", action="store_true", help="Show what would be sent and its token count; ask nothing.")
    @argument("--map", metavar="VAR", help="Ask once per item of a list / Series / DataFrame VAR ({item}, {column}).")
    @argument("--batch", action="store_true", help="With --map: one Message Batch (half price, asynchronous).")
    @line_cell_magic
    def claude(self, line: str, cell: str | None = None) -> None:
        """Ask Claude. The cell is the prompt; the answer streams in as markdown.

        %%claude [options]      the cell body is the prompt; {name} is replaced by str(name) when
                                `name` is a variable (anything else is sent as written).
        %claude history         the turns of a chat, with token counts
        %claude reset [NAME]    forget a chat (default: the --chat one)
        %claude undo            drop the last exchange of a chat
        %claude chats           the chats of this notebook
        %claude models          the models the server offers
        %claude explain         why did the last cell fail? (sends its traceback and source)
        %claude usage           tokens spent per chat and model, with an estimated cost
        %claude tokens          the token count of a chat's history, without asking

        After each cell `last_message` holds the SDK's final Message (with `.usage`).
        Re-running a cell replaces that cell's own exchange in the chat.
        """
        args = self._parse(line)
        if cell is None:
            return self._command(args)
        if args.command:
            raise BadInput(f"`%%claude` takes options only, not {' '.join(args.command)!r}. See `%%claude?`.")
        if args.map:
            self._map(args, cell)
            return
        prompt, options = self.prepare(args, cell)
        if args.count:
            return self.session.count(prompt, options, cell_id=self._cell_id())
        self.session.ask(prompt, options, cell_id=self._cell_id())

    def prepare(self, args: Any, text: str) -> tuple[str, Options]:
        """The prompt and options for parsed arguments, checked before anything is sent."""
        prompt = text.strip()
        if not prompt:
            raise BadInput("The cell is empty: write your question under `%%claude`.")
        if not args.no_interp:
            prompt = interpolate(prompt, self.shell.user_ns, hidden=self.shell.user_ns_hidden)
        return prompt, self.options_for(args)

    def options_for(self, args: Any) -> Options:
        ns = self.shell.user_ns
        options = Options(
            model=args.model or self.model,
            max_tokens=self.max_tokens if args.max_tokens is None else args.max_tokens,
            system=resolve_system(args.system, ns) if args.system is not None else (self.system or None),
            effort=args.effort,
            chat=args.chat,
            new=args.new,
            history=not args.no_history,
            out=args.out,
            tools=tools_from(args.tools, ns) if args.tools else {},
            thinking=self._thinking(args.thinking, args.max_tokens),
            events=args.events,
            cache=self.cache,
            replay=self.replay or args.replay,
            fresh=args.fresh,
        )
        if options.max_tokens < 1:
            raise BadInput(f"--max-tokens must be a positive number of tokens, not {options.max_tokens}.")
        if options.out is not None and not options.out.isidentifier():
            raise BadInput(f"--out needs a variable name, not {options.out!r}.")
        if args.context:
            limits = Limits(chars=self.context_chars, rows=self.context_rows)
            options.context, options.context_labels = blocks_for(args.context, ns, limits)
        return options

    def _thinking(self, budget: int | None, max_tokens: int | None) -> dict[str, Any] | None:
        if budget is None:
            return None
        if budget == 0:  # the bare flag: let the model decide how much to think
            return {"type": "adaptive"}
        limit = self.max_tokens if max_tokens is None else max_tokens
        if not 1024 <= budget < limit:
            raise BadInput(
                f"--thinking {budget}: the budget must be at least 1024 tokens and below --max-tokens ({limit})."
            )
        return {"type": "enabled", "budget_tokens": budget}

    def _map(self, args: Any, cell: str) -> None:
        if args.map not in self.shell.user_ns:
            raise BadInput(f"--map {args.map}: there is no variable {args.map!r} in the notebook.")
        template = cell.strip()
        if not template:
            raise BadInput("The cell is empty: write the prompt to ask for each item, using {item}.")
        Mapper(self.session).run(template, self.shell.user_ns[args.map], args.map, self.options_for(args),
                                 batch=args.batch, interp=not args.no_interp)

    def _parse(self, line: str) -> Any:
        # shlex rather than parse_argstring: IPython's non-POSIX split would keep the quotes of -s "…".
        try:
            return self.claude.parser.parse_args(shlex.split(line))
        except (UsageError, ValueError) as exc:
            raise BadInput(f"{exc}. See `%%claude?` for the options.") from None

    def _cell_id(self) -> str | None:
        """The frontend's id for the running cell (JupyterLab and Notebook 7 send it), if any."""
        parent = getattr(self.shell, "parent_header", None) or {}
        return (parent.get("metadata") or {}).get("cellId")

    def _command(self, args: Any) -> None:
        if not args.command or args.command[0] not in COMMANDS:
            raise BadInput(f"`%claude` takes one of: {', '.join(COMMANDS)}. Ask with `%%claude` in a cell.")
        name, rest = args.command[0], args.command[1:]
        conversations = self.session.conversations
        if name == "history":
            display_markdown(history_table(conversations[args.chat]))
        elif name == "reset":
            target = rest[0] if rest else args.chat
            conversations.reset(target)
            print(f"Chat {target!r} is empty now.")
        elif name == "undo":
            dropped = conversations[args.chat].undo()
            print("Nothing to undo." if dropped is None else f"Dropped the last exchange of chat {args.chat!r}.")
        elif name == "chats":
            rows = [f"| {chat.name} | {len(chat.exchanges)} |" for chat in conversations]
            display_markdown("\n".join(["| chat | exchanges |", "|---|---|", *rows]) if rows else "No chats yet.")
        elif name == "usage":
            display_markdown(self.session.ledger.table(self.prices))
        elif name == "tokens":
            self.session.count(None, self.options_for(args))
        elif name == "models":
            rows = [f"| `{m.id}` | {m.display_name} |" for m in self.session.models()]
            display_markdown("\n".join(["| model | name |", "|---|---|", *rows]))
        else:
            self.session.ask(*self.prepare(args, self._failure_report()))

    def _failure_report(self) -> str:
        """The last error's traceback and the source of the cell that raised it, as a question."""
        error = getattr(sys, "last_value", None)
        if error is None:
            raise BadInput("There is no error to explain yet: `%claude explain` looks at the last failed cell.")
        traceback = self.shell.InteractiveTB.stb2text(
            self.shell.InteractiveTB.structured_traceback(type(error), error, error.__traceback__)
        )
        inputs = self.shell.user_ns.get("_ih", [])
        source = inputs[-2] if len(inputs) >= 2 else ""
        return (
            "This notebook cell failed. Explain in a few sentences why, and show how to fix it.\n\n"
            f"Cell:\n```python\n{source.strip()}\n```\n\nError:\n```\n{_strip_ansi(traceback).strip()}\n```"
        )


def _strip_ansi(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;]*m", "", text)


def history_table(chat: Any) -> str:
    if not chat.exchanges:
        return f"Chat `{chat.name}` has no exchanges yet."
    rows = ["| # | you | Claude | tokens in / out |", "|---|---|---|---|"]
    for number, exchange in enumerate(chat.exchanges, 1):
        rows.append(
            f"| {number} | {preview(exchange.user['content'], 60)} | {preview(exchange.assistant['content'], 60)} "
            f"| {exchange.input_tokens:,} / {exchange.output_tokens:,} |"
        )
    return "\n".join(rows)


