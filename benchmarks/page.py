"""How responsive JupyterLab stays while a long answer streams: `run.py --browser` (or `page.py`, raw figures).

A real JupyterLab 4 in headless Chromium (the browser tests' own server and page, tests/browser_support.py)
opens a notebook whose kernel answers from the offline simulator: a ~300 kB markdown answer
(long_answer.py) at 500 deltas of ~24 characters a second, some 25 s. In the page, a `PerformanceObserver`
records every main-thread task over 50 ms (`longtask`), and a `MutationObserver` when the answer's last
sentence, and then the footer, first appear in the cell's output; the cell's prompt turning from `[*]` to
`[n]` is when the cell ended. Tasks that end before the footer appears are the stream's; the footer comes
with the one final render, allowed to take longer. Total blocking time is the sum of each task's time
over 50 ms. Also reported: the seconds the page's main thread was busy in all (Chrome's TaskDuration),
and the machine's load average, since other work on the machine stretches every task. The answer shows in
either display mode: "widget" (a kernel's default without the notebook extension, and before it) or
"extension" (the extension's stream renderer, which "auto" picks where the page has it). `lab` and
`stream` are the pieces wire.py shares: the page opened on that notebook, and the answering cell run
and watched.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import nbformat

TESTS = Path(__file__).resolve().parents[1] / "tests"
ANSWER_BYTES = 300_000
DELTA_CHARS = 24
PACE = 500  # deltas per second
MODEL = "claude-sonnet-5-5"
NOTEBOOK = "long.ipynb"

WATCH = """([last, index]) => {
  const bench = window.__bench = {tasks: [], started: performance.now(), last: null, footer: null, ended: null};
  new PerformanceObserver((list) => {
    for (const task of list.getEntries()) bench.tasks.push([task.startTime, task.duration]);
  }).observe({type: "longtask"});
  const cell = document.querySelectorAll(".jp-Notebook .jp-Cell")[index];
  const output = cell.querySelector(".jp-Cell-outputArea");
  const prompt = cell.querySelector(".jp-InputPrompt");
  // Only what each mutation added: reading the whole output each time costs in proportion to the answer,
  // and made a quarter of the long tasks this measures.
  const look = (node) => {
    const now = performance.now();
    if (bench.last === null && (node.nodeType === 3 ? node.data : node.textContent || "").includes(last)) bench.last = now;
    if (bench.footer === null && node.nodeType === 1 && (node.nodeName === "SUB" || node.querySelector("sub"))) bench.footer = now;
  };
  const seen = new MutationObserver((records) => {
    for (const record of records) {
      if (record.type === "characterData") look(record.target);
      for (const node of record.addedNodes) look(node);
    }
    if (bench.footer !== null && bench.last !== null) seen.disconnect();
  });
  seen.observe(output, {childList: true, subtree: true, characterData: true});
  const ended = setInterval(() => {
    if (/\\[\\d+\\]/.test(prompt.textContent)) { bench.ended = performance.now(); clearInterval(ended); }
  }, 20);
}"""


def measure(size: int = ANSWER_BYTES, mode: str = "widget") -> dict[str, Any]:
    """One streamed answer of `size` bytes in JupyterLab, shown in display `mode`: the page's figures."""
    from long_answer import markdown_answer

    with lab(markdown_answer(size), pace=PACE, config={"display": f'"{mode}"'}) as notebook:
        watched = stream(notebook)
        dropped = "IOPub data rate exceeded" in notebook.server.log.read_text()
    return {**watched, "dropped": dropped, "load": os.getloadavg()[0]}


