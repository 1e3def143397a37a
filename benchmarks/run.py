"""What `%%claude` costs on top of the SDK, and what it sends the frontend: `benchmarks/run.py [--quick]`.

Everything runs on the package's own simulator at full speed (pace 0), with the real SDK and a real
`InteractiveShell`. The simulator is served from a child process (see remote.py): a real API is remote,
and served from this process the simulator's own work would be counted in every time measured here.
The magic reaches it as it would reach the API (`backend = "api"`, `ANTHROPIC_BASE_URL`), the bare SDK
through `claude_magic.client()`. Rates are set, and arrival times taken, by a proxy in that child
process, in front of the simulator (remote.py says why the simulator's own `pace` is not used).

1. Streaming overhead. One 20 000-delta answer (`--max-tokens 30000`, `--no-history`, so every run is
   the same request), timed as a whole `%%claude` cell under `capture_output()` in "widget" and in
   "display" mode, and as the bare SDK loop (`messages.stream`, drain `text_stream`,
   `get_final_message()`) sending the very body the cell sent (read back from the simulator, after one
   cell to warm up). Rounds run bare, widget and display, each round starting with the next one; the
   figure is the median over the rounds of cell time / bare time in the same round (runs side by
   side, so that drifts in the machine's load cancel out). Also shown: the same in CPU time, and the
   quickest cell over the quickest bare run (load only ever adds time).

2. Display updates per second of answer time, at 50, 500 and 5 000 deltas/s (about 3 s of answer
   each). An update is what the frontend would receive: in display mode each display-handle update,
   in widget mode each change of the Output widget's `outputs` and the final display-handle update.
   Those from the first delta on are counted and divided by the answer time: from the first delta
   (as the proxy hands it over) to the last update. The rate of deltas shown is the proxy's, first
   delta to `message_stop`. The last update must hold the whole answer, then the footer.

3. Latency from the first delta to the first update that shows it (contains its text): answers at a
   real model's 50 deltas/s, the first delta timed by the proxy as it hands it to the client's socket,
   the updates timed as they are published (the shell's display publisher, the widget's trait
   observer), on the one monotonic clock of the machine. Nothing in the SDK or the package is patched.
   Median and worst of the runs, per mode.

4. History growth: 200 consecutive turns in one chat (50-word answers), each cell with its own cell
   id as in JupyterLab. The magic's own work in a turn is the cell's CPU time minus that of the bare
   SDK sending the very body the cell sent (history and prompt, read back from the simulator) for the
   same answer: CPU time of this thread, where both run, leaves out the HTTP round trip and whatever
   else the machine is doing, and the subtraction the SDK's own work. What is left is the magic's
   share (IPython's running of the cell included), of which the history is the part that can grow.
   Each turn runs cell and bare SDK alternately, 5 times each (a cell run again replaces its own
   exchange, so it sends the same request); the figure compares the median of the differences over
   the last 20 turns with that over the first 20. Then the turns again, once each, under
   tracemalloc: the peak above the start, less the chat's own size (its messages, measured deeply),
   must stay under 50 MB.

5. `%load_ext claude_magic` in a fresh process with IPython imported and a shell made before timing;
   median of a few processes (after one that writes the bytecode, as a user's first import does), and
   whether `anthropic` got imported (it must be lazy).

6. A notebook of 20 `%%claude` cells run by nbclient vs the same notebook with plain SDK calls
   (keeping the conversation, printing the text as it streams), the same answers queued for both and
   the same setup cell first: the question cells' execution times as nbclient records them (kernel
   start and setup excluded). The magic's cells show a widget (display "auto" in a kernel). No target.

7. What a long answer costs on the wire: a ~50 kB and a ~500 kB markdown answer (long_answer.py: headings,
   lists, tables, code fences), each streamed into a `%%claude` cell of a real kernel run by nbclient,
   every message the kernel sends on iopub counted in bytes as it leaves (headers included), against
   the answer's own bytes. Updates every 40 ms, at least 100 and 1,000 of them (two per kB, ~430 bytes
   of new text each); an update is the messages sent together at one tick of the throttle (two when a
   segment is sealed and the tail moves on). Also: the kernel's CPU time per update, and whether the
   saved notebook holds the whole answer as static markdown.

8. `--map` at the account's rate limit: 300 items against a simulator that allows 600 requests a minute
   (enforced over one-second buckets, as the API may) and answers each after 2 s; then 120 items of
   500-token answers, 5 s each (100 tokens/s), under 60,000 output tokens a minute. The map's items a
   second over what the binding limit allows (10/s; 2/s), the 429s among the requests the simulator
   got, and whether every item was answered. Before pacing (a fixed 4 in flight) the first ran at 1.9
   items/s and the second at 0.78 (README).

9. With `--browser`, in a real JupyterLab in headless Chromium, each in display mode "widget" (a kernel's
   default without the notebook extension: the before, not judged in a) and "extension" (the extension's
   stream renderer: the kernel sends only new text over the `claude_magic` comm, the page makes the saved
   output):
   a. What a long answer costs on the page's wire (wire.py): the ~50 kB and ~500 kB answers of 7, at the
      same pace and update interval, the bytes of every frame of the kernel's websocket that the page
      receives (all channels: comm and widget messages too) and sends, from the cell's execute_request to
      its reply and idle, against the answer's own bytes (`markdown_of(last_message)`); also the
      iopub channel's own share, the comm_msg and update_display_data messages received, the page's long
      tasks while it streams, and whether the notebook saved from the page holds the whole answer as
      static markdown (no widget, no other MIME type).
   b. How responsive JupyterLab stays while a ~300 kB answer streams (page.py).

The exit status is 0 whenever the benchmark ran, targets met or not; 1 if an answer came out wrong.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import statistics
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import ipywidgets
import nbformat
import page
import wire
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output
from long_answer import LAST_SENTENCE as LAST
from long_answer import markdown_answer, sse_stream
from nbclient import NotebookClient
from remote import RemoteSimulator, through_proxy
from traitlets.config import Config

import claude_magic
from claude_magic.simulator import Reply

MODEL = "claude-sonnet-5-5"
MODES = ("widget", "display")
RATES = (50, 500, 5000)
LATENCY_PACE = 50
HISTORY_ANSWER_WORDS = 50
NOTEBOOK_ANSWER_WORDS = 300


@dataclass(frozen=True)
class Sizes:
    overhead_deltas: int
    overhead_rounds: int
    rate_seconds: float
    latency_runs: int
    history_turns: int
    history_window: int
    history_repeats: int
    load_runs: int
    notebook_cells: int
    iopub_answers: tuple[tuple[int, float, int], ...]  # (bytes of answer, seconds it streams for, least updates)
    map_cases: tuple[tuple[int, float], tuple[int, float]]  # (items, seconds per answer): RPM-bound, output-bound


FULL = Sizes(20_000, 9, 3.0, 9, 200, 20, 5, 5, 20, ((50_000, 4.4, 100), (500_000, 44.0, 1000)), ((300, 2.0), (120, 5.0)))
QUICK = Sizes(2_000, 3, 1.0, 3, 16, 5, 2, 2, 3, ((20_000, 1.0, 20),), ((30, 0.5), (8, 1.0)))
MAP_RPM = 600
MAP_OTPM = 60_000
MAP_ANSWER_TOKENS = 500


@dataclass
class Row:
    metric: str
    measured: str
    target: str = ""
    ok: bool | None = None
    wrong: bool = False  # the answer itself came out wrong, not merely slow


@dataclass
class Update:
    """One message the frontend would get for the cell, and when."""

    time: float
    markdown: str


@dataclass
class Took:
    """Seconds on the wall clock, and of CPU in this thread (where the cell and the SDK both run)."""

    wall: float = 0.0
    cpu: float = 0.0


@contextlib.contextmanager
def timing() -> Iterator[Took]:
    took = Took()
    wall, cpu = time.perf_counter(), time.thread_time()
    yield took
    took.wall, took.cpu = time.perf_counter() - wall, time.thread_time() - cpu


@dataclass
class Cell:
    took: Took
    updates: list[Update]


def words(count: int) -> str:
    return " ".join(f"w{i}" for i in range(count))


class Bench:
    """A real shell with the extension loaded, talking to the remote simulator as if it were the API."""

    def __init__(self, remote: RemoteSimulator):
        self.remote = remote
        config = Config()
        config.HistoryManager.hist_file = ":memory:"  # leave the user's IPython history alone
        self.shell = InteractiveShell.instance(config=config)
        self.shell.run_line_magic("load_ext", "claude_magic")
        self.shell.run_line_magic("config", 'ClaudeMagics.backend = "api"')
        self.magics = self.shell.magics_manager.registry["ClaudeMagics"]
        self._recording: list[Update] | None = None
        ipywidgets.Widget.on_widget_constructed(self._watch_widget)
        # The SDK's types make a heap that takes a full collection ~0.4 s: set aside what exists now, so
        # that the collection before each timed run is quick and none lands, at random, inside one.
        claude_magic.client()
        gc.collect()
        gc.freeze()

    def point_at(self, url: str) -> Any:
        """Point the magic at `url`, and return a bare SDK client pointed there too."""
        os.environ["ANTHROPIC_BASE_URL"] = url
        return claude_magic.client(max_retries=0)

    def cell(self, source: str, mode: str, reply: Reply, *, record: bool = False,
             cell_id: str | None = None) -> Cell:
        self.magics.display = mode
        self.shell.parent_header = {"metadata": {"cellId": cell_id}} if cell_id else {}
        self.remote.queue(reply)
        gc.collect()
        self._recording = [] if record else None
        with capture_output():
            if record:
                self._watch_publisher()
            with timing() as took:
                result = self.shell.run_cell(source)
        updates, self._recording = self._recording or [], None
        if result.error_in_exec is not None:
            raise RuntimeError(f"the cell failed: {result.error_in_exec}")
        return Cell(took, updates)

    def _watch_publisher(self) -> None:
        publisher = self.shell.display_pub
        publish = publisher.publish

        def recording(data: dict[str, Any], *args: Any, update: bool = False, **kwargs: Any) -> None:
            if update:
                self._note(data.get("text/markdown", ""))
            publish(data, *args, update=update, **kwargs)

        publisher.publish = recording

    def _watch_widget(self, widget: Any) -> None:
        if self._recording is not None and isinstance(widget, ipywidgets.Output):
            widget.observe(lambda change: self._note(_markdown_of(change["new"])), names="outputs")

    def _note(self, markdown: str) -> None:
        if self._recording is not None:
            self._recording.append(Update(time.monotonic(), markdown))


def _markdown_of(outputs: tuple[dict[str, Any], ...]) -> str:
    return outputs[-1]["data"].get("text/markdown", "") if outputs else ""


def bare_stream(client: Any, remote: RemoteSimulator, reply: Reply, request: dict[str, Any]) -> Took:
    remote.queue(reply)
    gc.collect()
    with timing() as took, client.messages.stream(**request) as stream:
        for _ in stream.text_stream:
            pass
        stream.get_final_message()
    return took


def sent(remote: RemoteSimulator, runs: int) -> dict[str, Any]:
    """The request that each of the `runs` since the last call sent: the bare SDK sends what the cell sent."""
    bodies = remote.bodies()
    if len(bodies) != runs or any(body != bodies[0] for body in bodies):
        raise RuntimeError(f"the {runs} runs compared did not each send the same request")
    return {name: value for name, value in bodies[0].items() if name != "stream"}


def streaming_overhead(bench: Bench, sizes: Sizes) -> list[Row]:
    client = bench.point_at(bench.remote.url)
    reply = Reply.text(words(sizes.overhead_deltas))
    source = "%%claude --no-history --max-tokens 30000\nCount."
    bench.remote.bodies()
    bench.cell(source, "widget", reply)  # warms up, and says what the bare SDK is to send
    request = sent(bench.remote, 1)
    runs = {"bare": lambda: bare_stream(client, bench.remote, reply, request),
            **{mode: lambda mode=mode: bench.cell(source, mode, reply).took for mode in MODES}}
    times: dict[str, list[Took]] = {name: [] for name in runs}
    names = [*runs]
    for number in range(sizes.overhead_rounds):
        # Each round starts with the next one, so that none is always the first, or always after another.
        start = number % len(names)
        for name in names[start:] + names[:start]:
            times[name].append(runs[name]())
        if sent(bench.remote, 1 + len(MODES)) != request:
            raise RuntimeError("the cells' request changed between runs")
    rows = []
    bare = times["bare"]
    for mode in MODES:
        pairs = list(zip(times[mode], bare))
        ratio = statistics.median(cell.wall / base.wall for cell, base in pairs)
        cpu = statistics.median(cell.cpu / base.cpu for cell, base in pairs)
        quickest = min(cell.wall for cell, _ in pairs) / min(base.wall for _, base in pairs)
        rows.append(Row(
            f"streaming overhead, {mode} ({sizes.overhead_deltas:,} deltas)",
            f"{ratio:.3f}× (cell {statistics.median(t.wall for t in times[mode]):.2f} s vs bare SDK "
            f"{statistics.median(t.wall for t in bare):.2f} s, medians of {sizes.overhead_rounds} rounds; "
            f"in CPU time {cpu:.3f}×; quickest runs {quickest:.3f}×)",
            "≤ 1.10×", ratio <= 1.10,
        ))
    return rows


def update_rates(bench: Bench, sizes: Sizes) -> list[Row]:
    bench.point_at(bench.remote.proxy_url)
    rows = []
    for rate in RATES:
        bench.remote.pace(rate)
        count = int(rate * sizes.rate_seconds)
        text = words(count)
        for mode in MODES:
            cell = bench.cell(f"%%claude --no-history --max-tokens {count + 10}\nCount.", mode,
                              through_proxy(Reply.text(text)), record=True)
            (first, stop), = bench.remote.passages()
            sent = [update for update in cell.updates if update.time >= first]
            # Until the last update, which is later than message_stop when the client lags behind.
            seconds = sent[-1].time - first
            per_second = len(sent) / seconds
            kilobytes = sum(len(update.markdown.encode()) for update in sent) / 1e3
            last = cell.updates[-1].markdown
            complete = last.startswith(f"{text}\n\n<sub>") and last.endswith("</sub>")
            rows.append(Row(
                f"updates/s at {rate:,} deltas/s, {mode}",
                f"{per_second:.1f}/s ({len(sent)} in {seconds:.2f} s, deltas at "
                f"{(count - 1) / (stop - first):,.0f}/s, {kilobytes:,.1f} kB "
                f"of markdown; last update {'holds the whole answer' if complete else 'INCOMPLETE'})",
                "≤ 15/s, last complete", per_second <= 15 and complete, wrong=not complete,
            ))
    return rows


def first_update_latency(bench: Bench, sizes: Sizes) -> list[Row]:
    bench.point_at(bench.remote.proxy_url)
    bench.remote.pace(LATENCY_PACE)
    showing: dict[str, list[float]] = {mode: [] for mode in MODES}
    any_update: dict[str, list[float]] = {mode: [] for mode in MODES}
    for _ in range(sizes.latency_runs):
        for mode in MODES:
            cell = bench.cell("%%claude --no-history\nCount.", mode, through_proxy(Reply.text(words(10))),
                              record=True)
            (first, _), = bench.remote.passages()
            showing[mode].append(next(u.time for u in cell.updates if "w0" in u.markdown) - first)
            any_update[mode].append(next(u.time for u in cell.updates if u.time >= first) - first)
    rows = []
    for mode, values in showing.items():
        earlier = statistics.median(any_update[mode])
        blank = (f"; an update without it comes first, after {earlier * 1000:.1f} ms"
                 if earlier < min(values) else "")
        rows.append(Row(
            f"first delta → first update showing it, {mode}",
            f"{statistics.median(values) * 1000:.1f} ms median, {max(values) * 1000:.1f} ms worst "
            f"({len(values)} runs at {LATENCY_PACE} deltas/s{blank})",
            "≤ 50 ms", max(values) <= 0.050,
        ))
    return rows


def history_growth(bench: Bench, sizes: Sizes) -> list[Row]:
    client = bench.point_at(bench.remote.url)
    reply = Reply.text(words(HISTORY_ANSWER_WORDS))

    def conversation(timed: bool) -> list[list[tuple[float, float]]]:
        """Each turn's (cell, bare SDK) CPU seconds, run in alternation a few times, when `timed`."""
        with capture_output():
            bench.shell.run_line_magic("claude", "reset")
        bench.remote.bodies()
        turns = []
        for turn in range(sizes.history_turns):
            # Cells have ids, as in JupyterLab: running one again replaces its exchange, so every run of
            # a turn sends the same request.
            source = f"%%claude\nTurn {turn}: carry on."
            cell = bench.cell(source, "display", reply, cell_id=f"turn-{turn}").took.cpu
            if timed:
                request = sent(bench.remote, 1)
                pairs = []
                for _ in range(sizes.history_repeats):
                    bare = bare_stream(client, bench.remote, reply, request).cpu
                    pairs.append((cell, bare))
                    cell = bench.cell(source, "display", reply, cell_id=f"turn-{turn}").took.cpu
                if sent(bench.remote, 2 * sizes.history_repeats) != request:
                    raise RuntimeError("the bare SDK did not send the cell's request")
                turns.append(pairs)
        return turns

    turns = conversation(timed=True)
    window = sizes.history_window
    first, last = (statistics.median(cell - bare for pairs in part for cell, bare in pairs)
                   for part in (turns[:window], turns[-window:]))
    bare_first, bare_last = (statistics.median(bare for pairs in part for _, bare in pairs)
                             for part in (turns[:window], turns[-window:]))

    gc.collect()
    tracemalloc.start()
    start = tracemalloc.get_traced_memory()[0]
    conversation(timed=False)
    peak = tracemalloc.get_traced_memory()[1] - start
    tracemalloc.stop()
    size = deep_size(claude_magic.history())
    beyond = (peak - size) / 2**20
    return [
        Row(f"magic's own time per turn, last {window} / first {window} of {sizes.history_turns}",
            f"{last / first:.2f}× ({first * 1000:.1f} → {last * 1000:.1f} ms of CPU; "
            f"the bare SDK's {bare_first * 1000:.1f} → {bare_last * 1000:.1f} ms)",
            "≤ 1.5×", last / first <= 1.5),
        Row(f"memory beyond the history, {sizes.history_turns} turns",
            f"{beyond:.1f} MB (peak {peak / 2**20:.1f} MB above the start, history {size / 2**20:.2f} MB)",
            "< 50 MB", beyond < 50),
    ]


