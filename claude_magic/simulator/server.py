"""The simulator's HTTP side: a loopback server the unmodified SDK cannot tell from the Messages API."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
import uuid
from collections import deque
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from . import batches, documents, platforms, rules, structured, web
from .answers import MODELS, blocks_of, count_tokens
from .cache import MAX_BREAKPOINTS, PromptCache, breakpoints
from .ratelimits import RateLimits, retry_after
from .replies import STATUS_OF, Answer, Reply, lay_out, sse
from .window import limits, too_long

if TYPE_CHECKING:
    from typing_extensions import Self

# Credentials are never recorded: the request log is for tests and tutorials to show.
_SECRET_HEADERS = ("x-api-key", "authorization", "api-key", "x-amz-security-token")
# Replies that ignore what was asked, so even an invalid request gets them.
_UNCONDITIONAL = ("http_error", "sse")
# Events before the first delta: a fault "after 0 deltas" still lets the stream open like a real one.
_LEAD_IN = ("message_start", "content_block_start", "ping")
# Unpaced, many events share a chunk: far fewer sends here and far less chunk parsing in the client.
_CHUNK = 64 * 1024
# A batch's own paths: /v1/messages/batches/{id}, and .../results or .../cancel.
_BATCH = re.compile(r"/v1/messages/batches/([^/]+)(/results|/cancel)?")


class Simulator:
    """A stand-in for the Anthropic Messages API on 127.0.0.1, served from a background thread.

    Answers are generated from each request unless replies were queued; `requests` records what the client
    sent (without its key). `pace` is in deltas per second, 0 for as fast as the socket allows. Prompt
    caching writes only prefixes of at least `cache_min_tokens`; a message batch ends on its `batch_polls`-th
    retrieval (as set when the batch is created; 0 ends it at once). A prompt longer than `context_window`
    tokens (default: each model's window in the model table) is refused with the API's 400.
    `rate_limits` (off by default) enforces per-model limits per minute as ratelimits.py describes, over
    buckets of `rate_interval` seconds; set the attribute to change them while it runs.
    """

    def __init__(
        self, pace: float = 0.0, *, port: int = 0, cache_min_tokens: int = 1024, batch_polls: int = 2,
        context_window: int | None = None, rate_limits: dict[str, Any] | None = None, rate_interval: float = 1.0,
    ) -> None:
        self.pace = pace
        self._limits = RateLimits(rate_limits, interval=rate_interval)
        self.context_window = context_window
        self.cache_min_tokens = cache_min_tokens
        self.batch_polls = batch_polls
        self.requests: list[dict[str, Any]] = []
        self._port = port
        self._replies: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._cache = PromptCache()
        self._batches = batches.Batches()
        self.files = documents.Files()
        self._server: _Server | None = None

    @property
    def rate_limits(self) -> dict[str, Any]:
        return self._limits.limits

    @rate_limits.setter
    def rate_limits(self, limits: dict[str, Any] | None) -> None:
        if (limits or {}) != self._limits.limits:  # unchanged limits keep their buckets' levels
            self._limits = RateLimits(limits, interval=self._limits.interval, clock=self._limits.clock)

    def start(self) -> Self:
        if self._server is None:
            self._server = _Server(self._port, self)
            threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},  # bounds how long stop() waits for the accept loop
                name="claude-magic-simulator",
                daemon=True,
            ).start()
        return self

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the simulator is not running: call start() first")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.stopping.set()  # wakes paced and stalled replies first, so nothing below waits on them
        server.shutdown()
        server.close_connections()
        server.server_close()

    def queue(self, *replies: Reply) -> None:
        """Answer the next POST /v1/messages requests with `replies`, in order.

        A message batch's requests take them too, when the batch is created.
        """
        with self._lock:
            self._replies.extend(replies)

    def clear(self) -> None:
        """Forget queued replies, recorded requests, cached prompts and batches: a fresh start."""
        with self._lock:
            self._replies.clear()
            self.requests.clear()
        self._cache.clear()
        self._batches.clear()
        self.files.clear()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _record(self, method: str, path: str, headers: dict[str, str], body: Any) -> None:
        kept = {name.lower(): value for name, value in headers.items() if name.lower() not in _SECRET_HEADERS}
        with self._lock:
            self.requests.append({"method": method, "path": path, "headers": kept, "body": body,
                                  "at": time.monotonic()})

    def _take(self, valid: bool) -> Reply:
        """Next queued reply, else the generated answer's; invalid requests take only unconditional ones."""
        with self._lock:
            if self._replies and (valid or self._replies[0].fault in _UNCONDITIONAL):
                return self._replies.popleft()
        return Reply()

    def _lay_out(self, reply: Reply, body: dict[str, Any]) -> Answer:
        """Lay out the answer to a valid request, caching its prompt as its breakpoints ask."""
        return lay_out(reply, documents.resolved(body, self.files), self._cache.usage(body, self.cache_min_tokens))


class _Stopped(Exception):
    """stop() was called while a reply was waiting."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, simulator: Simulator) -> None:
        self.simulator = simulator
        self.stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__(("127.0.0.1", port), _Handler)

    def finish_request(self, request: Any, client_address: Any) -> None:
        with self._connections_lock:
            self._connections.add(request)
        try:
            if not self.stopping.is_set():
                super().finish_request(request, client_address)
        finally:
            with self._connections_lock:
                self._connections.discard(request)

    def close_connections(self) -> None:
        """Hang up on every client: an idle keep-alive connection would otherwise still be served."""
        with self._connections_lock:
            for connection in self._connections:
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Say nothing: in a Jupyter kernel, anything any thread writes to stderr lands in a user's cell."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "claude-magic-simulator"
    sys_version = ""
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Say nothing (see _Server.handle_error)."""

    def handle(self) -> None:
        try:
            super().handle()
        except (OSError, _Stopped):  # the client hung up mid-reply, or stop() cut a waiting reply short
            self.close_connection = True

    def send_response(self, code: int, message: str | None = None) -> None:
        self._replying = True
        super().send_response(code, message)

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        self._replying = False
        self._limit_headers: dict[str, str] = {}
        self._platform: str | None = None  # "vertex" or "bedrock" on their routes
        self._request_id = f"req_sim_{uuid.uuid4().hex[:24]}"
        raw = self._raw = self.rfile.read(int(self.headers.get("content-length") or 0))
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        self.server.simulator._record(self.command, self.path, dict(self.headers.items()), body)
        try:
            self._route(urlsplit(self.path).path, body)
        except (OSError, _Stopped):
            raise
        except Exception as exc:
            if self._replying:  # too late for an error response: the connection is all there is to close
                raise
            self._error(500, "api_error", f"The simulator could not handle this request: {exc!r}")

    def _route(self, path: str, body: Any) -> None:
        batch = _BATCH.fullmatch(path)
        call = platforms.route(self.command, path, body)
        if not any(self.headers.get(name) for name in _SECRET_HEADERS):
            self._error(401, "authentication_error", "x-api-key header is required")
        elif call is not None:
            self._platform = call.platform
            self._platform_call(call)
        elif (self.command, path) == ("POST", "/v1/messages"):
            self._messages(body)
        elif (self.command, path) == ("POST", "/v1/messages/batches"):
            self._create_batch(body)
        elif (self.command, path) == ("GET", "/v1/messages/batches"):
            self._list_batches()
        elif batch and (self.command, batch[2]) in (("GET", None), ("POST", "/cancel"), ("GET", "/results")):
            self._batch(batch[1], batch[2])
        elif (self.command, path) == ("POST", "/v1/files"):
            self._upload()
        elif (self.command, path) == ("POST", "/v1/messages/count_tokens"):
            problem = _problem(body, self._version(), needs_max_tokens=False) or self._content_problem(body)
            if problem:
                self._error(*problem)
            else:
                self._json(200, {"input_tokens": count_tokens(body)})
        elif (self.command, path) == ("GET", "/v1/models"):
            data = [_model(name, self.server.simulator.context_window) for name in MODELS]
            page = {"data": data, "has_more": False, "first_id": data[0]["id"], "last_id": data[-1]["id"]}
            self._json(200, page)
        elif self.command == "GET" and path.startswith("/v1/models/"):
            name = path.removeprefix("/v1/models/")
            if name in MODELS:
                self._json(200, _model(name, self.server.simulator.context_window))
            else:
                self._error(404, "not_found_error", f"model: {name}")
        else:
            self._error(404, "not_found_error", "Not Found")

    def _platform_call(self, call: platforms.Call) -> None:
        """A Vertex or Bedrock route: the same Messages request, with the model from the path."""
        if call.problem:
            self._error(*call.problem)
        elif call.counting:
            problem = _problem(call.body, call.version, needs_max_tokens=False) or self._content_problem(call.body)
            if problem:
                self._error(*problem)
            else:
                self._json(200, {"input_tokens": count_tokens(call.body)})
        else:
            self._messages(call.body, call.version)

    def _version(self) -> str | None:
        return self.headers.get("anthropic-version")

    def _content_problem(self, body: Any) -> tuple[int, str, str] | None:
        """Documents, images, web search and output formats, checked in their own modules."""
        found = (documents.problem(body, self.headers, self.server.simulator.files) or web.problem(body)
                 or structured.problem(body))
        return None if found is None else (400, "invalid_request_error", found)

    def _upload(self) -> None:
        """POST /v1/files: the multipart upload the SDK sends, kept in the simulator's Files store."""
        if documents.FILES_BETA not in (self.headers.get("anthropic-beta") or ""):
            self._error(400, "invalid_request_error", f"the Files API needs `anthropic-beta: {documents.FILES_BETA}`")
            return
        part = documents.uploaded_part(self.headers.get("content-type", ""), self._raw)
        if part is None:
            self._error(400, "invalid_request_error", "file: Field required")
        else:
            self._json(200, self.server.simulator.files.add(*part))

    def _messages(self, body: Any, version: str | None = None) -> None:
        problem = (_problem(body, version or self._version(), needs_max_tokens=True) or self._content_problem(body)
                   or too_long(body, self.server.simulator.context_window))
        rate = self.server.simulator._limits
        if problem is None and rate:
            wait, self._limit_headers = rate.admit(body["model"], count_tokens(body))
            refused = self._limit_headers.pop("_refused", None)
            if refused:
                message = rate.refusal(body["model"], refused)
                self._error(429, "rate_limit_error", message, {"retry-after": retry_after(wait)})
                return
        reply = self.server.simulator._take(valid=problem is None)
        pace = self.server.simulator.pace if reply.pace is None else reply.pace
        if reply.fault == "http_error":
            self._error(reply.status, reply.error["type"], reply.error["message"], reply.headers)
        elif reply.fault == "sse":
            self._replay(reply.raw, pace)
        elif problem:
            self._error(*problem)
        else:
            answer = self.server.simulator._lay_out(reply, body)
            if rate:
                self._limit_headers = rate.charge_output(body["model"], answer.output_tokens)
            if body.get("stream") is True:
                self._stream(answer, reply, pace)
            else:
                self._whole(answer, reply)

    def _create_batch(self, body: Any) -> None:
        simulator = self.server.simulator
        problem = batches.problem(body)
        if problem:
            self._error(400, "invalid_request_error", problem)
            return
        custom_ids = [request["custom_id"] for request in body["requests"]]
        results = [self._batch_result(request["params"]) for request in body["requests"]]
        self._json(200, simulator._batches.create(custom_ids, results, simulator.batch_polls, simulator.url))

    def _batch_result(self, params: dict[str, Any]) -> dict[str, Any]:
        """What one request of a new batch gets: answered now, taking the next queued reply like any other."""
        problem = (_problem(params, self._version(), needs_max_tokens=True) or self._content_problem(params)
                   or too_long(params, self.server.simulator.context_window))
        if problem is None and params.get("stream"):
            problem = 400, "invalid_request_error", "stream: requests in a message batch cannot stream"
        reply = self.server.simulator._take(valid=problem is None)
        if reply.fault == "http_error":
            error = reply.error
        elif problem:
            error = {"type": problem[1], "message": problem[2]}
        else:
            # Other faults break a connection, and a batch's results have none: only their content counts.
            message = self.server.simulator._lay_out(replace(reply, fault=None), params).message()
            return {"type": "succeeded", "message": message}
        return {"type": "errored", "error": {"type": "error", "error": error}}

    def _list_batches(self) -> None:
        query = {name: values[-1] for name, values in parse_qs(urlsplit(self.path).query).items()}
        limit = query.get("limit", "20")
        if not (limit.isdigit() and 1 <= int(limit) <= 1000):
            self._error(400, "invalid_request_error", "limit: Input should be an integer from 1 to 1000")
            return
        simulator = self.server.simulator
        try:
            page = simulator._batches.page(
                simulator.url, int(limit), query.get("after_id"), query.get("before_id")
            )
            self._json(200, page)
        except batches.Unknown as exc:
            self._error(404, "not_found_error", str(exc))

    def _batch(self, batch_id: str, action: str | None) -> None:
        simulator = self.server.simulator
        try:
            if action == "/results":
                # The real API's type for this .jsonl file, and the one the SDK asks for.
                self._send(200, "application/binary", simulator._batches.results(batch_id))
            elif action == "/cancel":
                self._json(200, simulator._batches.cancel(batch_id, simulator.url))
            else:
                self._json(200, simulator._batches.retrieve(batch_id, simulator.url))
        except batches.Unknown as exc:
            self._error(404, "not_found_error", str(exc))

    def _stream(self, answer: Answer, reply: Reply, pace: float) -> None:
        self._open_stream(chunked=reply.framing == "chunked")
        sent = 0
        fault = reply.fault
        for name, event in answer.events():
            if fault and name not in _LEAD_IN and (sent >= reply.after or name == "message_delta"):
                if fault == "stall":
                    self._flush()
                    self._wait(reply.seconds)
                    fault = None
                elif fault == "drop":
                    # No chunked terminator, or no more bytes at all: the socket just closes.
                    self._flush()
                    self.close_connection = True
                    return
                else:
                    if fault == "error_event":
                        self._write(self._framed(sse({"type": "error", "error": reply.error})))
                    break
            self._write(self._framed(event))
            if name == "content_block_delta":
                sent += 1
                if pace:
                    self._flush()
                    self._wait(1 / pace)
        self._close_stream()

    def _whole(self, answer: Answer, reply: Reply) -> None:
        """A non-streaming answer; a fault here can only break the whole response."""
        if reply.fault in ("drop", "truncate"):
            self.close_connection = True
        elif reply.fault == "error_event":
            self._error(STATUS_OF.get(reply.error["type"], 500), reply.error["type"], reply.error["message"])
        else:
            if reply.fault == "stall":
                self._wait(reply.seconds)
            self._json(200, answer.message())

    def _replay(self, raw: bytes, pace: float) -> None:
        self._open_stream(chunked=True)
        # Split after each blank line only to pace event by event; the bytes sent are the file's.
        for event in filter(None, re.split(rb"(?<=\n\n)", raw)):
            self._write(self._framed(event))
            if pace:
                self._flush()
                self._wait(1 / pace)
        self._close_stream()

    def _framed(self, event: bytes) -> bytes:
        """An event as this route streams it: server-sent events, or Bedrock's event-stream frames."""
        return platforms.frame(event) if self._platform == "bedrock" else event

    def _open_stream(self, *, chunked: bool) -> None:
        self._chunked = chunked
        self._pending = bytearray()
        self.send_response(200)
        bedrock = self._platform == "bedrock"
        self.send_header("content-type", platforms.EVENT_STREAM if bedrock else "text/event-stream; charset=utf-8")
        self.send_header("cache-control", "no-cache")
        self.send_header("request-id", self._request_id)
        for name, value in self._limit_headers.items():
            self.send_header(name, value)
        # Without chunked framing the body is delimited by closing the connection.
        self.send_header("transfer-encoding" if chunked else "connection", "chunked" if chunked else "close")
        self.end_headers()

    def _write(self, data: bytes) -> None:
        self._pending += data
        if len(self._pending) >= _CHUNK:
            self._flush()

    def _flush(self) -> None:
        """Put what was written on the wire, as one chunk: before waiting, hanging up or ending."""
        if self._pending:
            data = self._pending
            self.wfile.write(b"%x\r\n%b\r\n" % (len(data), data) if self._chunked else data)
            self._pending = bytearray()

    def _close_stream(self) -> None:
        self._flush()
        if self._chunked:
            self.wfile.write(b"0\r\n\r\n")

    def _wait(self, seconds: float) -> None:
        if self.server.stopping.wait(seconds):
            raise _Stopped

    def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        self._send(status, "application/json", json.dumps(payload).encode(), headers)

    def _send(
        self, status: int, content_type: str, data: bytes, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(data)))
        self.send_header("request-id", self._request_id)
        for name, value in {**self._limit_headers, **(headers or {})}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _error(
        self, status: int, error_type: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        error = {
            "type": "error",
            "error": {"type": error_type, "message": message},
            "request_id": self._request_id,
        }
        if self._platform == "bedrock":
            error, named = platforms.bedrock_error(error_type, message)
            headers = {**(headers or {}), **named}
        self._json(status, error, headers)


def _model(name: str, window: int | None) -> dict[str, Any]:
    return {"type": "model", "id": name, "lifecycle": "active", **MODELS[name], **limits(name, window)}


def _unanswered_tool_use(messages: list[dict[str, Any]]) -> str | None:
    """The API's refusal of a history where a tool_use is not answered by a tool_result in the next message."""
    for index, message in enumerate(messages):
        if message["role"] != "assistant":
            continue
        ids = [block.get("id") for block in blocks_of(message) if block.get("type") == "tool_use"]
        following = blocks_of(messages[index + 1]) if index + 1 < len(messages) else None
        if not ids or following is None:  # a final assistant turn is a prefill, answered by the reply
            continue
        answered = {block.get("tool_use_id") for block in following if block.get("type") == "tool_result"}
        missing = [tool_id for tool_id in ids if tool_id not in answered]
        if missing:
            return (f"messages.{index + 1}: `tool_use` ids were found without `tool_result` blocks immediately "
                    f"after: {', '.join(map(str, missing))}. Each `tool_use` block must have a corresponding "
                    "`tool_result` block in the next message.")
    return None


def _problem(body: Any, version: str | None, *, needs_max_tokens: bool) -> tuple[int, str, str] | None:
    """What the real API would reject in this request body, as (status, error type, message).

    `version` is the request's anthropic-version: the rules that depend on it and on the model are in rules.py.
    """

    def invalid(message: str) -> tuple[int, str, str]:
        return 400, "invalid_request_error", message

    if not isinstance(body, dict):
        return invalid("The request body is not valid JSON: send a JSON object")
    wrong_version = rules.version_problem(version)
    if wrong_version:
        return wrong_version
    if "model" not in body:
        return invalid("model: Field required")
    if needs_max_tokens:
        if "max_tokens" not in body:
            return invalid("max_tokens: Field required")
        max_tokens = body["max_tokens"]
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
            return invalid("max_tokens: Input should be an integer greater than or equal to 1")
    messages = body.get("messages")
    if messages is None:
        return invalid("messages: Field required")
    if not isinstance(messages, list) or not messages:
        return invalid("messages: at least one message is required")
    for index, message in enumerate(messages):
        role = message.get("role") if isinstance(message, dict) else None
        if role not in ("user", "assistant"):
            return invalid(f"messages.{index}.role: Input should be 'user' or 'assistant'")
        if index == 0 and role != "user":
            return invalid('messages: first message must use the "user" role')
        if index and role == messages[index - 1]["role"]:
            return invalid(
                'messages: roles must alternate between "user" and "assistant", '
                f'but found multiple "{role}" roles in a row'
            )
        content = message.get("content")
        if isinstance(content, list) and all(isinstance(block, dict) for block in content):
            if any(block.get("type") == "text" and not block.get("text") for block in content):
                return invalid("messages: text content blocks must be non-empty")
        elif not isinstance(content, str):
            return invalid(
                f"messages.{index}.content: Input should be a valid string or list of content blocks"
            )
        if not content and not (index == len(messages) - 1 and role == "assistant"):
            return invalid(
                f"messages.{index}: all messages must have non-empty content "
                "except for the optional final assistant message"
            )
    unanswered = _unanswered_tool_use(messages)
    if unanswered:
        return invalid(unanswered)
    if len(breakpoints(body)) > MAX_BREAKPOINTS:
        return invalid(f"A maximum of {MAX_BREAKPOINTS} blocks with cache_control may be provided.")
    final = blocks_of(messages[-1])
    ends_in_space = (
        final and final[-1].get("type") == "text" and final[-1]["text"] != final[-1]["text"].rstrip()
    )
    if messages[-1]["role"] == "assistant" and ends_in_space:
        return invalid("messages: final assistant content cannot end with trailing whitespace")
    ruled = rules.problem(body, version, counting=not needs_max_tokens)
    if ruled:
        return ruled
    if not isinstance(body["model"], str) or body["model"] not in MODELS:
        return 404, "not_found_error", f"model: {body['model']}"
    return None
