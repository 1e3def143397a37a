"""Asking Claude from a notebook: one request, streamed, shown, stored — whatever goes wrong."""

from __future__ import annotations

import json
import random
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from .budget import Budget, Hold, OverBudget
from .cells import offer_cell
from .compaction import KEEP, compact, is_scratch
from .connection import SIMULATOR_NOTICE, Connection, has_credentials
from .conversation import DEFAULT_CHAT, Conversations, Exchange, assistant_turn, user_turn
from .costs import Ledger
from .errors import BadInput, ClaudeMagicError, EndedEarly, Stopped, explain
from .failures import When, retryable, when
from .files import Loaded, Uploads
from .persistence import autosave
from .providers import check
from .replay import ReplayStore
from .request import build, countable
from .retry import RetryPolicy
from .secrets import note as secrets_note
from .secrets import redact_content
from .structured import Schema, deliver, forget
from .tools import results_markdown, results_text, run_calls, status_line
from .view.answer_view import AnswerView, display_markdown, pick_mode
from .view.citations import Presenter, present
from .view.escape import text
from .view.footer import footer
from .view.markdown import markdown_of
from .view.request_summary import sent_summary
from .view.timeline import RAW_EVENTS, event_record, timeline
from .web import footer_note, joined
from .window import Windows, fullness, overflow, refusal


@dataclass
class Options:
    model: str
    max_tokens: int
    system: str | None = None
    effort: str | None = None
    chat: str = DEFAULT_CHAT
    new: bool = False
    history: bool = True
    out: str | None = None
    tools: dict[str, Any] = field(default_factory=dict)
    thinking: dict[str, Any] | None = None
    events: bool = False
    context: list[dict[str, Any]] = field(default_factory=list)
    context_labels: list[str] = field(default_factory=list)
    cache: bool = True
    replay: bool = False
    fresh: bool = False
    code: bool = False  # --code: ask for code, and offer it as a new cell
    notes: list[str] = field(default_factory=list)  # said once in the footer (what fitting.fit changed)
    web: dict[str, Any] | None = None
    schema: Schema | None = None
    asked: dict[str, Any] = field(default_factory=dict)  # what an export needs to ask it again (rerun.py)
    run: Any = None  # --run: the cell's run_tool.RunTool (also among `tools`), which offers what ran at the end
    redacted: set[str] = field(default_factory=set)  # credentials blanked out of what was sent (secrets.py)


class _Run:
    """What one cell's request has got so far: the live stream, and when the first token came."""

    def __init__(self, clock: Callable[[], float], record_events: bool):
        self.clock = clock
        self.started = clock()
        self.first_token: float | None = None
        self.stream: Any = None
        self.attempts = 0
        self.retries = 0
        self.rounds: list[Any] = []
        self.replayed: list[Any] = []
        self.events: list[tuple[float, str, Any, int]] | None = [] if record_events else None
        self.best_partial: Any = None  # the longest answer of this round's broken attempts, if retried
        self.broken: list[Any] = []  # every attempt that broke and was asked again: paid for all the same

    def current(self) -> Any | None:
        """The live stream's Message so far."""
        try:
            return self.stream.current_message_snapshot if self.stream is not None else None
        except AssertionError:  # the stream broke before message_start
            return None

    def keep_partial(self) -> None:
        """Before a broken attempt is retried: keep its answer if it got further than the others."""
        current = self.current()
        if current is None:
            return
        self.broken.append(current)
        if self.best_partial is None or _size(current) > _size(self.best_partial):
            self.best_partial = current

    def snapshot(self) -> Any | None:
        """The round's Message: the finished one, else the furthest any attempt got."""
        current = self.current()
        if current is not None and current.stop_reason is not None or self.best_partial is None:
            return current
        return current if current is not None and _size(current) > _size(self.best_partial) else self.best_partial

    def messages(self) -> list[Any]:
        """Every round's Message, the one in progress (or broken) included."""
        current = self.snapshot()
        return [*self.rounds, current] if current is not None and current not in self.rounds else self.rounds

    def elapsed(self) -> float:
        return self.clock() - self.started

    def failed_at(self) -> When:
        """When the last attempt failed: before its response, once streaming, or with text shown (by it,
        or kept from an earlier attempt of the round)."""
        kept = self.snapshot()
        return when(self.stream is not None, kept is not None and _size(kept) > 0)