def deep_size(obj: Any, seen: set[int] | None = None) -> int:
    """Bytes held by `obj` and everything it refers to, each object counted once."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return 0
    seen.add(id(obj))
    size = sys.getsizeof(obj)
    if isinstance(obj, dict):
        size += sum(deep_size(key, seen) + deep_size(value, seen) for key, value in obj.items())
    elif isinstance(obj, list | tuple | set):
        size += sum(deep_size(item, seen) for item in obj)
    elif hasattr(obj, "__dict__"):
        size += deep_size(vars(obj), seen)
    return size


LOAD = """\
import sys, time
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config
config = Config()
config.HistoryManager.hist_file = ":memory:"
shell = InteractiveShell.instance(config=config)
started = time.perf_counter()
shell.run_line_magic("load_ext", "claude_magic")
print(time.perf_counter() - started, "anthropic" in sys.modules)
"""


def load_time(sizes: Sizes) -> list[Row]:
    # As a user's Python loads it: from bytecode, written by a first, unmeasured run (an environment with
    # PYTHONDONTWRITEBYTECODE set would otherwise compile every module each time: ~250 ms instead of ~100).
    env = {name: value for name, value in os.environ.items() if name != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([sys.executable, "-c", LOAD], capture_output=True, env=env, check=True)
    runs = []
    for _ in range(sizes.load_runs):
        out = subprocess.run([sys.executable, "-c", LOAD], capture_output=True, text=True, env=env, check=True).stdout
        seconds, imported = out.split()
        runs.append((float(seconds), imported == "True"))
    seconds = statistics.median(seconds for seconds, _ in runs)
    eager = any(imported for _, imported in runs)
    return [
        Row("%load_ext claude_magic, fresh process", f"{seconds * 1000:.0f} ms (median of {len(runs)})",
            "< 300 ms", seconds < 0.3),
        Row("anthropic imported by %load_ext", "yes" if eager else "no", "no", not eager),
    ]


# Both notebooks start alike: the SDK imported and a client built, which the magic would otherwise do
# in its first question cell.
SETUP = "import claude_magic\n%load_ext claude_magic\nclient = claude_magic.client()\nmessages = []"
MAGIC_CELL = "%%claude\nQuestion {number}: tell me more."
SDK_CELL = """\
messages.append({{"role": "user", "content": "Question {number}: tell me more."}})
with client.messages.stream(model="{model}", max_tokens=2048, messages=messages) as stream:
    for text in stream.text_stream:
        print(text, end="")
    messages.append({{"role": "assistant", "content": stream.get_final_text()}})
