"""Which server answers: the real API when the SDK can find credentials, else the offline simulator."""

from __future__ import annotations

import atexit
import hashlib
import os
import sys
from typing import Any

from .failures import Stopped

BACKENDS = ("auto", "api", "simulator")
_CREDENTIALS = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN")

SIMULATOR_NOTICE = (
    "**Offline:** answering from claude_magic's built-in simulator, because no `ANTHROPIC_API_KEY` is set. "
    "For real answers set one — `%env ANTHROPIC_API_KEY=sk-ant-…` in a cell, or in your shell before "
    "starting Jupyter — and run the cell again."
)


def load_sdk() -> None:
    """Import the SDK so that a Stop in the middle (its first import takes a second) leaves no half of it.

    An interrupted import keeps the submodules that had finished in `sys.modules`, and a later import
    then finds a package without them (`module 'anthropic' has no attribute 'lib'`) until the kernel
    restarts; so everything the interrupted import added is taken out again.
    """
    before = set(sys.modules)
    try:
        import anthropic  # noqa: F401
    except KeyboardInterrupt:
        for name in set(sys.modules) - before:
            del sys.modules[name]
        raise Stopped("stopped while loading the Anthropic SDK; nothing was sent. Run the cell again.") from None


def has_credentials() -> bool:
    return any(os.environ.get(name) for name in _CREDENTIALS)


class Connection:
    """Builds the SDK client once per backend and environment, and rebuilds it when either changes.

    The credentials stay with the SDK, which reads them from the environment itself; only a hash of
    them is kept here, to notice that they changed.
    """

    def __init__(self) -> None:
        self._client: Any = None
        self._signature: tuple | None = None
        self._simulator: Any = None
        self.simulator_announced = False

    def resolve(self, backend: str) -> str:
        if backend == "auto":
            return "api" if has_credentials() else "simulator"
        return backend

    def client(self, backend: str, timeout: float) -> Any:
        load_sdk()
        backend = self.resolve(backend)
        secret = "".join(os.environ.get(name, "") for name in _CREDENTIALS)
        signature = (
            backend,
            hashlib.sha256(secret.encode()).hexdigest(),
            os.environ.get("ANTHROPIC_BASE_URL"),
            timeout,
        )
        if signature != self._signature:
            self._client = self._build(backend, timeout)
            self._signature = signature
        return self._client

    @property
    def simulator(self) -> Any:
        """The process's own simulator, started on first use."""
        if self._simulator is None:
            from .simulator import Simulator

            self._simulator = Simulator().start()
            atexit.register(self._simulator.stop)
        return self._simulator

    def sdk_options(self, backend: str) -> dict[str, Any]:
        """What an SDK client needs to reach the backend; for the API, nothing: the SDK reads the env."""
        if self.resolve(backend) == "simulator":
            return {"api_key": "offline-simulator", "base_url": self.simulator.url}
        return {}

    def _build(self, backend: str, timeout: float) -> Any:
        import anthropic

        # Retries are the magic's own (visible, capped): see retry.py.
        timeout = anthropic.Timeout(timeout, connect=min(timeout, 10.0))
        return anthropic.Anthropic(max_retries=0, timeout=timeout, **self.sdk_options(backend))

    def close(self) -> None:
        if self._simulator is not None:
            self._simulator.stop()
            self._simulator = None
        self._client = self._signature = None