def _size(message: Any) -> int:
    return len(markdown_of(message))


class Session:
    """A notebook's conversations and connection; `settings` is the `ClaudeMagics` configurable."""

    def __init__(self, shell: Any, settings: Any):
        self.shell = shell
        self.settings = settings
        self.conversations = Conversations()
        self.connection = Connection()
        self.clock: Callable[[], float] = time.monotonic
        self.sleep: Callable[[float], None] = time.sleep
        self.random: Callable[[], float] = random.random
        self.ledger = Ledger(overrides=lambda: settings.prices)
        self.budget = Budget(prices=lambda: settings.prices, cap=getattr(settings, "budget", None))
        self._cell_budget: Budget | None = None
        self._replay: ReplayStore | None = None
        self.windows = Windows()
        self.uploads = Uploads()

    @property
    def replay(self) -> ReplayStore:
        if self._replay is None or str(self._replay.path) != self.settings.replay_file:
            self._replay = ReplayStore(self.settings.replay_file)
        return self._replay

    def client(self) -> Any:
        backend = self.connection.resolve(self.settings.backend, self.settings.provider)
        if backend == "api" and not has_credentials():
            raise BadInput(
                "No API key: set one with `%env ANTHROPIC_API_KEY=sk-ant-…`, "
                "or use the offline simulator with `%config ClaudeMagics.backend = 'simulator'`."
            )
        client = self.connection.client(self.settings.backend, self.settings.timeout, self.settings.provider)
        if backend == "simulator":
            self._tune_simulator()
            if not self.connection.simulator_announced:
                self.connection.simulator_announced = True
                display_markdown(SIMULATOR_NOTICE)
        return client

    def plain_client(self, options: dict[str, Any], asynchronous: bool = False) -> Any:
        """A plain SDK client reaching what the cells reach (`claude_magic.client()`), at the notebook's pace."""
        if self.connection.resolve(self.settings.backend, self.settings.provider) == "simulator":
            self._tune_simulator()
        return self.connection.plain(self.settings.backend, self.settings.provider, asynchronous, options)

    def _tune_simulator(self) -> None:
        simulator = self.connection.simulator
        simulator.pace = self.settings.simulator_pace
        try:
            simulator.rate_limits = getattr(self.settings, "simulator_rate_limits", None)
        except ValueError as exc:
            raise BadInput(f"ClaudeMagics.simulator_rate_limits: {exc}.") from exc

    @property
    def spending(self) -> Budget:
        """The budget requests reserve in now: the cell's `--budget` (within the session's), else the session's."""
        return self._cell_budget or self.budget

    @contextmanager
    def cell_budget(self, cap: float | None) -> Iterator[None]:
        """A cell's own `--budget`, on top of the session's, while the cell runs."""
        if cap is None:
            yield
            return
        self._cell_budget = self.budget.child(cap)
        try:
            yield
        finally:
            self._cell_budget = None

    def hold(self, request: Any, client: Any, **how: Any) -> Hold:
        """Reserve a request's worst case in the budget before sending it (OverBudget if it cannot fit):
        the one gate every request path goes through. Settle the returned hold with the answer."""
        count = lambda body: client.messages.count_tokens(**countable(body)).input_tokens
        return self.spending.hold(request, count=count, **how)

    def ask(self, prompt: str, options: Options, cell_id: str | None = None) -> Any:
        """Stream one answer into the notebook (running tool calls on the way) and return its `Message`.

        On failure the partial answer stays on screen and in `last_message`, the chat is left as it
        was (so the next cell still sends a valid history), and a short error is raised.
        """
        if options.schema is not None:  # whatever happens next, no earlier answer's object stays behind
            forget(self.shell.user_ns, options.out)
        chat, earlier, turns = self._turns(prompt, options, cell_id)
        if options.replay:
            self.replay.check()
        client = self.client()
        if options.web:
            check(client, "web")
        earlier = self._fit(client, chat, options, cell_id, earlier, turns)
        request = build(options, earlier, turns)
        if not (options.replay and not options.fresh):  # a replayed answer costs nothing: only a real ask is held
            self.hold(request, client).release()  # refused in one line, before any view
        frontend = getattr(self.settings, "frontend", None)
        mode = pick_mode(self.settings.display, self.shell, frontend)
        view = Presenter(AnswerView(mode, f"⏳ Asking {text(options.model)}…", interval=self.settings.update_interval,
                                    clock=self.clock, frontend=frontend), structured=options.schema is not None)
        run = _Run(self.clock, options.events)
        try:
            while True:
                message = self._answer(client, request, options, view, run)
                run.rounds.append(message)
                if message.stop_reason == "pause_turn" and len(run.rounds) <= self.settings.max_tool_rounds:
                    # A long server-tool turn: sent back as it is, the API goes on with it.
                    turns = joined([*turns, *filter(None, [assistant_turn(message)])])
                    request = build(options, earlier, turns)
                    view.add_round(markdown_of(present(message)))
                    continue
                if message.stop_reason != "tool_use" or not options.tools:
                    break
                if len(run.rounds) > self.settings.max_tool_rounds:
                    raise ClaudeMagicError(
                        f"Stopped after {self.settings.max_tool_rounds} rounds of tool calls, with Claude still "
                        "asking for more.\nRe-ask more precisely, or allow more with "
                        "`%config ClaudeMagics.max_tool_rounds = N`."
                    )
                asked = markdown_of(message)
                view.status(f"{asked}\n\n{status_line(message, options.tools)}")
                if options.run is not None:  # what running code prints shows under it as it comes
                    options.run.progress = lambda text, asked=asked: view.status(f"{asked}\n\n{text}")
                results, names = redact_content(run_calls(message, options.tools))
                options.redacted.update(names)
                turns += [assistant_turn(message, answered=True), {"role": "user", "content": results}]
                request = build(options, earlier, turns)
                view.add_round(f"{asked}\n\n{results_markdown(results)}", results_text(results))
        except OverBudget:  # a later round (tool calls, pause_turn) that cannot be afforded
            self._conclude(view, run, "✗ over budget", options)
            raise
        except KeyboardInterrupt:
            kept = bool(run.messages())
            self._conclude(view, run, "⏹ stopped", options)
            if options.run is not None:
                options.run.conclude()
            raise Stopped("stopped by you; the answer so far is kept in `last_message`." if kept else
                          "stopped by you before any answer arrived; `last_message` is unchanged.") from None
        except Exception as exc:  # every failure must still leave the cell in order
            partial = run.snapshot() is not None
            self._conclude(view, run, "⚠ incomplete" if partial else "✗ failed", options)
            if options.run is not None:
                options.run.conclude()
            detail = explain(exc, base_url=str(client.base_url), timeout=self.settings.timeout,
                             attempts=run.attempts, partial=partial, at=run.failed_at())
            raise ClaudeMagicError(detail) from exc
        self._conclude(view, run, None, options)
        if options.history:
            self._record(chat, turns, message, cell_id, options.system, options.asked)
        if options.schema is not None:
            deliver(message, options.schema, self.shell.user_ns, options.out)
        if options.run is not None:
            options.run.conclude(message if options.code else None)
        elif options.code:
            offer_cell(self.shell, message)
        return message

    def count(self, prompt: str | None, options: Options, cell_id: str | None = None) -> int:
        """Show what a cell would send and its input token count (from `count_tokens`), sending nothing else."""
        _chat, earlier, turns = self._turns(prompt, options, cell_id, reset=False)
        messages = [*earlier, *turns]
        if not messages:
            raise BadInput(f"Chat {options.chat!r} is empty: nothing would be sent but the new prompt.")
        request = build(options, earlier, turns)
        check(self.client(), "count_tokens")
        counted = self._call(lambda client: client.messages.count_tokens(**countable(request)))
        display_markdown(sent_summary(request, len(earlier), counted.input_tokens))
        redacted = secrets_note(options.redacted)
        if redacted:
            print(redacted)
        return counted.input_tokens

    def _fit(self, client: Any, chat: Any, options: Options, cell_id: str | None, earlier: list[dict[str, Any]],
             turns: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The history to send: as it is if the request fits the model's window, compacted first with
        `auto_compact`, else BadInput before anything is paid for."""
        window = self.windows.known(client, options.model)
        history = chat.earlier(cell_id) if earlier else []
        request = build(options, earlier, turns, marks=False)
        count = lambda body: client.messages.count_tokens(**countable(body)).input_tokens
        tokens = overflow(history, request, window, count)
        if tokens is not None and self.settings.auto_compact and not is_scratch(chat.name) and len(history) > KEEP:
            print(f"Chat {chat.name!r} would overflow the context window: compacting it first (auto_compact).")
            print(compact(self, options))
            earlier = chat.context_for(cell_id, options.model)
            tokens = overflow(chat.earlier(cell_id), build(options, earlier, turns, marks=False), window, count)
        if tokens is not None:
            raise refusal(tokens, window, options.model)
        return earlier

    def _turns(self, prompt: str | None, options: Options, cell_id: str | None,
               reset: bool = True) -> tuple[Any, list[dict[str, Any]], list[dict[str, Any]]]:
        if options.new and reset:
            self.conversations.reset(options.chat)
        chat = self.conversations[options.chat]
        earlier = chat.context_for(cell_id, options.model) if options.history and not options.new else []
        turns = [user_turn(prompt, options.context, options.redacted)] if prompt is not None else []
        _check_sendable([turns, options.system])
        return chat, earlier, turns

    def _answer(self, client: Any, request: dict[str, Any], options: Options, view: AnswerView, run: _Run) -> Any:
        """The stored answer when replaying an unchanged request, else a freshly streamed one."""
        if options.replay and not options.fresh:
            message = self.replay.get(request)
            if message is not None:
                run.replayed.append(message)
                view.show_message(message)
                return message
        message = self._stream(client, request, view, run)
        if options.replay:
            self.replay.put(request, message)
        return message

    def _stream(self, client: Any, request: dict[str, Any], view: AnswerView, run: _Run) -> Any:
        policy = RetryPolicy(max_retries=self.settings.max_retries, max_wait=self.settings.max_retry_wait,
                             random=self.random, sleep=self.sleep)
        run.attempts = 0  # counted per request: each tool round has its own retries
        run.best_partial = None
        while True:
            run.attempts += 1
            run.stream = None
            hold = self.hold(request, client)
            try:
                with client.messages.stream(**request) as stream:
                    run.stream = stream
                    snapshot = lambda: stream.current_message_snapshot
                    for event in stream:
                        if run.first_token is None and event.type == "content_block_delta":
                            run.first_token = run.elapsed()
                        if run.events is not None and event.type in RAW_EVENTS:
                            run.events.append(event_record(event, run.elapsed() * 1000))
                        view.on_event(event, snapshot)
                    message = run.snapshot()
                    if message is None or message.stop_reason is None:
                        raise EndedEarly()
                    hold.settle(message)
                    return message
            except Exception as exc:
                at = run.failed_at()
                if not retryable(exc, at, self.settings.retry_midstream) or run.attempts > policy.max_retries:
                    raise
                run.keep_partial()
                policy.wait(exc, run.attempts, view.status, at)
                run.retries += 1
            finally:
                if hold.open and run.stream is None:  # refused or unreachable: no answer was started
                    hold.release()
                elif hold.open:  # broke off: at its worst case, as its output is not known
                    hold.settle(run.current())

    def _conclude(self, view: AnswerView, run: _Run, state: str | None, options: Options) -> None:
        messages = run.messages()
        for message in [*messages, *(m for m in run.broken if m not in messages)]:
            if message not in run.replayed:
                self.ledger.add(options.chat, message)
        if messages:
            self.shell.user_ns["last_message"] = messages[-1]
            self.shell.user_ns["last_exchange"] = messages
            if options.out and options.schema is None:  # with --schema, --out is the object (or None)
                self.shell.user_ns[options.out] = messages[-1]
        line = footer(messages, model=options.model, seconds=run.elapsed(), first_token=run.first_token,
                      state=state, max_tokens=options.max_tokens, context=options.context_labels,
                      replayed=bool(run.replayed), retries=run.retries) + footer_note(messages)
        notes = [*map(text, options.notes), *filter(None, [self.spending.note(), secrets_note(options.redacted)])]
        line = " · ".join([line, *notes])
        if messages and state is None:
            line += fullness(messages[-1], self.windows.of(self.client(), options.model))
        view.finish(messages[-1] if messages else None, line, timeline(run.events) if run.events else "")

    def _record(self, chat: Any, turns: list[dict[str, Any]], message: Any, cell_id: str | None,
                system: str | None, asked: dict[str, Any] | None = None) -> None:
        try:
            turn = assistant_turn(message)
            if turn is not None:
                usage = message.usage
                cached = (usage.cache_read_input_tokens or 0) + (usage.cache_creation_input_tokens or 0)
                chat.record(Exchange(joined([*turns, turn]), cell_id, usage.input_tokens, usage.output_tokens, cached,
                                     message.model, system, dict(asked or {})))
        except Exception as exc:  # noqa: BLE001 - the answer is already shown and stored
            print(f"(claude_magic: could not record this exchange in the history: {exc!r})", file=sys.stderr)
        self.autosave(chat.name)

    def autosave(self, name: str) -> None:
        """With `autosave` on, write the chat to its default file; a failure is a line, never the cell's."""
        if self.settings.autosave and not is_scratch(name):
            autosave(self.conversations, name, self.settings.chats_folder)

    def upload(self, loaded: Loaded) -> str:
        """The Files API id of a `--file` too large to send inline, uploading it the first time."""
        client = self.client()
        check(client, "files")
        try:
            return self.uploads.file_id(client, loaded.path.name, loaded.data, loaded.media_type)
        except Exception as exc:  # nothing was asked yet: one line is all the cell needs
            detail = explain(exc, base_url=str(client.base_url), timeout=self.settings.timeout, attempts=1,
                             partial=False)
            raise ClaudeMagicError(f"--file {loaded.path.name}: the upload failed. {detail}") from exc

    def models(self) -> list[Any]:
        check(self.client(), "models")
        return self._call(lambda client: list(client.models.list()))

    def _call(self, request: Callable[[Any], Any]) -> Any:
        """One plain request (not a streamed answer), its failure told in one line like an answer's."""
        client = self.client()
        try:
            return request(client)
        except Exception as exc:
            detail = explain(exc, base_url=str(client.base_url), timeout=self.settings.timeout, attempts=1,
                             partial=False)
            raise ClaudeMagicError(detail) from exc


def _check_sendable(text: Any) -> None:
    """What the user wrote must encode as UTF-8: a lone surrogate would fail inside the SDK."""
    try:
        json.dumps(text, ensure_ascii=False, default=str).encode("utf-8")
    except UnicodeEncodeError as exc:
        bad = exc.object[exc.start:exc.end]
        raise BadInput(
            f"The prompt holds {bad!r}, which cannot be sent (a lone surrogate, as decoding bytes with "
            "errors='surrogateescape' leaves): remove it, or decode the text with errors='replace'."
        ) from exc