"""


def notebooks(bench: Bench, sizes: Sizes) -> list[Row]:
    bench.point_at(bench.remote.url)  # the kernels inherit the environment
    magic, sdk = (run_notebook(bench.remote, cell, sizes.notebook_cells) for cell in (MAGIC_CELL, SDK_CELL))
    return [Row(
        f"nbclient, {sizes.notebook_cells} question cells: %%claude / plain SDK",
        f"{sum(magic) / sum(sdk):.2f}× ({sum(magic):.2f} s vs {sum(sdk):.2f} s; a cell: first "
        f"{magic[0] * 1000:.0f} vs {sdk[0] * 1000:.0f} ms, median {statistics.median(magic) * 1000:.0f} vs "
        f"{statistics.median(sdk) * 1000:.0f} ms)",
        "(no target)",
    )]


# Counts, in the kernel, every message it sends on iopub (replies go on the shell channel) as the bytes that
# leave it: what the websocket carries to the browser, headers included.
COUNT_IOPUB = """\
import time
import claude_magic
from claude_magic.view.markdown import markdown_of
%load_ext claude_magic
claude_magic.client()  # imports the SDK: the first cell would, and its CPU time is not the streaming's
%config ClaudeMagics.update_interval = {interval}
_kernel = get_ipython().kernel
_serialize = _kernel.session.serialize
_sent = {{"bytes": 0, "updates": 0, "messages": 0, "last": 0.0}}

