"""The package's simulator in a child process, and in front of it a proxy that paces and times answers.

In a child process because a real API is remote: served from a thread of the benchmark's own process,
the simulator's work (some 0.4 s of JSON for a 20 000-delta answer) would take the benchmark's GIL and
be counted in every measured time alike, diluting the magic's share of it.

The simulator always streams at full speed. Rates are the proxy's doing: the simulator's own pace is a
sleep after each delta, and as a sleep costs 0.1-0.3 ms at the least, it cannot reach a few thousand
deltas per second. The proxy sends each delta when it is due (deadline `k / rate` after the first),
everything due at once in one write, so the rate holds on average at any speed. Replies sent through it
must be `through_proxy(reply)`: their body is then delimited by the connection closing rather than
chunked, so the proxy can cut it into events without re-framing it; the SDK reads both alike.

For each answer the proxy notes, on `time.monotonic()` (CLOCK_MONOTONIC: one clock for every process
of the machine), when it handed the client's socket the first `content_block_delta` and the
`message_stop` (the last event): when they arrive, to within one `sendall` on the loopback.
"""

from __future__ import annotations

import contextlib
import dataclasses
import multiprocessing
import socket
import threading
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from typing_extensions import Self

    from claude_magic.simulator import Reply

_DELTA = b"event: content_block_delta"


def through_proxy(reply: Reply) -> Reply:
    return dataclasses.replace(reply, framing="close")


class RemoteSimulator:
    """Drives the child process: `url` is the simulator itself, `proxy_url` the proxy in front of it."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._pipe, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(child,), daemon=True, name="benchmark-simulator")
        self._process.start()
        self.url, self.proxy_url = self._pipe.recv()

    def queue(self, *replies: Reply) -> None:
        self._call("queue", replies)

    def limits(self, limits: dict[str, Any]) -> None:
        """Rate limits the simulator enforces from now on (see simulator/ratelimits.py); {} for none."""
        self._call("limits", limits)

    def pace(self, rate: float) -> None:
        """Deltas per second the proxy lets through from now on; 0 for as they come."""
        self._call("pace", rate)

    def bodies(self) -> list[Any]:
        """The bodies of the POST /v1/messages the simulator got since the last call, in order."""
        return self._call("bodies", None)

    def passages(self) -> list[tuple[float, float]]:
        """(first delta, message_stop) times of each answer proxied since the last call, in order."""
        return self._call("passages", None)

    def close(self) -> None:
        self._call("stop", None)
        self._process.join(timeout=10)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _call(self, command: str, argument: Any) -> Any:
        self._pipe.send((command, argument))
        return self._pipe.recv()


def _serve(pipe: Any) -> None:
    from claude_magic.simulator import Simulator

    with Simulator(pace=0) as simulator:
        proxy = _Proxy(simulator.url)
        pipe.send((simulator.url, proxy.url))
        while True:
            command, argument = pipe.recv()
            if command == "queue":
                simulator.queue(*argument)
            elif command == "pace":
                proxy.rate = argument
            elif command == "limits":
                simulator.rate_limits = argument
            elif command == "passages":
                pipe.send(proxy.take())
                continue
            elif command == "bodies":
                requests = [r["body"] for r in simulator.requests if r["path"] == "/v1/messages"]
                simulator.requests.clear()
                pipe.send(requests)
                continue
            pipe.send(None)
            if command == "stop":
                return


class _Proxy:
    def __init__(self, target: str) -> None:
        host, port = target.removeprefix("http://").rsplit(":", 1)
        self._target = (host, int(port))
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self.rate = 0.0
        self._passages: list[tuple[float, float]] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def take(self) -> list[tuple[float, float]]:
        with self._lock:
            taken, self._passages = self._passages, []
        return taken

    def _accept(self) -> None:
        while True:
            client, _ = self._listener.accept()
            server = socket.create_connection(self._target)
            for sock in (client, server):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            threading.Thread(target=self._requests, args=(client, server), daemon=True).start()
            threading.Thread(target=self._replies, args=(server, client), daemon=True).start()

    def _requests(self, client: socket.socket, server: socket.socket) -> None:
        with _hanging_up(client, server):
            while data := client.recv(1 << 16):
                server.sendall(data)

    def _replies(self, server: socket.socket, client: socket.socket) -> None:
        with _hanging_up(server, client):
            received = _Received(server)
            while True:
                head = received.head()
                if b"transfer-encoding: chunked" in head.lower():
                    # Hanging up makes the benchmark fail loudly; the cure is through_proxy(reply).
                    raise ConnectionAbortedError("a chunked reply cannot be paced")
                client.sendall(head)
                if b"text/event-stream" in head.lower():
                    self._pace(received.events(), client)
                    return
                client.sendall(received.take(_content_length(head)))

    def _pace(self, events: Iterator[bytes], client: socket.socket) -> None:
        """Send the events on, each delta when due; what is due goes out together, before any wait."""
        rate, first, count, batch = self.rate, None, 0, bytearray()
        for event in events:
            if event.startswith(_DELTA):
                due = first + count / rate if first is not None and rate else 0.0
                if due > time.monotonic():
                    if batch:
                        client.sendall(batch)
                        batch.clear()
                    time.sleep(max(0.0, due - time.monotonic()))
                count += 1
            batch += event
            if first is None and event.startswith(_DELTA):
                client.sendall(batch)
                batch.clear()
                first = time.monotonic()
        client.sendall(batch)
        if first is not None:
            with self._lock:
                self._passages.append((first, time.monotonic()))


class _Received:
    """The bytes of the simulator's responses on one connection, read as they are needed."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buffer = b""

    def head(self) -> bytes:
        while b"\r\n\r\n" not in self._buffer:
            if not self._read():
                raise ConnectionResetError("the simulator hung up")
        head, self._buffer = self._buffer.split(b"\r\n\r\n", 1)
        return head + b"\r\n\r\n"

    def take(self, size: int) -> bytes:
        while len(self._buffer) < size:
            if not self._read():
                raise ConnectionResetError("the simulator hung up")
        taken, self._buffer = self._buffer[:size], self._buffer[size:]
        return taken

    def events(self) -> Iterator[bytes]:
        """Server-sent events, each with its blank line, until the simulator closes the connection."""
        while True:
            start = 0
            while (end := self._buffer.find(b"\n\n", start)) >= 0:
                yield self._buffer[start : end + 2]
                start = end + 2
            self._buffer = self._buffer[start:]
            if not self._read():
                if self._buffer:
                    yield self._buffer
                return

    def _read(self) -> bool:
        data = self._sock.recv(1 << 16)
        self._buffer += data
        return bool(data)


def _content_length(head: bytes) -> int:
    for line in head.lower().split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name == b"content-length":
            return int(value)
    return 0


@contextlib.contextmanager
def _hanging_up(*socks: socket.socket) -> Iterator[None]:
    """On the way out, hang up both sides, so that the other direction's thread ends too."""
    try:
        yield
    except OSError:
        pass
    finally:
        for sock in socks:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
