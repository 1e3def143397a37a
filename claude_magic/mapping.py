"""`--map`: one prompt template over every item of a list, Series or DataFrame.

Items are asked concurrently (a bounded number in flight), or with `--batch` as Message Batches
(half price, asynchronous): one, or several where the input is above the API's limits for one batch.
Their ids are kept on disk (`ClaudeMagics.batch_file`), by server and request, so a kernel restart
picks their results up. Results come back aligned with the input; an item that failed, or that a Stop
left unanswered, holds a `Failed` saying why. `--count` previews and asks nothing.
"""

from __future__ import annotations

import json
import sys
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .answer_view import display_markdown
from .atomic import write_text
from .conversation import user_turn
from .errors import BadInput, ClaudeMagicError, Stopped, explain
from .progress import Progress
from .prompt import interpolate
from .providers import check
from .replay import request_key
from .request_summary import preview
from .session import countable
from .structured import parse_each, records

# The Message Batches API's limits for one batch; a larger input is split into several batches.
MAX_BATCH_REQUESTS = 100_000
MAX_BATCH_BYTES = 256 * 1024 * 1024
# `--map --count` counts at most this many prompts (spread over the input) and scales to the rest.
COUNT_SAMPLE = 20


@dataclass(frozen=True)
class Failed:
    """What stands in the results for an item that got no answer; falsy, and says why."""

    error: str

    def __str__(self) -> str:
        return f"⚠ {self.error}"

    def __bool__(self) -> bool:
        return False


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

    def run(self, template: str, value: Any, name: str, options: Any, *, batch: bool, interp: bool,
            count: bool = False) -> Any:
        namespace = self.session.shell.user_ns
        fields = items_of(value, name)
        if not fields:
            raise BadInput(f"--map {name}: it is empty.")
        prompts = [interpolate(template, {**namespace, **f}) if interp else template for f in fields]
        requests = [options.request([user_turn(prompt, options.context)]) for prompt in prompts]
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
        progress.finish(_summary(prompts, answers, seconds, options.out, kind, stopped=self.stopped))
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
        first = "\n".join(f"> {line}" for line in prompts[0][:2000].splitlines() or [""])
        display_markdown(
            f"**--map {name}: {total:,} prompts** to `{request['model']}`, {where} — nothing was asked.\n\n"
            f"**{tokens} input tokens** in all ({how}); each answer at most {request['max_tokens']:,} tokens."
            f"\n\nFirst prompt:\n\n{first}"
        )

    def _concurrent(self, client: Any, requests: list[dict[str, Any]], progress: Progress) -> list[Any]:
        # Background items use the SDK's own (silent) retries: the progress line is what the user watches.
        client = client.with_options(max_retries=self.settings.max_retries)
        results: list[Any] = [Failed("not asked") for _ in requests]
        pool = ThreadPoolExecutor(max_workers=max(1, self.settings.map_concurrency))
        futures: dict[Any, int] = {}
        done = failed = 0
        try:
            for n, request in enumerate(requests):
                futures[pool.submit(client.messages.create, **request)] = n
            for future in as_completed(futures):
                n = futures[future]
                try:
                    results[n] = future.result()
                except Exception as exc:  # noqa: BLE001 - one item's failure is that item's result
                    results[n] = Failed(self._why(exc, client))
                    failed += 1
                done += 1
                progress.update(done, failed)
        except KeyboardInterrupt:
            # What finished is kept (paid for); what was in flight or not yet asked is marked.
            pool.shutdown(wait=False, cancel_futures=True)
            self.stopped = True
            for future, n in futures.items():
                if results[n] == Failed("not asked") and future.done() and not future.cancelled():
                    error = future.exception()
                    results[n] = Failed(self._why(error, client)) if error else future.result()
            return [Failed("stopped") if r == Failed("not asked") else r for r in results]
        pool.shutdown()
        return results

    def _batch(self, client: Any, requests: list[dict[str, Any]], progress: Progress) -> list[Any]:
        import anthropic

        state = _BatchState(Path(self.settings.batch_file))
        key = request_key({"base_url": str(client.base_url), "requests": requests})
        chunks = batch_chunks(requests)
        ids = (state.get(key) + [None] * len(chunks))[: len(chunks)]
        latest: dict[int, Any] = {}
        # A beta header (a --file sent by id) belongs to the batch request, not to each item's params.
        headers = requests[0].get("extra_headers")
        try:
            while True:
                for n, chunk in enumerate(chunks):
                    if n not in latest or latest[n].processing_status != "ended":
                        latest[n] = self._poll(client, state, key, ids, n, chunk, headers)
                counts = [batch.request_counts for batch in latest.values()]
                finished = sum(c.succeeded + c.errored + c.canceled + c.expired for c in counts)
                failed = sum(c.errored + c.canceled + c.expired for c in counts)
                statuses = ", ".join(f"`{b.id}` {b.processing_status}" for b in latest.values())
                progress.update(finished, failed, note=f"batch {statuses}")
                if all(batch.processing_status == "ended" for batch in latest.values()):
                    break
                self.session.sleep(self.settings.batch_poll_interval)
            results: list[Any] = [Failed("no result in the batch") for _ in requests]
            for batch_id in ids:
                for entry in client.messages.batches.results(batch_id):
                    results[int(entry.custom_id.removeprefix("item-"))] = _outcome(entry.result)
        except KeyboardInterrupt:
            names = ", ".join(i for i in ids if i) or "none submitted yet"
            raise Stopped(
                f"stopped waiting; batch {names} keeps running. Re-run this cell to pick up its results."
            ) from None
        except anthropic.APIError as exc:
            submitted = [i for i in ids if i]
            kept = (f" Batch {', '.join(submitted)} is kept in {state.path}: re-run the cell to pick it up."
                    if submitted else " Nothing was submitted: re-run the cell to try again.")
            raise ClaudeMagicError(f"--map --batch: {self._why(exc, client)}{kept}") from exc
        state.remove(key)
        return results

    def _poll(self, client: Any, state: _BatchState, key: str, ids: list[str | None], n: int,
              chunk: list[dict[str, Any]], headers: dict[str, str] | None) -> Any:
        """Batch `n`, submitted first if it is not yet, or again if the server no longer has it."""
        import anthropic

        if ids[n] is not None:
            try:
                return client.messages.batches.retrieve(ids[n])
            except anthropic.NotFoundError:
                display_markdown(f"⚠ Batch `{ids[n]}` (kept in `{state.path}`) is gone from the server — expired, "
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
             stopped: bool = False) -> str:
    """How it went in a line, where the results are, and the first rows of prompts and answers."""
    failed = sum(isinstance(answer, Failed) for answer in answers)
    line = ("⏹ stopped by you · " if stopped else "") + f"✓ {len(answers) - failed} of {len(answers)} answered" + (f" · ⚠ {failed} failed" if failed else "")
    line += f" · {seconds:.1f} s · " + (f"{kind} in `{out}`, " if out else "") + "Messages in `last_map`"
    rows = [f"| {n} | {preview(p, 50)} | {preview(str(a), 70)} |" for n, (p, a) in enumerate(zip(prompts, answers))]
    more = f"\n\n… and {len(rows) - 10} more" if len(rows) > 10 else ""
    return f"{line}\n\n| # | prompt | answer |\n|---:|---|---|\n" + "\n".join(rows[:10]) + more


class _BatchState:
    """Batch ids by server and request, on disk, so a restarted kernel finds the batches it already paid for."""

    def __init__(self, path: Path):
        self.path = path

    def get(self, key: str) -> list[str | None]:
        ids = self._read().get(key, [])
        return [ids] if isinstance(ids, str) else list(ids)

    def put(self, key: str, ids: list[str | None]) -> None:
        self._write({**self._read(), key: ids})

    def remove(self, key: str) -> None:
        state = self._read()
        if state.pop(key, None) is None:
            return
        if state:
            self._write(state)
        else:
            self.path.unlink(missing_ok=True)  # leave no empty file behind in the notebook's folder

    def _read(self) -> dict[str, Any]:
        try:
            state = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return state if isinstance(state, dict) else {}

    def _write(self, state: dict[str, Any]) -> None:
        """Whole or not at all (a temporary file, then renamed over the old one); a failure is said, not raised:
        the batch is submitted and this run still collects it."""
        try:
            write_text(self.path, json.dumps(state, indent=1))
        except OSError as exc:
            print(f"⚠ claude_magic: could not write {str(self.path)!r} ({exc.strerror or exc}); if this run is "
                  "stopped, a re-run cannot find its batch and submits a new one.", file=sys.stderr)