def _counting(message, ident=None):
    frames = _serialize(message, ident)
    kind = message["header"]["msg_type"]
    if not kind.endswith("_reply"):
        _sent["bytes"] += sum(len(frame) for frame in frames)
        if kind in ("update_display_data", "comm_msg"):
            # One update may change two outputs (a segment sealed, the tail moved on): messages sent
            # together, where updates are at least an interval apart.
            now = time.monotonic()
            _sent["updates"] += now - _sent["last"] > {interval} / 2
            _sent["messages"] += 1
            _sent["last"] = now
    return frames

_kernel.session.serialize = _counting
"""
START_COUNTING = "_sent.update(bytes=0, updates=0, messages=0)\n_cpu = time.process_time()"
REPORT_COUNT = ("print(_sent['bytes'], _sent['updates'], _sent['messages'], time.process_time() - _cpu, "
                "len(markdown_of(last_message).encode()))")
IOPUB_INTERVAL = 0.04
DELTA_CHARS = 24


def iopub_bytes(bench: Bench, sizes: Sizes) -> list[Row]:
    """Bytes a kernel sends on iopub for one streamed answer, against the answer's own bytes.

    In a real kernel run by nbclient (which has no widget manager, so the cell shows a widget as it
    would in JupyterLab, comm messages and all); updates every 40 ms instead of 100, to get over a
    thousand of them in under a minute, some 430 bytes of new text each.
    The saved notebook must hold the whole answer, as static markdown, in the cell's outputs.
    """
    bench.point_at(bench.remote.url)
    rows = []
    for size, seconds, least in sizes.iopub_answers:
        text = markdown_answer(size)
        deltas = -(-len(text) // DELTA_CHARS)
        bench.remote.queue(Reply.sse(sse_stream(text, model=MODEL, chars_per_delta=DELTA_CHARS),
                                     pace=deltas / seconds))
        notebook = nbformat.v4.new_notebook()
        notebook.cells = [nbformat.v4.new_code_cell(source) for source in (
            COUNT_IOPUB.format(interval=IOPUB_INTERVAL), START_COUNTING,
            "%%claude --no-history --max-tokens 128000\nWrite it all.", REPORT_COUNT)]
        started = time.perf_counter()
        NotebookClient(notebook, timeout=900, kernel_name="python3").execute(stderr=subprocess.DEVNULL)
        took = time.perf_counter() - started
        failed = [o for cell in notebook.cells for o in cell.outputs if o.output_type == "error"]
        if failed:
            raise RuntimeError(f"a notebook cell failed: {failed[0].ename}: {failed[0].evalue}")
        sent, updates, messages, cpu, answer = notebook.cells[3].outputs[0].text.split()
        sent, updates, messages, cpu, answer = int(sent), int(updates), int(messages), float(cpu), int(answer)
        kept = "".join(o.data.get("text/markdown", "") for o in notebook.cells[2].outputs
                       if o.output_type == "display_data")
        whole = kept.startswith(text) and f"{LAST}\n\n<sub>" in kept
        rows.append(Row(
            f"iopub bytes / answer bytes, {size / 1000:,.0f} kB answer",
            f"{sent / answer:.2f}× ({sent / 1e6:,.2f} MB for {answer / 1e3:,.0f} kB; {updates:,} updates in "
            f"{messages:,} messages, "
            f"kernel CPU {cpu * 1000 / max(updates, 1):.1f} ms per update, {cpu:.1f} s in all; "
            f"run {took:.0f} s; saved notebook {'holds the whole answer' if whole else 'LOST PART OF IT'})",
            f"≤ 6×, ≥ {least:,} updates", sent / answer <= 6 and updates >= least and whole, wrong=not whole,
        ))
    return rows


def map_throughput(bench: Bench, sizes: Sizes) -> list[Row]:
    """`--map` (map_concurrency "auto") against a rate-limited server: items a second over the limit's."""
    bench.point_at(bench.remote.url)
    bench.magics.display = "display"
    rows = []
    (rpm_items, rpm_seconds), (otpm_items, otpm_seconds) = sizes.map_cases
    for metric, limits, items, seconds, tokens, allowed in (
        (f"--map at {MAP_RPM} RPM, {rpm_seconds:g} s answers, {rpm_items} items", {"requests": MAP_RPM},
         rpm_items, rpm_seconds, 20, MAP_RPM / 60),
        (f"--map at {MAP_OTPM:,} output tokens/min, {MAP_ANSWER_TOKENS}-token answers, {otpm_items} items",
         {"output_tokens": MAP_OTPM}, otpm_items, otpm_seconds, MAP_ANSWER_TOKENS,
         MAP_OTPM / 60 / MAP_ANSWER_TOKENS),
    ):
        bench.remote.bodies()  # forget earlier requests: what follows counts this map's
        bench.remote.limits(limits)
        bench.remote.queue(*(Reply.stall(after=0, seconds=seconds, text=words(tokens)) for _ in range(items)))
        bench.shell.user_ns["items"] = list(range(items))
        try:
            with capture_output(), timing() as took:
                result = bench.shell.run_cell("%%claude --map items --out mapped --max-tokens 1024\nSay {item}.")
        finally:
            bench.remote.limits({})
        sent = len(bench.remote.bodies())
        answered = sum(isinstance(answer, str) for answer in bench.shell.user_ns.get("mapped", []))
        rate = items / took.wall
        ratio, refused = rate / allowed, sent - answered
        ok = ratio >= (0.9 if "RPM" in metric else 0.85) and refused <= 0.05 * sent and answered == items
        rows.append(Row(
            metric, f"{ratio:.2f} of the limit ({rate:.2f} items/s of {allowed:g}, {took.wall:.1f} s); "
            f"{refused} × 429 of {sent} requests; {answered}/{items} answered",
            "≥ 0.90, 429s ≤ 5 %, all answered" if "RPM" in metric else "≥ 0.85, all answered", ok,
            wrong=result.error_in_exec is not None or answered != items))
    return rows


