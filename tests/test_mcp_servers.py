"""--mcp: tools from MCP servers (a real stdio server written with the `mcp` package, tests/mcp/lab_server.py),
through a real shell, the SDK's MCP conversion and the simulator."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import error_text, final_markdown

from claude_magic.simulator import Reply

pytest.importorskip("mcp")

LAB = str(Path(__file__).resolve().parent / "mcp" / "lab_server.py")


def lab(log: Path, *extra: str) -> dict:
    return {"command": sys.executable, "args": [LAB, *extra], "env": {"LAB_LOG": str(log)}}


def log_lines(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def pids(log: Path) -> set[int]:
    return {int(line.split()[0]) for line in log_lines(log) if line.endswith(" started")}


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def gone_within(pid_set: set[int], seconds: float = 15.0) -> bool:
    deadline = time.monotonic() + seconds
    while any(alive(pid) for pid in pid_set):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def wait_for(log: Path, text: str, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not any(text in line for line in log_lines(log)):
        assert time.monotonic() < deadline, f"the server never logged {text!r}"
        time.sleep(0.05)


@pytest.fixture
def servers(nb, tmp_path):
    log = tmp_path / "lab.log"
    nb.magics.mcp_servers = {"lab": lab(log), "lab2": lab(log, "lab2")}
    nb.magics.mcp_timeout = 60.0  # two cores shared by many: a cold start can take a while
    return nb, log


def test_a_server_starts_on_first_use_and_its_tools_run_in_the_tool_loop(servers):
    nb, log = servers
    _, captured = nb.run("%claude mcp")
    table = captured.outputs[-1].data["text/markdown"]
    assert "| `lab` |" in table and "not started" in table and "running" not in table
    assert pids(log) == set()  # configured is not started

    nb.sim.queue(Reply.tool_use("add", {"a": 2, "b": 3}, text="Adding."), Reply.text("It is 5."))
    result, captured = nb.run("%%claude --mcp lab\nWhat is 2 + 3?")
    assert result.error_in_exec is None, error_text(captured)
    assert f"Starting MCP server 'lab': {sys.executable} {LAB}" in captured.stdout
    offered = {tool["name"]: tool for tool in nb.requests[0]["body"]["tools"]}
    assert set(offered) == {"add", "echo", "fail", "crash", "slow", "picture", "markup"}
    assert offered["add"]["description"] == "Add two whole numbers."
    assert offered["add"]["input_schema"]["required"] == ["a", "b"]
    result_turn = nb.requests[1]["body"]["messages"][2]["content"][0]
    assert result_turn["type"] == "tool_result" and result_turn["content"] == [{"type": "text", "text": "5"}]
    assert "add 2 3" in " ".join(log_lines(log))
    shown = final_markdown(captured)
    assert shown.index('🔧 `add({"a": 2, "b": 3})`') < shown.index("↳ output:\n\n```\n5\n```") < shown.index("It is 5.")

    # An image result goes back as an image block; an MCP error as an is_error result.
    nb.sim.queue(Reply.tool_use("picture", {}), Reply.text("A pixel."),
                 Reply.tool_use("fail", {"reason": "<b>no</b>"}), Reply.text("It failed."))
    nb.run("%%claude --mcp lab\nDraw.")
    image = nb.requests[-1]["body"]["messages"][-1]["content"][0]["content"][0]
    assert image["type"] == "image" and image["source"]["media_type"] == "image/png"
    _, captured = nb.run("%%claude --mcp lab\nFail.")
    failed = nb.requests[-1]["body"]["messages"][-1]["content"][0]
    assert failed["is_error"] is True and "failed on purpose: <b>no</b>" in failed["content"][0]["text"]
    assert "↳ ⚠ error:\n\n```\nError executing tool fail: failed on purpose: <b>no</b>\n```" in final_markdown(captured)
    assert len(pids(log)) == 1  # one process, kept up across cells

    # Names that collide across servers are prefixed with each server's name.
    nb.sim.queue(Reply.tool_use("lab2_echo", {"text": "hi"}), Reply.text("Echoed."))
    _, captured = nb.run("%%claude --mcp lab,lab2\nEcho hi.")
    names = [tool["name"] for tool in nb.requests[-2]["body"]["tools"]]
    assert "lab_add" in names and "lab2_add" in names and "add" not in names
    assert nb.requests[-1]["body"]["messages"][-1]["content"][0]["content"] == [{"type": "text", "text": "hi"}]
    assert len(pids(log)) == 2

    _, captured = nb.run("%claude mcp")
    table = captured.outputs[-1].data["text/markdown"]
    assert table.count("| running |") == 2 and "add, echo, fail" in table

    # %unload_ext stops them: no process is left behind.
    started = pids(log)
    nb.shell.run_line_magic("unload_ext", "claude_magic")
    assert gone_within(started)
    nb.shell.run_line_magic("load_ext", "claude_magic")


def test_markup_in_a_servers_result_never_renders_as_html(servers):
    import mistune

    nb, _log = servers
    nb.sim.queue(Reply.tool_use("markup", {}), Reply.text("Done."))
    result, captured = nb.run("%%claude --mcp lab\nShow markup.")
    assert result.error_in_exec is None, error_text(captured)
    html = mistune.html(final_markdown(captured))  # raw HTML passes, as in a trusted Jupyter output
    assert "<img" not in html and "<script" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_a_notebook_function_keeps_its_name_and_the_servers_tool_is_prefixed(servers):
    nb, log = servers
    nb.shell.run_cell("def add(a: int, b: int) -> int:\n    'Add in the notebook.'\n    return a + b")
    nb.sim.queue(Reply.tool_use("lab_add", {"a": 1, "b": 1}), Reply.text("Two."))
    result, captured = nb.run("%%claude --tools add --mcp lab\nOne plus one?")
    assert result.error_in_exec is None, error_text(captured)
    names = [tool["name"] for tool in nb.requests[0]["body"]["tools"]]
    assert names[0] == "add" and "lab_add" in names
    assert "add 1 1" in " ".join(log_lines(log))


def test_a_server_that_dies_mid_call_is_an_error_result_and_one_line(servers):
    nb, log = servers
    nb.sim.queue(Reply.tool_use("crash", {}), Reply.text("The server crashed."))
    result, captured = nb.run("%%claude --mcp lab\nCrash it.")
    assert result.error_in_exec is None, error_text(captured)
    crashed = nb.requests[-1]["body"]["messages"][-1]["content"][0]
    assert crashed["is_error"] is True and "MCP server 'lab' stopped during the call to 'crash'" in crashed["content"]
    said = [line for line in captured.stdout.splitlines() if line.startswith("⚠")]
    assert said == [("⚠ MCP server 'lab' stopped during the call to 'crash'. The next `--mcp lab` cell starts "
                     "it again.")]
    _, captured = nb.run("%claude mcp")
    assert "failed (exited during a call)" in captured.outputs[-1].data["text/markdown"]
    # The next cell starts it again, and the chat's history is valid.
    nb.sim.queue(Reply.tool_use("echo", {"text": "back"}), Reply.text("Back."))
    result, captured = nb.run("%%claude --mcp lab\nAre you back?")
    assert result.error_in_exec is None, error_text(captured)
    assert len(pids(log)) == 2
    assert nb.requests[-1]["body"]["messages"][-1]["content"][0]["content"] == [{"type": "text", "text": "back"}]


def test_stop_cancels_a_running_call_and_the_server_stays_up(servers):
    nb, log = servers
    nb.run("%%claude --mcp lab\nwarm up")  # started (the simulator calls the first tool, add)
    nb.sim.queue(Reply.tool_use("slow", {"seconds": 30}))

    def stop_when_called():
        wait_for(log, "slow 30")
        os.kill(os.getpid(), signal.SIGINT)

    stopper = threading.Thread(target=stop_when_called)
    stopper.start()
    started = time.monotonic()
    result, captured = nb.run("%%claude --mcp lab\nTake your time.")
    stopper.join()
    assert time.monotonic() - started < 25
    assert isinstance(result.error_in_exec, KeyboardInterrupt)
    assert "stopped by you" in error_text(captured) and "Traceback" not in error_text(captured)
    assert "⏹ stopped" in final_markdown(captured)
    nb.sim.queue(Reply.tool_use("echo", {"text": "still here"}), Reply.text("Yes."))
    result, captured = nb.run("%%claude --mcp lab\nStill there?")
    assert result.error_in_exec is None, error_text(captured)
    assert nb.requests[-1]["body"]["messages"][-1]["content"][0]["content"] == [{"type": "text", "text": "still here"}], nb.requests[-1]["body"]["messages"][-1]
    assert len(pids(log)) == 1


@pytest.mark.parametrize("config, cell, said", [
    ({"lab": {"command": "python"}}, "--mcp nope", "there is no MCP server 'nope' in ClaudeMagics.mcp_servers (lab)"),
    ({}, "--mcp db", "there is no MCP server 'db' in ClaudeMagics.mcp_servers (none is configured)"),
    ({"db": {"command": "no-such-mcp-server-xyz"}}, "--mcp db", "cannot run 'no-such-mcp-server-xyz'"),
    ({"db": {"command": "python", "url": "http://127.0.0.1:1/mcp"}}, "--mcp db", "needs either 'command'"),
    ({"db": {"command": "python", "args": "-m server"}}, "--mcp db", "['args'] must be a list of strings"),
    ({"db": {"command": "python", "env": {"X": 1}}}, "--mcp db", "['env'] must be a dict of strings"),
    ({"db": {"url": "file:///etc/passwd"}}, "--mcp db", "['url'] must be an http(s) URL"),
    ({"db": {"url": "http://127.0.0.1:1/mcp", "type": "sse"}}, "--mcp db", "only streamable HTTP"),
    ({"db": "python server.py"}, "--mcp db", "must be a dict with 'command'"),
    ({"<b>x</b>": {"command": "python"}}, "--mcp db", "is not a server name"),
    ({"db": {"command": "python"}}, "--mcp ,", "--mcp needs server names"),
])
def test_bad_mcp_input_is_one_line_and_nothing_is_paid(nb, config, cell, said):
    nb.magics.mcp_servers = config
    _, captured = nb.run(f"%%claude {cell}\nHi")
    text = error_text(captured).strip()
    assert said in text and len(text.splitlines()) == 1 and "Traceback" not in text, text
    assert nb.requests == []


def test_a_server_that_does_not_answer_initialize_is_one_line(nb):
    nb.magics.mcp_servers = {"mute": {"command": sys.executable, "args": ["-c", "import time; time.sleep(60)"]}}
    nb.magics.mcp_timeout = 1.0
    started = time.monotonic()
    _, captured = nb.run("%%claude --mcp mute\nHi")
    assert time.monotonic() - started < 15
    assert captured.stdout.startswith("Starting MCP server 'mute': ")
    assert error_text(captured).strip().splitlines()[-1] == (
        "--mcp mute: the server did not start (no answer to `initialize` within 1 s). Nothing was sent.")
    assert "Traceback" not in error_text(captured)
    assert nb.requests == []
    _, captured = nb.run("%claude mcp")
    assert "failed (no answer to \\`initialize\\` within 1 s)" in captured.outputs[-1].data["text/markdown"]


def test_without_the_mcp_package_mcp_says_how_to_install_it(nb, monkeypatch):
    monkeypatch.setitem(sys.modules, "mcp", None)
    nb.magics.mcp_servers = {"db": {"command": "python"}}
    _, captured = nb.run("%%claude --mcp db\nHi")
    assert error_text(captured).strip() == ("`--mcp` needs the `mcp` package: `pip install 'claude-magic[mcp]'`, "
                                            "then restart the kernel.")


def test_status_escapes_what_the_config_holds_and_hides_url_tokens(nb):
    nb.magics.mcp_servers = {"db": {"command": "<script>alert(1)</script>", "args": ["a|b"]},
                             "docs": {"url": "https://user:pw@example.com:8443/mcp?token=SECRET"}}
    _, captured = nb.run("%claude mcp")
    table = captured.outputs[-1].data["text/markdown"]
    assert "<script>" not in table and "&lt;script&gt;" in table and "a\\|b" in table
    assert "https://example.com:8443/mcp" in table and "SECRET" not in table and "pw" not in table


def test_kernel_shutdown_leaves_no_server_process(monkeypatch, tmp_path):
    from jupyter_client.manager import start_new_kernel

    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    log = tmp_path / "lab.log"
    manager, client = start_new_kernel(kernel_name="python3")
    try:
        def run(source: str) -> dict:
            reply = client.execute_interactive(source, timeout=120, output_hook=lambda message: None)
            assert reply["content"]["status"] == "ok", reply["content"]
            return reply["content"]

        run(f"%load_ext claude_magic\n%config ClaudeMagics.simulator_pace = 0\n"
            f"%config ClaudeMagics.mcp_timeout = 60.0\n%config ClaudeMagics.mcp_servers = {{'lab': {lab(log)!r}}}")
        run("%%claude --mcp lab\nAdd something.")
        started = pids(log)
        assert len(started) == 1 and all(alive(pid) for pid in started)
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=False)
    assert gone_within(started)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_streamable_http_server_is_reached_by_its_url(nb, tmp_path):
    import subprocess
    import urllib.request

    port = free_port()
    log = tmp_path / "http.log"
    process = subprocess.Popen([sys.executable, LAB, "docs", str(port)], env={**os.environ, "LAB_LOG": str(log)},
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/mcp", timeout=1)
            except OSError as exc:
                if getattr(exc, "code", None):  # any HTTP answer: it is listening
                    break
                assert time.monotonic() < deadline and process.poll() is None, "the HTTP server did not come up"
                time.sleep(0.2)
            else:
                break
        url = f"http://127.0.0.1:{port}/mcp"
        nb.magics.mcp_servers = {"docs": {"url": url, "headers": {"X-Team": "notebooks"}}}
        nb.magics.mcp_timeout = 60.0
        nb.sim.queue(Reply.tool_use("echo", {"text": "over http"}), Reply.text("Heard."))
        result, captured = nb.run("%%claude --mcp docs\nEcho over HTTP.")
        assert result.error_in_exec is None, error_text(captured)
        assert f"Connecting to MCP server 'docs': {url}" in captured.stdout
        assert nb.requests[-1]["body"]["messages"][-1]["content"][0]["content"] == [
            {"type": "text", "text": "over http"}]
        assert "echo over http" in " ".join(log_lines(log))
        _, captured = nb.run("%claude mcp")
        assert "| running |" in captured.outputs[-1].data["text/markdown"]
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_an_unreachable_url_is_one_line(nb):
    nb.magics.mcp_servers = {"docs": {"url": f"http://127.0.0.1:{free_port()}/mcp"}}
    nb.magics.mcp_timeout = 5.0
    _, captured = nb.run("%%claude --mcp docs\nHi")
    last = error_text(captured).strip().splitlines()[-1]
    assert last.startswith("--mcp docs: the server did not start (") and last.endswith("Nothing was sent.")
    assert "Traceback" not in error_text(captured) and nb.requests == []


def test_a_server_that_exits_at_once_is_one_line_with_what_it_said(nb):
    nb.magics.mcp_servers = {"quits": {"command": sys.executable,
                                       "args": ["-c", "import sys; sys.exit('no database configured')"]}}
    nb.magics.mcp_timeout = 30.0
    _, captured = nb.run("%%claude --mcp quits\nHi")
    last = error_text(captured).strip().splitlines()[-1]
    assert last.startswith("--mcp quits: the server did not start (") and "no database configured" in last
    assert nb.requests == []


def test_stop_while_a_server_starts_is_one_line_and_leaves_no_process(nb, tmp_path):
    marker = tmp_path / "pid"
    script = f"import os, time; open({str(marker)!r}, 'w').write(str(os.getpid())); time.sleep(60)"
    nb.magics.mcp_servers = {"slow": {"command": sys.executable, "args": ["-c", script]}}

    def stop_when_started():
        deadline = time.monotonic() + 30
        while not (marker.exists() and marker.read_text()) and time.monotonic() < deadline:
            time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGINT)

    stopper = threading.Thread(target=stop_when_started)
    stopper.start()
    result, captured = nb.run("%%claude --mcp slow\nHi")
    stopper.join()
    assert isinstance(result.error_in_exec, KeyboardInterrupt)
    assert error_text(captured).strip().splitlines()[-1] == (
        "KeyboardInterrupt: stopped by you while MCP server 'slow' was starting; nothing was sent.")
    assert gone_within({int(marker.read_text())})
    assert nb.requests == []
