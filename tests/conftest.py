"""A real IPython shell with the extension loaded, answering from the package's own simulator."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

ANSI = re.compile(r"\x1b\[[0-9;]*m")
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "sse"


class FakeClock:
    """Time that moves only when read, by `step` seconds each time: tests drive it, nobody waits."""

    def __init__(self, step: float = 0.0):
        self.now = 1000.0
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


class Notebook:
    """Runs cells in a real InteractiveShell and keeps what a user would have seen."""

    def __init__(self, shell: InteractiveShell):
        self.shell = shell
        self.magics = shell.magics_manager.registry["ClaudeMagics"]
        self.session = self.magics.session
        self.sim = self.session.connection.simulator
        self.sleeps: list[float] = []
        self.session.sleep = self.sleeps.append
        self.session.random = lambda: 0.5
        self.magics.simulator_pace = 0
        self.magics.display = "display"
        self.magics.cache = False  # most tests compare plain request bodies; test_caching.py turns it on
        self.cell_ids = itertools.count()

    def run(self, source: str, cell_id: str | None = None):
        """Run one cell; returns (result, captured) — captured.outputs holds displays and updates."""
        self.shell.parent_header = {"metadata": {"cellId": cell_id}} if cell_id else {}
        with capture_output() as captured:
            result = self.shell.run_cell(source)
        return result, captured

    @property
    def ns(self):
        return self.shell.user_ns

    @property
    def requests(self):
        return [r for r in self.sim.requests if r["path"] == "/v1/messages"]


def final_markdown(captured) -> str:
    """What the cell's answer output shows at the end: the last bundle drawn into its display."""
    return captured.outputs[-1].data["text/markdown"]


def error_text(captured) -> str:
    return ANSI.sub("", captured.stdout + captured.stderr)


@pytest.fixture(scope="module")
def browser():
    """A headless Chromium for a module of browser tests (imported here only when one asks for it).

    Per module, not per session: Playwright's sync API keeps an event loop running while it is open,
    and the tests after it need `asyncio.run`.
    """
    from browser_support import chromium

    with chromium() as browser:
        yield browser


@pytest.fixture(scope="session")
def shell():
    return InteractiveShell.instance()


@pytest.fixture
def nb(shell, monkeypatch):
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    shell.run_line_magic("load_ext", "claude_magic")
    notebook = Notebook(shell)
    notebook.sim.clear()
    notebook.session.connection.simulator_announced = True
    yield notebook
    shell.run_line_magic("unload_ext", "claude_magic")
    shell.config.pop("ClaudeMagics", None)  # %config in one test must not leak into the next
    for name in ("last_message", "last_exchange", "last_map"):
        shell.user_ns.pop(name, None)
