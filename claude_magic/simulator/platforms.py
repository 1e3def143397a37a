"""Amazon Bedrock's and Google Vertex AI's routes to the Messages API, as the SDK's provider clients call them.

Both take the model from the path and the API version from the body (`anthropic_version`), and refuse a
`model` in the body. Vertex streams server-sent events like the API; Bedrock streams the AWS event-stream
binary framing (each event's JSON, base64, in a `chunk` frame; a failure as an `exception` frame), which
is what the SDK's `AWSEventStreamDecoder` (botocore's `EventStreamBuffer`) reads.
"""

from __future__ import annotations

import base64
import json
import re
import struct
import zlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from ..models import API_VERSIONS, table_name

VERTEX = re.compile(r"(?:/v1)?/projects/(?P<project>[^/]+)/locations/(?P<region>[^/]+)/publishers/anthropic/models/"
                    r"(?P<model>[^/:]+):(?P<method>rawPredict|streamRawPredict)")
BEDROCK = re.compile(r"/model/(?P<model>[^/]+)/(?P<method>invoke|invoke-with-response-stream)")
# Each platform's own version names, read as the API version they stand for.
_VERSIONS = {"vertex-2023-10-16": "2023-06-01", "bedrock-2023-05-31": "2023-06-01"}
EVENT_STREAM = "application/vnd.amazon.eventstream"
# Bedrock's error names (x-amzn-ErrorType, and the exception frames of a stream) for the API's error types.
_BEDROCK_ERRORS = {"invalid_request_error": "ValidationException", "not_found_error": "ResourceNotFoundException",
                   "rate_limit_error": "ThrottlingException", "overloaded_error": "ServiceUnavailableException",
                   "authentication_error": "AccessDeniedException", "permission_error": "AccessDeniedException",
                   "request_too_large": "ValidationException"}


@dataclass
class Call:
    """A platform request as the Messages API would have received it."""

    platform: str  # "vertex" or "bedrock"
    body: Any
    version: str | None
    counting: bool = False
    problem: tuple[int, str, str] | None = None


def route(method: str, path: str, body: Any) -> Call | None:
    """The Messages request a Vertex or Bedrock path and body stand for; None for any other path."""
    vertex = VERTEX.fullmatch(path) if method == "POST" else None
    bedrock = BEDROCK.fullmatch(path) if method == "POST" else None
    if vertex is None and bedrock is None:
        return None
    platform = "vertex" if vertex else "bedrock"
    found = vertex or bedrock
    call = Call(platform, body, None)
    if not isinstance(body, dict):
        call.problem = (400, "invalid_request_error", "The request body is not valid JSON: send a JSON object")
        return call
    body = dict(body)
    version = body.pop("anthropic_version", None)
    model = unquote(found["model"])
    counting = platform == "vertex" and model == "count-tokens"
    if "model" in body and not counting:
        call.problem = (400, "invalid_request_error", "model: Extra inputs are not permitted (it is in the path)")
    elif not version:
        call.problem = (400, "invalid_request_error", "anthropic_version: Field required")
    elif version not in API_VERSIONS and version not in _VERSIONS:
        call.problem = (400, "invalid_request_error", f"anthropic_version: {version!r} is not a valid version")
    if counting:
        body["model"] = table_name(str(body.get("model", "")))
    else:
        body["model"] = table_name(model)
    if platform == "bedrock":
        if "stream" in body:
            call.problem = call.problem or (400, "invalid_request_error", "stream: Extra inputs are not permitted")
        body["stream"] = found["method"] == "invoke-with-response-stream"
    call.body, call.version, call.counting = body, _VERSIONS.get(version, version), counting
    return call


def bedrock_error(error_type: str, message: str) -> tuple[dict[str, Any], dict[str, str]]:
    """Bedrock's error body and header for one of the API's errors."""
    return {"message": message}, {"x-amzn-ErrorType": _BEDROCK_ERRORS.get(error_type, "InternalServerException")}


def frame(sse: bytes) -> bytes:
    """One server-sent event of the API as Bedrock streams it: an event-stream message."""
    data = next((line[6:] for line in sse.split(b"\n") if line.startswith(b"data: ")), b"{}")
    event = json.loads(data)
    if event.get("type") == "error":
        error = event.get("error") or {}
        name = _BEDROCK_ERRORS.get(error.get("type"), "InternalServerException")
        name = name[0].lower() + name[1:]  # the stream's members are camelCase
        if name not in ("validationException", "throttlingException", "serviceUnavailableException"):
            name = "internalServerException"
        headers = {":message-type": "exception", ":exception-type": name, ":content-type": "application/json"}
        return _message(headers, json.dumps({"message": error.get("message", "")}).encode())
    headers = {":message-type": "event", ":event-type": "chunk", ":content-type": "application/json"}
    return _message(headers, json.dumps({"bytes": base64.b64encode(data).decode()}).encode())


def _message(headers: dict[str, str], payload: bytes) -> bytes:
    """The AWS event-stream framing: prelude (lengths and their CRC), string headers, payload, CRC."""
    encoded = b"".join(
        struct.pack("B", len(name)) + name.encode() + b"\x07" + struct.pack(">H", len(value.encode())) + value.encode()
        for name, value in headers.items()
    )
    total = 12 + len(encoded) + len(payload) + 4
    prelude = struct.pack(">II", total, len(encoded))
    prelude += struct.pack(">I", zlib.crc32(prelude))
    body = prelude + encoded + payload
    return body + struct.pack(">I", zlib.crc32(body))
