"""`--map`: one prompt template over every item of a list, Series or DataFrame.

Items are asked concurrently (a bounded number in flight), or with `--batch` as one Message Batch
(half price, asynchronous), whose id is kept on disk so a kernel restart can pick its results up.
Results come back aligned with the input; an item that failed holds a `Failed` saying why.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .conversation import user_turn
from .errors import BadInput, Stopped, explain
from .progress import Progress
from .prompt import interpolate
from .replay import request_key
from .request_summary import preview

BATCH_STATE = "claude_batches.json"


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

    def run(self, template: str, value: Any, name: str, options: Any, *, batch: bool, interp: bool) -> Any:
        namespace = self.session.shell.user_ns
        fields = items_of(value, name)
        if not fields:
            raise BadInput(f"--map {name}: it is empty.")
        prompts = [interpolate(template, {**namespace, **f}) if interp else template for f in fields]
        requests = [options.request([user_turn(prompt, options.context)]) for prompt in prompts]
        client = self.session.client()
        started = time.monotonic()
        progress = Progress(len(requests), f"{'Batch of' if batch else 'Asking'} {len(requests)} prompts",
                            clock=self.session.clock)
        run = self._batch if batch else self._concurrent
        results = run(client, requests, progress)
        for result in results:
            if not isinstance(result, Failed):
                self.session.ledger.add(f"--map{' --batch' if batch else ''}", result, batch=batch)
        answers = [result if isinstance(result, Failed) else text_of(result) for result in results]
        output = aligned(value, answers)
        namespace["last_map"] = aligned(value, results)
        if options.out:
            namespace[options.out] = output
        progress.finish(_summary(prompts, answers, time.monotonic() - started, options.out))
        return output

    def _concurrent(self, client: Any, requests: list[dict[str, Any]], progress: Progress) -> list[Any]:
        # Background items use the SDK's own (silent) retries: the progress line is what the user watches.
        client = client.with_options(max_retries=self.settings.max_retries)
        results: list[Any] = [Failed("not asked") for _ in requests]
        pool = ThreadPoolExecutor(max_workers=max(1, self.settings.map_concurrency))
        futures = {pool.submit(client.messages.create, **request): n for n, request in enumerate(requests)}
        done = failed = 0
        try:
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
            pool.shutdown(wait=False, cancel_futures=True)
            self._store_partial(results, progress)
            raise Stopped("stopped by you; the answers so far are in `last_map`, the rest marked Failed.") from None
        pool.shutdown()
        return results

    def _batch(self, client: Any, requests: list[dict[str, Any]], progress: Progress) -> list[Any]:
        state = _BatchState(Path(BATCH_STATE))
        key = request_key({"requests": requests})
        batch_id = state.get(key)
        if batch_id is None:
            batch = client.messages.batches.create(
                requests=[{"custom_id": f"item-{n}", "params": request} for n, request in enumerate(requests)]
            )
            batch_id = batch.id
            state.put(key, batch_id)
        try:
            while True:
                batch = client.messages.batches.retrieve(batch_id)
                counts = batch.request_counts
                finished = counts.succeeded + counts.errored + counts.canceled + counts.expired
                progress.update(finished, counts.errored + counts.canceled + counts.expired,
                                note=f"batch `{batch_id}` {batch.processing_status}")
                if batch.processing_status == "ended":
                    break
                self.session.sleep(self.settings.batch_poll_interval)
        except KeyboardInterrupt:
            raise Stopped(
                f"stopped waiting; batch {batch_id} keeps running. Re-run this cell to pick up its results."
            ) from None
        results: list[Any] = [Failed("no result in the batch") for _ in requests]
        for entry in client.messages.batches.results(batch_id):
            n = int(entry.custom_id.removeprefix("item-"))
            outcome = entry.result
            if outcome.type == "succeeded":
                results[n] = outcome.message
            elif outcome.type == "errored":
                results[n] = Failed(f"{outcome.error.error.type}: {outcome.error.error.message}")
            else:
                results[n] = Failed(outcome.type)
        state.remove(key)
        return results

    def _why(self, exc: BaseException, client: Any) -> str:
        return explain(exc, base_url=str(client.base_url), timeout=self.settings.timeout, attempts=1,
                       partial=False).splitlines()[0]

    def _store_partial(self, results: list[Any], progress: Progress) -> None:
        stopped = [Failed("stopped") if isinstance(r, Failed) and r.error == "not asked" else r for r in results]
        self.session.shell.user_ns["last_map"] = stopped
        progress.finish(f"⏹ stopped: {sum(not isinstance(r, Failed) for r in stopped)} of {len(stopped)} answered")


def _summary(prompts: list[str], answers: list[Any], seconds: float, out: str | None) -> str:
    """How it went in a line, where the results are, and the first rows of prompts and answers."""
    failed = sum(isinstance(answer, Failed) for answer in answers)
    line = f"✓ {len(answers) - failed} of {len(answers)} answered" + (f" · ⚠ {failed} failed" if failed else "")
    line += f" · {seconds:.1f} s · " + (f"texts in `{out}`, " if out else "") + "Messages in `last_map`"
    rows = [f"| {n} | {preview(p, 50)} | {preview(str(a), 70)} |" for n, (p, a) in enumerate(zip(prompts, answers))]
    more = f"\n\n… and {len(rows) - 10} more" if len(rows) > 10 else ""
    return f"{line}\n\n| # | prompt | answer |\n|---:|---|---|\n" + "\n".join(rows[:10]) + more


class _BatchState:
    """Batch ids by request hash, on disk, so a restarted kernel finds the batch it already paid for."""

    def __init__(self, path: Path):
        self.path = path

    def get(self, key: str) -> str | None:
        return self._read().get(key)

    def put(self, key: str, batch_id: str) -> None:
        self._write({**self._read(), key: batch_id})

    def remove(self, key: str) -> None:
        state = self._read()
        if state.pop(key, None) is None:
            return
        if state:
            self._write(state)
        else:
            self.path.unlink(missing_ok=True)  # leave no empty file behind in the notebook's folder

    def _read(self) -> dict[str, str]:
        try:
            return json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}

    def _write(self, state: dict[str, str]) -> None:
        self.path.write_text(json.dumps(state, indent=1), encoding="utf-8")
