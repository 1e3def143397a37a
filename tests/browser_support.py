"""A real Jupyter server, a headless Chromium and a notebook open in it, for the browser tests."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import pytest
from playwright.sync_api import Browser, Page, Playwright, expect, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TOKEN = "claude-magic-browser-tests"
SERVER_START = 90.0
KERNEL_START = 90.0
FINISHED = re.compile(r"\[\d+\]")  # the input prompt of a cell that has run: "[*]" while it runs
# JupyterLab asks "get notified about official Jupyter news?" in a toast over the notebook.
USER_SETTINGS = {"@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false"}}


def launch_chromium(playwright: Playwright) -> Browser:
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing: `apt-get install -y chromium` to run the browser tests"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI must run them, not skip them", pytrace=False)
        pytest.skip(reason)
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)


@dataclass(frozen=True)
class Frontend:
    name: str
    module: str
    notebook_path: str


FRONTENDS = [Frontend("jupyterlab", "jupyterlab", "/lab/tree/"), Frontend("notebook7", "notebook", "/notebooks/")]


def poll(read: Callable[[], Any], done: Callable[[Any], bool], timeout: float, what: str) -> Any:
    """`read()` every 0.2 s until `done` accepts its value; fails with the last value after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting for {what} after {timeout:.0f} s; last seen: {value!r}")
        time.sleep(0.2)


class JupyterServer:
    """`jupyter lab` or `jupyter notebook` serving `home/root`, with every Jupyter directory under `home`.

    The environment has no Anthropic credentials, so kernels answer from the offline simulator.
    """

    def __init__(self, frontend: Frontend, home: Path):
        self.frontend = frontend
        self.home = home
        self.root = home / "root"
        self.root.mkdir(exist_ok=True)
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = home / "server.log"
        self._process: subprocess.Popen | None = None

    def __enter__(self):
        env = {name: value for name, value in os.environ.items() if not name.startswith("ANTHROPIC_")}
        for name, folder in (("JUPYTER_CONFIG_DIR", "config"), ("JUPYTER_RUNTIME_DIR", "runtime"),
                             ("JUPYTERLAB_SETTINGS_DIR", "settings"), ("JUPYTERLAB_WORKSPACES_DIR", "workspaces"),
                             ("IPYTHONDIR", "ipython")):
            env[name] = str(self.home / folder)
        for name, settings in USER_SETTINGS.items():
            path = self.home / "settings" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(settings))
        command = [sys.executable, "-m", self.frontend.module, "--no-browser", "--allow-root",
                   "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
                   f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={self.root}"]
        with self.log.open("wb") as log:
            self._process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            poll(self._status, lambda status: status is not None, SERVER_START, f"{self.url}/api/status")
        except AssertionError:
            self.__exit__()
            raise AssertionError(f"{self.frontend.module} did not start:\n{self.log.read_text()[-3000:]}") from None
        return self

    def __exit__(self, *exc_info: object) -> None:
        try:
            self.api("POST", "/api/shutdown")
            self._process.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            self._process.kill()
            self._process.wait()

    def page_url(self, name: str) -> str:
        return f"{self.url}{self.frontend.notebook_path}{name}?token={TOKEN}"

    def api(self, method: str, path: str) -> Any:
        request = urllib.request.Request(f"{self.url}{path}", method=method,
                                         headers={"Authorization": f"token {TOKEN}"})
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def wait_for_kernel(self) -> None:
        """Until an opened notebook's kernel has started and the page is connected to it.

        Before that, a cell run from the page can be lost, and a server shut down while a kernel is
        starting can hang on exit.
        """
        poll(self._kernels, lambda kernels: any(kernel["execution_state"] == "idle" and kernel["connections"]
                                                for kernel in kernels), KERNEL_START, "a connected, idle kernel")

    def _kernels(self) -> list[dict[str, Any]]:
        try:
            return self.api("GET", "/api/kernels")
        except OSError:  # a 500 while a kernel is going away
            return []

    def shut_down_kernels(self) -> None:
        for session in self.api("GET", "/api/sessions"):
            self.api("DELETE", f"/api/sessions/{session['id']}")

    def _status(self) -> Any:
        if self._process.poll() is not None:
            raise AssertionError(f"{self.frontend.module} exited:\n{self.log.read_text()[-3000:]}")
        try:
            return self.api("GET", "/api/status")
        except OSError:
            return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class NotebookPage:
    """A notebook open in a browser tab. JupyterLab and Notebook 7 draw it with the same widgets, so the
    same selectors and keys (click into a cell, Ctrl+Enter runs it in place, Ctrl+S saves) drive both."""

    def __init__(self, browser: Browser, server: JupyterServer, name: str, cells: int):
        self.browser = browser
        self.server = server
        self.name = name
        self.file = server.root / name
        self.count = cells
        self.page = self._open()

    def _open(self) -> Page:
        page = self.browser.new_page(viewport={"width": 1280, "height": 1000})
        page.goto(self.server.page_url(self.name))
        expect(page.locator(".jp-Notebook .jp-Cell")).to_have_count(self.count, timeout=60_000)
        self.server.wait_for_kernel()
        return page

    @property
    def cells(self):
        return self.page.locator(".jp-Notebook .jp-Cell")

    def output(self, index: int):
        """The cell's output area (an Output widget nests another `.jp-OutputArea` inside it)."""
        return self.cells.nth(index).locator(".jp-Cell-outputArea")

    def start(self, index: int) -> None:
        """Run a cell and return as soon as the kernel has taken it."""
        prompt = self.cells.nth(index).locator(".jp-InputPrompt")
        before = prompt.inner_text()
        self.cells.nth(index).locator(".jp-InputArea-editor").click()
        self.page.keyboard.press("Control+Enter")
        expect(prompt).not_to_have_text(before, timeout=10_000)

    def run(self, index: int) -> None:
        self.start(index)
        self.wait(index)

    def wait(self, index: int) -> None:
        """Until the cell has finished running."""
        expect(self.cells.nth(index).locator(".jp-InputPrompt")).to_have_text(FINISHED, timeout=60_000)

    def watch(self, index: int, until: str, timeout: float = 60.0) -> list[str]:
        """Every distinct text the cell's output shows, polled every 0.1 s until it contains `until`."""
        output = self.output(index)
        states = [""]
        deadline = time.monotonic() + timeout
        while until not in states[-1]:
            if time.monotonic() > deadline:
                raise AssertionError(f"no {until!r} after {timeout:.0f} s; the output shows: {states[-1]!r}")
            text = output.inner_text()
            if text != states[-1]:
                states.append(text)
            self.page.wait_for_timeout(100)
        return states[1:]

    def save(self) -> None:
        self.page.keyboard.press("Control+s")

    def reopen(self) -> None:
        """Close the tab and open the notebook again in a new one."""
        self.page.close()
        self.page = self._open()

    def close(self) -> None:
        self.page.close()


@contextmanager
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()


@contextmanager
def open_notebook(browser: Browser, frontend: Frontend, home: Path, name: str, cells: Sequence[str],
                  files: Mapping[str, str] = {}) -> Iterator[NotebookPage]:
    """A server for `frontend` in `home` holding notebook `name` (these code `cells`) and `files`, open in a tab."""
    with JupyterServer(frontend, home) as server:
        kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
        notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in cells],
                                            metadata={"kernelspec": kernelspec})
        nbformat.write(notebook, server.root / name)
        for file, text in files.items():
            (server.root / file).write_text(text)
        page = NotebookPage(browser, server, name, len(cells))
        yield page
        page.close()
        server.shut_down_kernels()
