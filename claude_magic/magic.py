"""`%%claude` and `%claude`: options, settings and notebook commands; the asking is in session.py."""

from __future__ import annotations

import shlex
import threading
from collections import ChainMap
from collections.abc import Callable
from functools import cache, partial
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class, no_var_expand
from IPython.core.magic_arguments import MagicArgumentParser, argument, magic_arguments
from IPython.display import display
from traitlets import Bool, Dict, Enum, Float, Integer, TraitError, Unicode, Union, observe, validate

from . import persistence
from .cells import CellRecord, cell_count, failure_prompt
from .compaction import KEEP, compact
from .connection import BACKENDS, load_sdk
from .context import Limits, blocks_for
from .conversation import DEFAULT_CHAT
from .edits import EDIT_TOOL, Edits, proposals_of
from .errors import BadInput
from .failures import BadKeyword
from .fitting import fit
from .mapping import Mapper
from .mcp_servers import Servers
from .outvars import check_out
from .prompt import interpolate, resolve_system
from .providers import PROVIDERS
from .rerun import asked_of
from .run_tool import RunTool
from .secrets import note as secrets_note
from .secrets import redact
from .session import Options, Session
from .sources import apply as apply_sources
from .tools import tools_from
from .view.answer_view import MODES, pick_mode
from .view.escape import code
from .view.tables import Table
from .web import MAX_USES