def responsiveness() -> list[Row]:
    """page.py's figures in each display mode, each judged."""
    rows = []
    for mode in wire.MODES:
        figures = page.measure(mode=mode)
        rows += [
            Row(f"JupyterLab, 300 kB answer streaming: longest main-thread task, {mode}",
                f"{figures['worst'] * 1000:.0f} ms ({figures['tasks']} tasks over 50 ms; the final render "
                f"{figures['final'] * 1000:.0f} ms; stream {figures['stream']:.1f} s, main thread busy "
                f"{figures['busy']:.1f} s of it; load average {figures['load']:.1f}"
                f"{'; the server dropped iopub messages' if figures['dropped'] else ''})",
                "≤ 200 ms", figures["worst"] <= 0.2),
            Row(f"JupyterLab, 300 kB answer streaming: total blocking time, {mode}",
                f"{figures['blocking']:.2f} s over a {figures['stream']:.1f} s stream", "< 2 s",
                figures["blocking"] < 2),
            Row(f"JupyterLab, 300 kB answer: last sentence on screen after the cell ended, {mode}",
                f"{figures['last_after_end']:+.2f} s", "≤ 2 s", figures["last_after_end"] <= 2),
        ]
    return rows


def wire_bytes(sizes: Sizes) -> list[Row]:
    """wire.py's figures: "widget" is the before (no target), "extension" the stream renderer (≤ 2.5×)."""
    rows = []
    for size, seconds, _ in sizes.iopub_answers:
        for mode in wire.MODES:
            figures = wire.measure(size, mode, seconds)
            answer = figures["answer"]
            ratio = (figures["received"] + figures["sent"]) / answer
            whole, static = figures["saved_whole"], figures["saved_static"]
            judged = mode != "widget"
            rows.append(Row(
                f"JupyterLab, iopub bytes / answer bytes, {size / 1000:,.0f} kB, {mode}",
                f"{ratio:.2f}× (all channels: received {figures['received'] / 1e6:,.2f} MB, sent "
                f"{figures['sent'] / 1e3:,.1f} kB, for {answer / 1e3:,.0f} kB; iopub alone "
                f"{figures['iopub'] / answer:.2f}×; {figures['comm_msg']:,} comm_msg and "
                f"{figures['update_display_data']:,} update_display_data of {figures['messages']:,} "
                f"messages; "
                f"longest task {figures['worst'] * 1000:.0f} ms, blocking {figures['blocking']:.2f} s over a "
                f"{figures['stream']:.1f} s stream; saved notebook "
                f"{'holds the whole answer' if whole else 'LOST PART OF IT'}"
                f"{'' if static else ' beside ' + ', '.join(figures['saved_types'])}; "
                f"{len(figures['errors'])} errors in the page's console; "
                f"load average {figures['load']:.1f})",
                "≤ 2.5×, saved whole and static" if judged else "(no target)",
                ratio <= 2.5 and whole and static if judged else None,
                wrong=not whole,
            ))
    return rows


