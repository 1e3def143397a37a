"""`--map`: one prompt template over every item of a list, Series or DataFrame.

Items are asked concurrently, paced to the server's rate limits (pacing.py; `map_concurrency` "auto") or
a fixed number in flight; a 429 is waited out and asked again, never an item's failure. Each item's worst
case is reserved in the budget before it is sent; one that cannot fit is `Failed("budget: …")`. Or,
with `--batch`, as Message Batches
(half price, asynchronous): one, or several where the input is above the API's limits for one batch.
Their ids are kept on disk (`ClaudeMagics.batch_file`), by server and request, so a kernel restart
picks their results up. Results come back aligned with the input; an item that failed, or that a Stop
left unanswered, holds a `Failed` saying why. `--count` previews and asks nothing.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path
from typing import Any

from .budget import OverBudget
from .conversation import user_turn
from .errors import BadInput, ClaudeMagicError, EndedEarly, Stopped, explain
from .failures import Failed, retryable, status_of
from .pacing import CEILING, Pacer
from .providers import check
from .replay import request_key
from .request import build, countable
from .retry import RetryPolicy, retry_after
from .secrets import note as secrets_note
from .stores import Store
from .structured import parse_each, records
from .view.answer_view import display_markdown
from .view.codeblocks import fenced
from .view.escape import code, text
from .view.progress import Progress
from .view.request_summary import preview
from .view.tables import markdown_table

# The Message Batches API's limits for one batch; a larger input is split into several batches.
MAX_BATCH_REQUESTS = 100_000
MAX_BATCH_BYTES = 256 * 1024 * 1024
BATCHES = Store("batch", "batch_file", "claude_magic.batches", 1,
                "point `%config ClaudeMagics.batch_file = 'claude_batches.json'` at a file of its own")
# `--map --count` counts at most this many prompts (spread over the input) and scales to the rest.
COUNT_SAMPLE = 20
# An item refused this many times in a row (429) fails: its limit is far below what the account allows.
MAX_REFUSALS = 50


def items_of(value: Any, name: str) -> list[dict[str, Any]]:
    """The fields each item offers the template: `{item}`, and a DataFrame row's columns by name."""
    if hasattr(value, "iterrows"):
        return [{**row.to_dict(), "item": row.to_dict()} for _, row in value.iterrows()]
    if isinstance(value, (str, bytes, dict)) or not hasattr(value, "__iter__"):
        raise BadInput(f"--map {name}: needs a list, pandas Series or DataFrame, not a {type(value).__name__}.")
    return [{"item": item} for item in value]


def aligned(value: Any, results: list[Any]) -> Any:
    """`results` in the input's own shape: a list for a list, a Series on the same index for pandas."""
    if hasattr(value, "index") and hasattr(value, "iloc"):
        import pandas

        return pandas.Series(results, index=value.index, dtype=object)
    return results


def text_of(message: Any) -> str:
    return "".join(block.text for block in message.content if block.type == "text")