# Line commands that parse their own options (`save --all`, `compact --keep N`) from the rest of the line.
OWN_OPTIONS = ("save", "load", "export", "compact")
# Line commands after which autosave writes the chat again: they change it.
CHANGING = ("reset", "undo", "load", "compact")
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
    provider = Enum(PROVIDERS, "anthropic", help="Who serves Claude: the Anthropic API, or Amazon Bedrock, Google "
                    "Vertex AI or Microsoft Foundry through the SDK's client for it, configured by that "
                    "provider's own environment variables and credentials.").tag(config=True)
    display = Enum(MODES, "auto", help="auto: the notebook extension's renderer where the page has it, else a live "
                   "widget in Jupyter, printed text in a terminal.").tag(
        config=True
    )
    update_interval = Float(0.1, help="Seconds between live updates of a streaming answer.").tag(config=True)
    timeout = Float(90.0, help="Seconds without any data from the server before giving up.").tag(config=True)
    max_retries = Integer(4, help="Retries of 408/409/429/5xx/connection failures before the first byte "
                          "(and mid-stream ones with retry_midstream).").tag(
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
    map_concurrency = Union([Enum(["auto"]), Integer(min=1)], default_value="auto",
                            help="--map: 'auto' paces requests to the server's rate limits (reading its "
                            "rate-limit headers, up to 64 in flight); a number is a fixed cap.").tag(config=True)
    budget = Float(None, allow_none=True, help="US dollars this kernel session may spend, counted from when it "
                   "is set (None: no cap). Each request's worst case is reserved before it is sent.").tag(config=True)
    simulator_rate_limits = Dict(help="Offline simulator: rate limits per minute to enforce, e.g. "
                                 "{'requests': 600, 'input_tokens': 400000, 'output_tokens': 60000} "
                                 "(and per model: {'claude-haiku-5-5': {...}}); {} = none.").tag(config=True)
    batch_poll_interval = Float(10.0, help="--map --batch: seconds between status checks.").tag(config=True)
    batch_file = Unicode("claude_batches.json", help="--map --batch: where submitted batch ids are kept "
                         "until their results are in (relative to the notebook's folder).").tag(config=True)
    simulator_pace = Float(120.0, help="Offline simulator speed, tokens per second (0 = instant).").tag(config=True)
    cells_chars = Integer(20000, help="--cells: most characters of earlier cells sent; the newest are kept.").tag(
        config=True
    )
    autosave = Bool(False, help="Save a chat to its file in chats_folder after every change (atomically); "
                    "%load_ext then offers saved chats back.").tag(config=True)
    chats_folder = Unicode("", help="Where %claude save/load/export and autosave write and read, and what their "
                           "relative PATHs start from ('' = the kernel's working directory, i.e. the notebook's "
                           "folder).").tag(config=True)
    auto_compact = Bool(False, help="Compact a chat (%claude compact) instead of refusing a prompt that would "
                        "overflow the model's context window.").tag(config=True)
    run_output_chars = Integer(20000, help="--run: most characters of one run's output sent to Claude (its "
                               "start and end are kept).").tag(config=True)
    run_yes = Bool(False, help="--run: run Claude's code without asking, in every cell (as --yes does).").tag(
        config=True
    )
    mcp_servers = Dict(help="MCP servers for `--mcp NAME`, as Claude Desktop / Claude Code write them: "
                       "{'db': {'command': 'uvx', 'args': ['my-db-mcp'], 'env': {…}}, 'docs': {'url': "
                       "'https://…/mcp'}}. A server starts when a cell first names it.").tag(config=True)
    mcp_timeout = Float(30.0, help="Seconds an MCP server has to start and answer `initialize`.").tag(config=True)
    upload_above = Integer(4 * 1024 * 1024, help="--file: larger files go through the Files API once, "
                           "then are sent by id.").tag(config=True)

    @validate("budget")
    def _check_budget(self, proposal: Any) -> Any:
        value = proposal["value"]
        if value is not None and not 0 <= value < float("inf"):
            raise TraitError(f"ClaudeMagics.budget is US dollars, 0 or more (or None for no cap), not {value!r}")
        return value

    @observe("budget")
    def _budget_set(self, change: Any) -> None:
        if hasattr(self, "session"):  # set from config before __init__ made the session: it reads it there
            self.session.budget.set_cap(change["new"])

    def __init__(self, shell: Any = None, **kwargs: Any):
        super().__init__(shell=shell, **kwargs)
        self.session = Session(shell, self)
        self.cells = CellRecord(shell)  # kept up to date by the post_run_cell hook load_ipython_extension adds
        self.edits = Edits()
        self.frontend: Any = None  # the notebook extension's comm (frontend.connect), if any
        self.mcp = Servers(timeout=lambda: self.mcp_timeout)  # stopped by unload_ipython_extension

    @no_var_expand
    @magic_arguments()
    @argument("command", nargs="*", help="Line mode only: a command from the list below (reset takes a chat NAME).")
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
    @argument("--mcp", metavar="NAME[,NAME]", help="Offer the tools of these MCP servers (ClaudeMagics.mcp_servers); "
              "each starts on first use and runs until the kernel stops.")
    @argument("--thinking", nargs="?", const=0, type=int, metavar="BUDGET",
              help="Thinking: bare for adaptive, or a budget of at least 1024 tokens (adaptive on models "
                   "that take no budget).")
    @argument("--events", action="store_true", help="Also show the stream's event timeline under the answer.")
    @argument("--context", metavar="A,B", help="Include these variables (DataFrames, arrays, images, …).")
    @argument("--replay", action="store_true", help="Reuse the stored answer of an unchanged request (see replay).")
    @argument("--fresh", action="store_true", help="Ask again even when replaying, and store the new answer.")
    @argument("--count", action="store_true", help="Show what would be sent and its token count; ask nothing.")
    @argument("--map", metavar="VAR", help="Ask once per item of a list / Series / DataFrame VAR ({item}, {column}).")
    @argument("--batch", action="store_true", help="With --map: one Message Batch (half price, asynchronous).")
    @argument("--cells", nargs="?", const="all", type=cell_count, metavar="N",
              help="Include the last N code cells (source and outputs); without N, all (within cells_chars).")
    @argument("--code", action="store_true", help="Ask for code, and put the answer's code into a new cell below.")
    @argument("--edit", action="store_true", help="Let Claude propose new sources for the notebook's cells (it sees "
              "them as --cells does): diffs you accept or reject on the cells, with the notebook extension.")
    @argument("--file", metavar="PATH[,PATH]", help="Send files: PDFs and text as documents, pictures as images.")
    @argument("--cite", action="store_true", help="Answer with citations of the --file documents, as footnotes.")
    @argument("--web", nargs="?", const=MAX_USES, type=int, metavar="MAX_USES",
              help=f"Let Claude search the web (at most MAX_USES searches, default {MAX_USES}); "
              "sources become footnotes.")
    @argument("--budget", type=float, metavar="USD", help="Most this cell may spend, in US dollars (within "
              "ClaudeMagics.budget); a request whose worst case would not fit is not sent.")
    @argument("--schema", metavar="NAME", help="Answer as JSON fitting NAME (pydantic model or JSON Schema "
              "dict); the object goes to last_parsed and --out.")
    @argument("--run", action="store_true", help="Let Claude run Python in this kernel, in the notebook's "
              "namespace, asking you first; the code that ran is offered as a new cell below.")
    @argument("--yes", action="store_true", help="With --run: run Claude's code without asking.")
    @line_cell_magic
    def claude(self, line: str, cell: str | None = None) -> None:
        """Ask Claude. The cell is the prompt; the answer streams in as markdown.

        %%claude [options]      the cell body is the prompt; {name} is replaced by str(name) when
                                `name` is a variable, {In[N]} / {Out[N]} / {Err[N]} by cell [N]'s
                                source / output / error (anything else is sent as written).
        %claude history         the turns of a chat, with token counts
        %claude reset [NAME]    forget a chat (default: the --chat one)
        %claude undo            drop the last exchange of a chat
        %claude chats           the chats of this notebook
        %claude models          the models the server offers
        %claude mcp             the MCP servers configured: running / not started / failed, and their tools
        %claude explain         why did the last failed cell fail? (sends its source and error)
        %claude fix             explain briefly, and offer the corrected cell as a new cell below
        %claude usage           tokens spent per chat and model, with an estimated cost (and the budget)
        %claude tokens          the token count of a chat's history, without asking
        %claude save [PATH] [--all]      write a chat (or every chat) to a JSON file, by default
                                         next to the notebook, named after the chat
        %claude load [PATH] [--all] [--replace | --append]
                                         bring saved chats back; the next cell continues them
        %claude export PATH.md | PATH.ipynb
                                         a readable transcript, or a notebook of `%%claude` cells
        %claude compact [--keep N]       replace the earlier turns with Claude's summary of them,
                                         keeping the last N exchanges (default 2) as they are

        After each cell `last_message` holds the SDK's final Message (with `.usage`).
        Re-running a cell replaces that cell's own exchange in the chat.
        """
        args = self._parse(shlex_split(line), line_mode=cell is None)
        if cell is None:
            return self._command(args)
        self.dispatch(args, cell, cell_id=self._cell_id())

    def dispatch(self, args: Any, text: str, cell_id: str | None = None) -> Any:
        """What a `%%claude` cell and `claude_magic.ask()` both do with parsed options and a prompt.

        Returns the Message, `--map`'s results, or `--count`'s token count.
        """
        if args.command:
            raise BadInput(f"`%%claude` takes options only, not {' '.join(args.command)!r}. See `%%claude?`.")
        load_sdk()
        with self.session.cell_budget(args.budget):
            if args.map:
                return self._map(args, text)
            prompt, options = self.prepare(args, text)
            if args.count:
                return self.session.count(prompt, options, cell_id=cell_id)
            try:
                return self.session.ask(prompt, options, cell_id=cell_id)
            finally:  # what Claude proposed before a failure is shown all the same
                self.edits.deliver(proposals_of(options.tools), self.frontend, self.shell)

    def arguments(self, keywords: dict[str, Any]) -> Any:
        """`ask()`'s keywords as the parsed options of the cell that would say the same.

        Each keyword becomes the option the cell would write, and the cell's own parser checks it,
        so a keyword means what the option means; only objects that have no text form (`tools=[f, g]`,
        `file=Path(…)` or a list of paths, `schema=Model`) skip the text and are resolved like their names.
        """
        actions = {action.dest: action for action in self.claude.parser._actions if action.option_strings}
        argv, objects = [], {}
        for name, value in keywords.items():
            action = actions.get(name)
            if action is None or name == "help":
                raise BadKeyword(f"ask() got an unknown option {name!r}; see `%%claude?` for the options.")
            option = action.option_strings[-1]
            if value is None or value is False:
                continue
            if name in _OBJECTS and not isinstance(value, str):
                objects[name] = _OBJECTS[name](value)
            elif action.nargs == 0 or (value is True and action.nargs == "?"):  # a flag; --thinking alone
                if value is not True:
                    raise BadKeyword(f"ask({name}=…) takes True or False, not {value!r}.")
                argv.append(option)
            else:
                if isinstance(value, (list, tuple)) and name == "context":
                    value = ",".join(value)
                number = action.type in (int, float, cell_count)  # --cells N: a number (True alone means all)
                kinds = (str, int, float) if action.type is float else (str, int) if number else str
                if isinstance(value, bool) or not isinstance(value, kinds):
                    what = "a number" if action.type is float else "a whole number" if number else "text"
                    raise BadKeyword(f"ask({name}=…) takes {what}, not {value!r}.")
                argv.append(f"{option}={value}")
        args = self._parse(argv)
        for name, value in objects.items():
            setattr(args, name, value)
        return args

    def prepare(self, args: Any, text: str) -> tuple[str, Options]:
        """The prompt and options for parsed arguments, checked before anything is sent."""
        prompt = text.strip()
        if not prompt:
            raise BadInput("The cell is empty: write your question under `%%claude`.")
        if not args.no_interp:
            prompt = self.fill(prompt)
            if not prompt.strip():
                raise BadInput("The prompt is empty once its {names} are filled in: there is nothing to ask.")
        return prompt, self.options_for(args)

    def fill(self, text: str, fields: dict[str, Any] | None = None,
             cells: Callable[[str, int], str | None] | None = None) -> str:
        """The one interpolation of a prompt: the notebook's `{name}`s and `{In[N]}` / `{Out[N]}` / `{Err[N]}`,
        with `fields` (a `--map` item's `{item}` and `{column}`) over the notebook's names; `cells` may be
        a memo of the cell references (one warning for a whole `--map`, not one per item)."""
        fields = fields or {}
        hidden = {name for name in self.shell.user_ns_hidden if name not in fields}
        return interpolate(text, ChainMap(fields, self.shell.user_ns), hidden=hidden,
                           cells=cells or (lambda kind, number: self.cells.reference(kind, number, self.context_chars)))

    def options_for(self, args: Any) -> Options:
        ns = self.shell.user_ns
        system = resolve_system(args.system, ns) if args.system is not None else (self.system or None)
        system, redacted = redact(system) if system else (system, [])
        options = Options(
            model=args.model or self.model,
            max_tokens=self.max_tokens if args.max_tokens is None else args.max_tokens,
            system=system,
            redacted=set(redacted),
            effort=args.effort,
            chat=args.chat,
            new=args.new,
            history=not args.no_history,
            out=args.out,
            tools=tools_from(args.tools, ns) if args.tools else {},
            events=args.events,
            cache=self.cache,
            replay=self.replay or args.replay,
            fresh=args.fresh,
            code=args.code,
        )
        if args.mcp is not None:
            options.tools.update(self.mcp.tools(args.mcp, self.mcp_servers, taken=set(options.tools)))
        if args.run:
            self._add_run_tool(options, args)
        if options.max_tokens < 1:
            raise BadInput(f"--max-tokens must be a positive number of tokens, not {options.max_tokens}.")
        if args.edit:  # before fit: a tool changes what some models need
            options.tools[EDIT_TOOL] = self.edits.tool(self.cells, args.chat)
        fit(options, args.thinking)
        if args.context is not None:
            limits = Limits(chars=self.context_chars, rows=self.context_rows)
            options.context, options.context_labels = blocks_for(args.context, ns, limits)
        if args.cells is not None or args.edit:
            try:
                block, label = self.cells.recent("all" if args.cells is None else args.cells, self.cells_chars)
            except BadInput as exc:
                if not args.edit or args.cells is not None:
                    raise
                raise BadInput("--edit: no code cell has run before this one yet, so there is nothing to edit.") from exc
            options.context.insert(0, block)
            options.context_labels.insert(0, label)
        told, labels = self.edits.context(args.chat)
        options.context[:0], options.context_labels[:0] = told, labels
        apply_sources(options, args, ns, upload_above=self.upload_above, file_id=self.session.upload)
        options.asked = asked_of(args, options, ns)
        return options

    def _add_run_tool(self, options: Options, args: Any) -> None:
        if threading.current_thread() is not threading.main_thread():
            raise BadInput("--run runs code in the kernel's main thread, where cells run: use ask(), not aask().")
        mode = pick_mode(self.display, self.shell, self.frontend)
        options.run = RunTool(self.shell, yes=args.yes or self.run_yes, output_chars=self.run_output_chars,
                              text_mode=mode == "text")
        if options.run.name in options.tools:
            raise BadInput(f"--tools names a function {options.run.name!r}, the name of --run's own tool: "
                           "rename the function.")
        if self.run_output_chars < 1:
            raise BadInput(f"run_output_chars must be at least 1, not {self.run_output_chars}.")
        options.tools[options.run.name] = options.run

    def _map(self, args: Any, cell: str) -> Any:
        if args.code:
            raise BadInput("--code puts one answer's code into a new cell: it does not go with --map.")
        if args.edit:
            raise BadInput("--edit proposes edits of the notebook's cells in one answer: it does not go with --map.")
        if args.map not in self.shell.user_ns:
            raise BadInput(f"--map {args.map}: there is no variable {args.map!r} in the notebook.")
        cells = cache(lambda kind, number: self.cells.reference(kind, number, self.context_chars))
        template = cell.strip()
        if not template:
            raise BadInput("The cell is empty: write the prompt to ask for each item, using {item}.")
        fill = None if args.no_interp else partial(self.fill, cells=cells)
        return Mapper(self.session).run(template, self.shell.user_ns[args.map], args.map, self.options_for(args),
                                        batch=args.batch, fill=fill, count=args.count)

    def _parse(self, argv: list[str], line_mode: bool = False) -> Any:
        """The options, checked for what argparse cannot see: empty names, a keyword or a shell's name as --out.

        In line mode, words the parser does not know are left for the commands that parse their own
        options (`save --all`); any other command refuses them.
        """
        parser = self.claude.parser
        try:
            if line_mode:
                args, extra = parser.parse_known_args(argv)
                if extra and not (args.command and args.command[0] in OWN_OPTIONS):
                    parser.error(f"unrecognized arguments: {' '.join(extra)}")
                args.command += extra
            else:
                args = parser.parse_args(argv)
        except UsageError as exc:
            raise BadInput(f"{exc}. See `%%claude?` for the options.") from exc
        for option, value in (("--model", args.model), ("--chat", args.chat)):
            if value is not None and not value.strip():
                raise BadInput(f"{option} is empty: give a name, or leave the option out for the default.")
        check_out(args.out, self.shell)
        if args.budget is not None and not 0 <= args.budget < float("inf"):
            raise BadInput(f"--budget {args.budget}: give the most this cell may spend, in US dollars (0 or more).")
        if args.yes and not args.run:
            raise BadInput("--yes answers --run's questions: use it with --run.")
        if args.run and args.map:
            raise BadInput("--run lets Claude run code in one conversation, step by step: it does not go with --map.")
        if args.batch and not args.map:
            raise BadInput("--batch sends a --map as one Message Batch: use it with `--map VAR`.")
        return args

    def _cell_id(self) -> str | None:
        """The frontend's id for the running cell (JupyterLab and Notebook 7 send it), if any."""
        parent = getattr(self.shell, "parent_header", None) or {}
        return (parent.get("metadata") or {}).get("cellId")

    def _command(self, args: Any) -> None:
        handler = COMMANDS.get(args.command[0]) if args.command else None
        if handler is None:
            raise BadInput(f"`%claude` takes one of: {', '.join(COMMANDS)}. Ask with `%%claude` in a cell.")
        name, rest = args.command[0], args.command[1:]
        self._check_uses(name, args)
        handler(self, args, rest)
        if name in CHANGING:
            self.session.autosave(rest[0] if name == "reset" and rest else args.chat)

    def _check_uses(self, name: str, args: Any) -> None:
        """Refuse, in one line, a cell option the line command would silently ignore (`reset --max-tokens 5`)."""
        parser = self.claude.parser
        for action in parser._actions:
            if not action.option_strings or action.dest in USES[name] or action.dest == "help":
                continue
            if getattr(args, action.dest) != action.default:
                uses = ", ".join(f"--{dest.replace('_', '-')}" for dest in USES[name]) or "no options"
                raise BadInput(f"`%claude {name}` does not use {action.option_strings[-1]} (it takes {uses}): "
                               "leave it out.")

    def explain(self, args: Any) -> None:
        """`%claude explain`: why the most recent failed cell failed; its source and error are sent verbatim."""
        self._ask_about_failure(args, "explain", EXPLAIN)

    def fix(self, args: Any) -> None:
        """`%claude fix`: a short explanation, and the corrected cell offered as a new cell below."""
        args.code = True
        self._ask_about_failure(args, "fix", FIX)

    def _ask_about_failure(self, args: Any, command: str, request: str) -> None:
        prompt = failure_prompt(self.cells.failure(command), request, self.context_chars)
        self.session.ask(prompt, self.options_for(args), cell_id=self._cell_id())


def _history(magics: ClaudeMagics, args: Any, rest: list[str]) -> None:
    display(magics.session.conversations[args.chat])


def _save(magics: ClaudeMagics, args: Any, rest: list[str]) -> None:
    options = _options("save", rest, ("path", {"nargs": "?"}), ("--all", {"action": "store_true"}))
    chats = [chat for chat in magics.session.conversations if chat.exchanges] if options.all else [
        magics.session.conversations[args.chat]]
    if not any(chat.exchanges for chat in chats):
        raise BadInput(f"Chat {args.chat!r} has no exchanges yet: nothing to save." if not options.all
                       else "No chat has exchanges yet: nothing to save.")
    if options.all and options.path is None:  # each chat to its own default file, as autosave does
        written = [persistence.save([chat], persistence.target(None, magics.chats_folder, chat.name))
                   for chat in chats]
    else:
        written = [persistence.save(chats, persistence.target(options.path, magics.chats_folder, chats[0].name))]
    print("\n".join(written))


def _export(magics: ClaudeMagics, args: Any, rest: list[str]) -> None:
    options = _options("export", rest, ("path", {"metavar": "PATH.md|PATH.ipynb"}))
    print(persistence.export(magics.session.conversations[args.chat], options.path, magics.chats_folder))


def _compact(magics: ClaudeMagics, args: Any, rest: list[str]) -> None:
    options = _options("compact", rest, ("--keep", {"type": int, "default": KEEP, "metavar": "N"}))
    print(compact(magics.session, magics.options_for(args), options.keep))


def _load(magics: ClaudeMagics, args: Any, rest: list[str]) -> None:
    options = _options("load", rest, ("path", {"nargs": "?"}), ("--all", {"action": "store_true"}),
                       ("--replace", {"action": "store_true"}), ("--append", {"action": "store_true"}))
    if options.replace and options.append:
        raise BadInput("Choose one: `--replace` drops the chat's exchanges, `--append` keeps them.")
    chats = persistence.load_for(options.path, magics.chats_folder, args.chat, every=options.all)
    redacted = secrets_note(persistence.redact_loaded([chat for chat, _ in chats]),
                            "the loaded chat: it will not be sent again")
    told = persistence.restore(magics.session.conversations, chats, replace=options.replace,
                               append=options.append)
    print("\n".join([*told, *filter(None, [redacted])]))


def _options(command: str, rest: list[str], *specs: tuple[str, dict[str, Any]]) -> Any:
    """A line command's own options, parsed from the words after its name."""
    parser = MagicArgumentParser(prog=f"%claude {command}", add_help=False)
    for name, spec in specs:
        parser.add_argument(name, **spec)
    try:
        return parser.parse_args(rest)
    except UsageError as exc:
        raise BadInput(f"{exc}. See `%%claude?` for the line commands.") from exc


def _reset(magics: ClaudeMagics, args: Any, rest: list[str]) -> None:
    target = rest[0] if rest else args.chat
    magics.session.conversations.reset(target)
    print(f"Chat {target!r} is empty now.")


def _undo(magics: ClaudeMagics, args: Any, rest: list[str]) -> None:
    dropped = magics.session.conversations[args.chat].undo()
    print("Nothing to undo." if dropped is None else f"Dropped the last exchange of chat {args.chat!r}.")


def _chats(magics: ClaudeMagics, args: Any, rest: list[str]) -> None:
    display(magics.session.conversations)


def _models(magics: ClaudeMagics, args: Any, rest: list[str]) -> None:
    display(Table(["model", "name"], [(code(m.id), m.display_name) for m in magics.session.models()],
                  empty="The server lists no models."))


def _mcp(magics: ClaudeMagics, args: Any, rest: list[str]) -> None:
    display(magics.mcp.status(magics.mcp_servers))


def _explain(magics: ClaudeMagics, args: Any, rest: list[str]) -> None:
    magics.explain(args)


def _fix(magics: ClaudeMagics, args: Any, rest: list[str]) -> None:
    magics.fix(args)


def _usage(magics: ClaudeMagics, args: Any, rest: list[str]) -> None:
    display(magics.session.ledger)
    if magics.session.budget.cap is not None:
        display(magics.session.budget)


def _tokens(magics: ClaudeMagics, args: Any, rest: list[str]) -> None:
    magics.session.count(None, magics.options_for(args))


# ask()'s keywords that may be objects rather than the text a cell would write, and how each is passed on.
_OBJECTS: dict[str, Callable[[Any], Any]] = {"tools": list, "file": lambda value: value, "schema": lambda value: value}


# The cell options each line command reads; any other one given is refused rather than ignored.
_ASKING = ("model", "max_tokens", "system", "effort", "new", "chat", "no_history", "out", "tools", "thinking",
           "events", "context", "replay", "fresh", "cells", "code", "file", "cite", "web", "schema", "mcp")
USES: dict[str, tuple[str, ...]] = {
    "history": ("chat",), "reset": ("chat",), "undo": ("chat",), "chats": (), "models": (), "mcp": (), "usage": (),
    "explain": _ASKING, "fix": _ASKING,
    "tokens": ("chat", "model", "system", "effort", "tools", "thinking", "web", "schema", "code", "mcp"),
    "save": ("chat",), "load": ("chat",), "export": ("chat",),
    "compact": ("chat", "model", "max_tokens", "system", "effort", "thinking", "events"),
}


# `%claude NAME`: every line command and its handler. A name missing here is refused, never asked.
COMMANDS: dict[str, Callable[[ClaudeMagics, Any, list[str]], None]] = {
    "history": _history,
    "reset": _reset,
    "undo": _undo,
    "chats": _chats,
    "models": _models,
    "mcp": _mcp,
    "explain": _explain,
    "fix": _fix,
    "usage": _usage,
    "tokens": _tokens,
    "save": _save,
    "load": _load,
    "export": _export,
    "compact": _compact,
}


EXPLAIN = "This notebook cell failed. Explain in a few sentences why, and show how to fix it."
FIX = ("This notebook cell failed. Explain the cause in two or three sentences, then give the whole corrected "
       "cell.")


def shlex_split(line: str) -> list[str]:
    # shlex rather than parse_argstring: IPython's non-POSIX split would keep the quotes of -s "…".
    try:
        return shlex.split(line)
    except ValueError as exc:
        raise BadInput(f"{exc}. See `%%claude?` for the options.") from exc