def run_notebook(remote: RemoteSimulator, cell: str, count: int) -> list[float]:
    """Seconds each question cell took to execute, as nbclient records it."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(SETUP)] + [
        nbformat.v4.new_code_cell(cell.format(number=number, model=MODEL)) for number in range(count)
    ]
    remote.queue(*[Reply.text(words(NOTEBOOK_ANSWER_WORDS))] * count)
    # The kernel's stderr holds only its warning about unencrypted TCP; what cells print comes by iopub.
    NotebookClient(notebook, timeout=600, kernel_name="python3", record_timing=True).execute(
        stderr=subprocess.DEVNULL
    )
    for output in (output for question in notebook.cells for output in question.outputs):
        if output.output_type == "error":
            raise RuntimeError(f"a notebook cell failed: {output.ename}: {output.evalue}")
    return [_duration(question.metadata.execution) for question in notebook.cells[1:]]


def _duration(execution: dict[str, str]) -> float:
    started = datetime.fromisoformat(execution["iopub.execute_input"].replace("Z", "+00:00"))
    ended = datetime.fromisoformat(execution["shell.execute_reply"].replace("Z", "+00:00"))
    return (ended - started).total_seconds()


@contextlib.contextmanager
def api_environment(url: str) -> Iterator[None]:
    """The environment under which the magic, its kernels and the bare SDK all reach the simulator."""
    names = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL")
    saved = {name: os.environ.pop(name, None) for name in names}
    os.environ.update(ANTHROPIC_API_KEY="benchmark-no-key", ANTHROPIC_BASE_URL=url)
    try:
        yield
    finally:
        for name, value in saved.items():
            os.environ.pop(name, None)
            if value is not None:
                os.environ[name] = value


def table(rows: list[Row]) -> str:
    cells = [("metric", "measured", "target", "ok?")] + [
        (row.metric, row.measured, row.target, {True: "yes", False: "NO", None: "–"}[row.ok]) for row in rows
    ]
    widths = [max(len(line[column]) for line in cells) for column in range(4)]
    lines = [" | ".join(value.ljust(width) for value, width in zip(line, widths)).rstrip() for line in cells]
    lines.insert(1, "-+-".join("-" * width for width in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, to prove it works")
    parser.add_argument("--browser", action="store_true", help="also measure JupyterLab (wire.py, page.py)")
    arguments = parser.parse_args(argv)
    sizes = QUICK if arguments.quick else FULL
    rows: list[Row] = []
    with RemoteSimulator() as remote, api_environment(remote.url):
        bench = Bench(remote)
        for name, measure in (
            ("streaming overhead", lambda: streaming_overhead(bench, sizes)),
            ("display update rates", lambda: update_rates(bench, sizes)),
            ("first-update latency", lambda: first_update_latency(bench, sizes)),
            ("history growth", lambda: history_growth(bench, sizes)),
            ("%load_ext time", lambda: load_time(sizes)),
            ("nbclient notebooks", lambda: notebooks(bench, sizes)),
            ("iopub bytes", lambda: iopub_bytes(bench, sizes)),
            ("--map at the rate limit", lambda: map_throughput(bench, sizes)),
            *([("JupyterLab wire bytes", lambda: wire_bytes(sizes)),
               ("JupyterLab responsiveness", responsiveness)] if arguments.browser else []),
        ):
            started = time.perf_counter()
            rows.extend(measure())
            print(f"… {name}: {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
    print(table(rows))
    judged = [row for row in rows if row.ok is not None]
    missed = [row.metric for row in judged if not row.ok]
    print(f"summary: {len(judged) - len(missed)}/{len(judged)} targets met"
          + (f"; missed: {'; '.join(missed)}" if missed else ""))
    return 1 if any(row.wrong for row in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