@contextmanager
def lab(text: str, *, pace: float, config: dict[str, str], cells: Sequence[str] = (),
        listen: Callable[[Any], None] | None = None) -> Iterator[Any]:
    """JupyterLab in headless Chromium, open on a notebook whose kernel answers `text` at `pace` deltas/s.

    The notebook's first cell (already run) loads the magic, sets `config` (ClaudeMagics traits, values as
    Python source) and queues the answer; its second asks for it (`stream` runs it); then `cells`.
    `listen(page)` gets the Playwright page before it loads anything, to hear its events from the first.
    """
    sys.path.insert(0, str(TESTS))
    from browser_support import FRONTENDS, JupyterServer, NotebookPage, launch_chromium
    from long_answer import sse_stream
    from playwright.sync_api import sync_playwright

    setup = ["%load_ext claude_magic", "import claude_magic", "from claude_magic.simulator import Reply",
             *(f"%config ClaudeMagics.{name} = {value}" for name, value in config.items()),
             f"claude_magic.offline_simulator().queue(Reply.sse('answer.sse', pace={pace}))"]
    sources = ["\n".join(setup), "%%claude --max-tokens 128000\nWrite it all.", *cells]
    frontend = next(frontend for frontend in FRONTENDS if frontend.name == "jupyterlab")
    with tempfile.TemporaryDirectory() as home, sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        with JupyterServer(frontend, Path(home)) as server:
            stream_file = sse_stream(text, model=MODEL, chars_per_delta=DELTA_CHARS)
            (server.root / "answer.sse").write_bytes(stream_file)
            kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
            nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in sources],
                                                    metadata={"kernelspec": kernelspec}),
                           server.root / NOTEBOOK)
            notebook = NotebookPage(_Listening(browser, listen) if listen else browser, server, NOTEBOOK,
                                    len(sources))
            try:
                notebook.run(0)
                yield notebook
            finally:
                notebook.close()
                server.shut_down_kernels()
        browser.close()


class _Listening:
    """A browser whose new pages go to `listen` before they load anything: a `NotebookPage` opens the
    notebook, and the kernel's websocket with it, as it opens its page."""

    def __init__(self, browser: Any, listen: Callable[[Any], None]):
        self._browser = browser
        self._listen = listen

    def new_page(self, **options: Any) -> Any:
        page = self._browser.new_page(**options)
        self._listen(page)
        return page


def stream(notebook: Any, timeout: float = 300) -> dict[str, Any]:
    """Run the answering cell (the second) and watch the page until it has ended; its figures, in seconds."""
    from browser_support import poll
    from long_answer import LAST_SENTENCE

    notebook.page.evaluate(WATCH, [LAST_SENTENCE, 1])
    chrome = notebook.page.context.new_cdp_session(notebook.page)
    chrome.send("Performance.enable")
    busy = _task_seconds(chrome)
    notebook.start(1)
    bench = poll(lambda: notebook.page.evaluate("window.__bench"),
                 lambda bench: bench["ended"] is not None and bench["footer"] is not None, timeout,
                 "the long answer's cell to end")
    busy = _task_seconds(chrome) - busy
    streaming = [(start, took) for start, took in bench["tasks"]
                 if start >= bench["started"] and start + took < bench["footer"]]
    final = [took for start, took in bench["tasks"] if start <= bench["footer"] <= start + took + 1]
    return {
        "tasks": len(streaming),
        "worst": max((took for _, took in streaming), default=0.0) / 1000,
        "blocking": sum(took - 50 for _, took in streaming) / 1000,
        "final": max(final, default=0.0) / 1000,
        "stream": (bench["ended"] - bench["started"]) / 1000,
        "last_after_end": ((bench["last"] or bench["footer"]) - bench["ended"]) / 1000,
        "busy": busy,
    }


def _task_seconds(chrome: Any) -> float:
    """Seconds the page's main thread has spent in tasks so far (Chrome's own count)."""
    metrics = chrome.send("Performance.getMetrics")["metrics"]
    return next(metric["value"] for metric in metrics if metric["name"] == "TaskDuration")


if __name__ == "__main__":  # page.py [bytes [mode]]
    print(measure(*([int(sys.argv[1])] if len(sys.argv) > 1 else []), *sys.argv[2:3]))
