"""failures.py: what a failure shows never carries a credential, wherever the SDK or the network put it."""

from __future__ import annotations

import json
import socket

from conftest import error_text

from claude_magic.failures import redact, safe_url

PASSWORD = "s3cret-passw0rd-in-url"
TOKEN = "q-token-0123456789"


def everything_shown(captured) -> str:
    """All a user could read of a cell: its printed text, and every display and update it made."""
    return captured.stdout + captured.stderr + json.dumps([o.data for o in captured.outputs], default=str)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_url_is_shown_without_userinfo_or_query():
    assert safe_url("http://user:pw@127.0.0.1:9/v1?token=abc") == "http://127.0.0.1:9/v1"
    assert safe_url("https://api.anthropic.com/") == "https://api.anthropic.com/"
    assert redact("Cannot reach https://me:pw@host/x?key=1 (refused).") == "Cannot reach https://host/x (refused)."


def test_credentials_in_the_base_url_are_never_shown(nb, monkeypatch):
    port = closed_port()
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-key-0000")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", f"http://claude-user:{PASSWORD}@127.0.0.1:{port}/?token={TOKEN}")
    nb.magics.max_retries = 1
    _, captured = nb.run("%%claude\nhi")
    shown = error_text(captured)
    assert shown.startswith(f"Cannot reach http://127.0.0.1:{port}/ after 2 attempts")
    _, traceback = nb.run("%tb")  # the whole chain, down to the SDK's own exception
    assert "APIConnectionError" in error_text(traceback)
    for seen in (everything_shown(captured), everything_shown(traceback)):
        assert PASSWORD not in seen and TOKEN not in seen and "claude-user" not in seen
