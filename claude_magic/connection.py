"""Which server answers: a client given to `use_client`, a cloud provider's, the real API when the SDK can
find credentials, else the offline simulator."""

from __future__ import annotations

import atexit
import hashlib
import os
import sys
from typing import Any

from . import providers
from .failures import BadInput, Stopped

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
        self.given: tuple[Any, Any] | None = None  # (client, async client) from `use_client`

    def resolve(self, backend: str, provider: str = "anthropic") -> str:
        """Who answers: "client" (use_client's), a cloud provider's name, "api" or "simulator".

        A provider other than Anthropic answers unless the backend is set to the simulator.
        """
        if self.given is not None:
            return "client"
        if backend != "simulator" and provider in providers.CLOUDS:
            return provider
        if backend == "auto":
            return "api" if has_credentials() else "simulator"
        return backend

    def use(self, client: Any, async_client: Any = None) -> None:
        """Send everything through `client` (and `async_client`) from now on; None goes back to the default."""
        if client is None:
            if async_client is not None:
                raise BadInput("use_client(None, …) goes back to the default client: pass no async client.")
            self.given = None
            return
        load_sdk()
        self.given = (providers.as_given(client, False),
                      None if async_client is None else providers.as_given(async_client, True))

    def client(self, backend: str, timeout: float, provider: str = "anthropic") -> Any:
        load_sdk()
        backend = self.resolve(backend, provider)
        if backend == "client":
            return self.given[0]
        secret = "".join(os.environ.get(name, "") for name in _CREDENTIALS)
        signature = (
            backend,
            hashlib.sha256(secret.encode()).hexdigest(),
            os.environ.get("ANTHROPIC_BASE_URL"),
            timeout,
            providers.environment_signature() if backend in providers.CLOUDS else None,
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

    def plain(self, backend: str, provider: str, asynchronous: bool, options: dict[str, Any]) -> Any:
        """A client of the user's own (`claude_magic.client()`), reaching what the cells reach."""
        import anthropic

        load_sdk()
        resolved = self.resolve(backend, provider)
        if resolved == "client":
            given = self.given[1] if asynchronous else self.given[0]
            if given is None:
                raise BadInput("use_client was given no async client: call `use_client(client, async_client)` "
                               "with one (AsyncAnthropic, AsyncAnthropicVertex, …).")
            return given.with_options(**options) if options else given
        if resolved in providers.CLOUDS:
            return providers.build(resolved, asynchronous=asynchronous, **options)
        cls = anthropic.AsyncAnthropic if asynchronous else anthropic.Anthropic
        return cls(**self.sdk_options(backend), **options)

    def _build(self, backend: str, timeout: float) -> Any:
        import anthropic

        # Retries are the magic's own (visible, capped): see retry.py.
        timeout = anthropic.Timeout(timeout, connect=min(timeout, 10.0))
        if backend in providers.CLOUDS:
            return providers.build(backend, max_retries=0, timeout=timeout)
        return anthropic.Anthropic(max_retries=0, timeout=timeout, **self.sdk_options(backend))

    def close(self) -> None:
        if self._simulator is not None:
            self._simulator.stop()
            self._simulator = None
        self._client = self._signature = None
        self.given = None