class Mapper:
    def __init__(self, session: Any):
        self.session = session
        self.settings = session.settings
        self.stopped = False
        self.pacer: Pacer | None = None  # the last concurrent run's, for its 429 count

    def run(self, template: str, value: Any, name: str, options: Any, *, batch: bool,
            fill: Callable[[str, dict[str, Any]], str] | None, count: bool = False) -> Any:
        """Ask `template` for each item of `value`; `fill(template, fields)` is the cell's own interpolation
        (`{name}`, `{In[N]}`, …) with the item's `{item}` / `{column}` fields over the notebook's names,
        or None to send the template as written."""
        namespace = self.session.shell.user_ns
        fields = items_of(value, name)
        if not fields:
            raise BadInput(f"--map {name}: it is empty.")
        prompts = [fill(template, f) if fill is not None else template for f in fields]
        requests = [build(options, [], [user_turn(prompt, options.context, options.redacted)], marks=False)
                    for prompt in prompts]
        redacted = secrets_note(options.redacted)
        if redacted:
            print(redacted)
        client = self.session.client()
        if batch:
            check(client, "batches")
        if count:
            check(client, "count_tokens")
            return self._preview(client, name, prompts, requests, batch)
        started = self.session.clock()
        progress = Progress(len(requests), f"{'Batch of' if batch else 'Asking'} {len(requests)} prompts",
                            clock=self.session.clock)
        run = self._batch if batch else self._concurrent
        results = run(client, requests, progress)
        for result in results:
            if not isinstance(result, Failed):
                self.session.ledger.add(f"--map{' --batch' if batch else ''}", result, batch=batch)
        answers = [result if isinstance(result, Failed) else text_of(result) for result in results]
        if options.schema is not None:  # each item's object; a DataFrame of records for a DataFrame
            answers = parse_each(options.schema, results, Failed)
        output = records(value, answers) if options.schema is not None else None
        output = aligned(value, answers) if output is None else output
        namespace["last_map"] = aligned(value, results)
        if options.out:
            namespace[options.out] = output
        seconds = self.session.clock() - started
        kind = "objects" if options.schema is not None else "texts"
        refused = self.pacer.refusals if self.pacer is not None else 0
        progress.finish(_summary(prompts, answers, seconds, options.out, kind, stopped=self.stopped, refused=refused))
        if self.stopped:
            kept = f"`{options.out}` and `last_map`" if options.out else "`last_map`"
            raise Stopped(f"stopped by you; the answers so far are in {kept}, the rest marked Failed('stopped').")
        return output

    def _preview(self, client: Any, name: str, prompts: list[str], requests: list[dict[str, Any]],
                 batch: bool) -> None:
        """What `--map` would send, with its input token count; nothing is asked (count_tokens is free)."""
        import anthropic

        total = len(requests)
        picked = sorted({round(n * (total - 1) / (COUNT_SAMPLE - 1)) for n in range(COUNT_SAMPLE)}) \
            if total > COUNT_SAMPLE else list(range(total))
        try:
            counts = [client.messages.count_tokens(**countable(requests[n]))
                      .input_tokens for n in picked]
        except anthropic.APIError as exc:
            raise ClaudeMagicError(f"--map --count: {self._why(exc, client)}") from exc
        if len(picked) == total:
            tokens, how = f"{sum(counts):,}", f"count_tokens on all {total:,} prompts"
        else:
            tokens = f"≈ {round(sum(counts) / len(counts) * total):,}"
            how = f"count_tokens on {len(picked)} of the {total:,} prompts, spread evenly, scaled to all"
        request = requests[0]
        where = "as a Message Batch (half price)" if batch else "one request each"
        first = fenced(prompts[0][:2000])  # shown as it is: the items are data, not markdown
        display_markdown(
            f"**--map {text(name)}: {total:,} prompts** to {code(request['model'])}, {where} — nothing was asked.\n\n"
            f"**{tokens} input tokens** in all ({how}); each answer at most {request['max_tokens']:,} tokens."
            f"\n\nFirst prompt:\n\n{first}"
        )

    def _concurrent(self, client: Any, requests: list[dict[str, Any]], progress: Progress) -> list[Any]:
        # The SDK's own retries are off: a 429 must reach the pacer (see pacing.py), other failures are retried
        # here, before the first byte only, so an item is never asked (and paid for) twice.
        client = client.with_options(max_retries=0)
        setting = self.settings.map_concurrency
        fixed = None if setting == "auto" else max(1, int(setting))
        pacer = Pacer(fixed, max_tokens=max(r["max_tokens"] for r in requests),
                      input_guess=len(json.dumps(requests[0], default=str)) / 3)
        self.pacer = pacer
        stop = threading.Event()
        results: list[Any] = [Failed("not asked") for _ in requests]
        pool = ThreadPoolExecutor(max_workers=fixed or CEILING, thread_name_prefix="claude-map")
        futures = {pool.submit(self._item, client, request, n, pacer, stop): n for n, request in enumerate(requests)}
        done = failed = 0
        started = time.monotonic()  # the pacer's real time, not the session's clock (tests drive that one)
        try:
            for future in as_completed(futures):
                n = futures[future]
                try:
                    results[n] = future.result()
                except Exception as exc:  # noqa: BLE001 - one item's failure is that item's result
                    results[n] = Failed(self._why(exc, client))
                failed += isinstance(results[n], Failed)
                done += 1
                progress.update(done, failed, note=pacer.note(done, len(requests), time.monotonic() - started))
        except KeyboardInterrupt:
            # What finished is kept (paid for); what was in flight or not yet asked is marked.
            stop.set()
            pacer.wake()
            pool.shutdown(wait=False, cancel_futures=True)
            self.stopped = True
            for future, n in futures.items():
                if results[n] == Failed("not asked") and future.done() and not future.cancelled():
                    error = future.exception()
                    results[n] = Failed(self._why(error, client)) if error else future.result()
            return [Failed("stopped") if r in (Failed("not asked"), None) else r for r in results]
        pool.shutdown()
        return results

    def _item(self, client: Any, request: dict[str, Any], n: int, pacer: Pacer, stop: threading.Event) -> Any:
        """One item's answer: its worst case reserved, its start paced, a 429 waited out and asked again."""
        try:
            hold = self.session.hold(request, client, wait=True, what=f"item {n}", stopped=stop.is_set)
        except OverBudget as exc:
            return Failed(exc.short)
        policy = RetryPolicy(max_retries=self.settings.max_retries, random=self.session.random)
        attempts = refusals = 0
        with hold:  # left unsettled (an answer that broke off), its worst case is what it cost
            while True:
                ticket = pacer.begin(stop.is_set)
                if ticket is None:
                    hold.release()
                    return None  # stopped before it was sent
                opened = False
                try:
                    with client.messages.stream(**request) as stream:
                        opened = True
                        pacer.headers(ticket, stream.response.headers)
                        message = stream.get_final_message()
                except Exception as exc:
                    if opened:
                        pacer.failed(ticket)
                        raise
                    if status_of(exc) == 429 and refusals < MAX_REFUSALS:
                        refusals += 1
                        response = getattr(exc, "response", None)
                        pacer.refused(ticket, response.headers if response is not None else {},
                                      retry_after(exc) or 1.0)
                        continue
                    pacer.failed(ticket)
                    attempts += 1
                    if not retryable(exc) or attempts > policy.max_retries or stop.is_set():
                        hold.release()  # no answer was started: nothing was billed
                        raise
                    stop.wait(min(policy.delay(exc, attempts), self.settings.max_retry_wait))
                    continue
                pacer.end(ticket, message.usage)
                if message.stop_reason is None:
                    raise EndedEarly()
                hold.settle(message)
                return message

    def _batch(self, client: Any, requests: list[dict[str, Any]], progress: Progress) -> list[Any]:
        import anthropic

        state = _BatchState(Path(self.settings.batch_file))
        key = request_key({"base_url": str(client.base_url), "requests": requests})
        chunks = batch_chunks(requests)
        ids = (state.get(key) + [None] * len(chunks))[: len(chunks)]
        latest: dict[int, Any] = {}
        # A beta header (a --file sent by id) belongs to the batch request, not to each item's params.
        headers = requests[0].get("extra_headers")
        # Priced at batch rates; submitted only if its worst case fits (a batch picked up again was counted).
        hold = self.session.hold(requests, client, batch=True, what=f"this batch of {len(requests):,} requests") \
            if None in ids else None
        try:
            while True:
                for n, chunk in enumerate(chunks):
                    if n not in latest or latest[n].processing_status != "ended":
                        latest[n] = self._poll(client, state, key, ids, n, chunk, headers)
                counts = [batch.request_counts for batch in latest.values()]
                finished = sum(c.succeeded + c.errored + c.canceled + c.expired for c in counts)
                failed = sum(c.errored + c.canceled + c.expired for c in counts)
                statuses = ", ".join(f"{code(b.id)} {text(b.processing_status)}" for b in latest.values())
                progress.update(finished, failed, note=f"batch {statuses}")
                if all(batch.processing_status == "ended" for batch in latest.values()):
                    break
                self.session.sleep(self.settings.batch_poll_interval)
            results: list[Any] = [Failed("no result in the batch") for _ in requests]
            for batch_id in ids:
                for entry in client.messages.batches.results(batch_id):
                    results[int(entry.custom_id.removeprefix("item-"))] = _outcome(entry.result)
        except KeyboardInterrupt:
            if hold is not None:
                hold.keep() if any(ids) else hold.release()
            names = ", ".join(i for i in ids if i) or "none submitted yet"
            raise Stopped(
                f"stopped waiting; batch {names} keeps running. Re-run this cell to pick up its results."
            ) from None
        except anthropic.APIError as exc:
            if hold is not None:
                hold.keep() if any(ids) else hold.release()
            submitted = [i for i in ids if i]
            kept = (f" Batch {', '.join(submitted)} is kept in {state.path}: re-run the cell to pick it up."
                    if submitted else " Nothing was submitted: re-run the cell to try again.")
            raise ClaudeMagicError(f"--map --batch: {self._why(exc, client)}{kept}") from exc
        state.remove(key)
        if hold is not None:
            hold.settle([result for result in results if not isinstance(result, Failed)])
        return results

    def _poll(self, client: Any, state: _BatchState, key: str, ids: list[str | None], n: int,
              chunk: list[dict[str, Any]], headers: dict[str, str] | None) -> Any:
        """Batch `n`, submitted first if it is not yet, or again if the server no longer has it."""
        import anthropic

        if ids[n] is not None:
            try:
                return client.messages.batches.retrieve(ids[n])
            except anthropic.NotFoundError:
                display_markdown(f"⚠ Batch {code(ids[n])} (kept in {code(state.path)}) is gone from the server — expired, "
                                 "deleted, or made with another key or server: dropped it, submitting a fresh one.")
        ids[n] = client.messages.batches.create(requests=chunk, extra_headers=headers).id
        state.put(key, ids)
        return client.messages.batches.retrieve(ids[n])

    def _why(self, exc: BaseException, client: Any) -> str:
        return explain(exc, base_url=str(client.base_url), timeout=self.settings.timeout, attempts=1,
                       partial=False).splitlines()[0]


def batch_chunks(requests: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The batch entries (`item-N` and its params), split to keep each batch within the API's limits."""
    envelope = len(b'{"requests": []}')
    chunks: list[list[dict[str, Any]]] = [[]]
    size = envelope
    for n, request in enumerate(requests):
        params = {key: value for key, value in request.items() if key != "extra_headers"}
        entry = {"custom_id": f"item-{n}", "params": params}
        entry_size = len(json.dumps(entry).encode()) + 2  # and the ", " before the next one
        if envelope + entry_size > MAX_BATCH_BYTES:
            raise BadInput(f"--map --batch: item {n} alone is larger than one batch may be "
                           f"({MAX_BATCH_BYTES:,} bytes); ask it without --batch, or shorten it.")
        if len(chunks[-1]) == MAX_BATCH_REQUESTS or size + entry_size > MAX_BATCH_BYTES:
            chunks.append([])
            size = envelope
        chunks[-1].append(entry)
        size += entry_size
    return chunks


def _outcome(result: Any) -> Any:
    if result.type == "succeeded":
        return result.message
    if result.type == "errored":
        return Failed(f"{result.error.error.type}: {result.error.error.message}")
    return Failed(result.type)


def _summary(prompts: list[str], answers: list[Any], seconds: float, out: str | None, kind: str = "texts", *,
             stopped: bool = False, refused: int = 0) -> str:
    """How it went in a line, where the results are, and the first rows of prompts and answers."""
    failed = sum(isinstance(answer, Failed) for answer in answers)
    line = ("⏹ stopped by you · " if stopped else "") + f"✓ {len(answers) - failed} of {len(answers)} answered" + (f" · ⚠ {failed} failed" if failed else "")
    line += f" · {refused} × 429 (rate limit, waited out and asked again)" if refused else ""
    line += f" · {seconds:.1f} s · " + (f"{kind} in {code(out)}, " if out else "") + "Messages in `last_map`"
    rows = [(n, preview(p, 50), preview(str(a), 70)) for n, (p, a) in enumerate(zip(prompts, answers))]
    more = f"\n\n… and {len(rows) - 10} more" if len(rows) > 10 else ""
    return f"{line}\n\n" + markdown_table(["#", "prompt", "answer"], rows[:10], right=[0]) + more


class _BatchState:
    """Batch ids by server and request, on disk, so a restarted kernel finds the batches it already paid for.

    The file is shared by the kernels of a folder: each write re-reads it and changes only its own entry.
    Missing, unreadable, foreign or newer files follow the stores' one policy (`stores.py`): one that
    cannot be read is said before anything is submitted, and is never written over.
    """

    def __init__(self, path: Path):
        self.path = path

    def get(self, key: str) -> list[str | None]:
        ids = self._read().get(key, [])
        return [ids] if isinstance(ids, str) else list(ids)

    def put(self, key: str, ids: list[str | None]) -> None:
        self._change(lambda state: {**state, key: ids})

    def remove(self, key: str) -> None:
        self._change(lambda state: {name: ids for name, ids in state.items() if name != key})

    def _read(self) -> dict[str, Any]:
        text = BATCHES.read(self.path)
        if text is None:
            return {}
        data = BATCHES.parse(text, self.path)
        if isinstance(data, dict) and "format" not in data:  # written before the file said what it is
            data = {**BATCHES.header(), "batches": data}
        BATCHES.check(data, self.path)
        state = data.get("batches")
        valid = isinstance(state, dict) and all(
            isinstance(ids, str) or (isinstance(ids, list) and all(isinstance(i, (str, type(None))) for i in ids))
            for ids in state.values())
        if not valid:
            raise BATCHES.refuse(self.path, "is not a claude_magic batch file (its batches are not lists of ids)")
        return state

    def _change(self, change: Any) -> None:
        """Re-read, change, write whole (a temporary file, then renamed over the old one). A failure is said,
        not raised: the batch is submitted and this run still collects it."""
        try:
            before = self._read()
            state = change(before)
            if state == before:
                return
            if state:
                BATCHES.write(self.path, json.dumps({**BATCHES.header(), "batches": state}, indent=1))
            else:
                self.path.unlink(missing_ok=True)  # leave no empty file behind in the notebook's folder
        except (BadInput, OSError) as exc:
            print(f"⚠ claude_magic: {exc}. If this run is stopped, a re-run cannot find its batch and submits a "
                  "new one.", file=sys.stderr)
