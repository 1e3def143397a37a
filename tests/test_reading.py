"""Files the user names are read bounded: `--file` and `%claude load` refuse pipes, devices and huge files in
one line, a Stop while reading is one line, and a picture must be what its name says.

Cells run in a real InteractiveShell; what the simulator received (messages and Files API uploads) is
checked. A guard alarm turns a hang into a failure instead of a stuck test run.
"""

from __future__ import annotations

import base64
import os
import signal
from contextlib import contextmanager

import anthropic  # noqa: F401 - imported up front, so the guard times the reading, not the import
import pytest
from conftest import error_text, final_markdown

from claude_magic.stores import MAX_BYTES

PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg==")
GIF = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"


class Hung(BaseException):
    """The guard alarm went off: the cell would have hung."""


@contextmanager
def guard(seconds: int = 30):
    def expire(signum, frame):
        raise Hung(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def folder(nb, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    return tmp_path


def one_line(result, captured) -> str:
    shown = error_text(captured).strip()
    assert result.error_in_exec is not None and "Traceback" not in shown, shown
    assert len(shown.splitlines()) == 1, shown
    return shown


def test_a_fifo_is_refused_at_once_not_waited_on(nb, folder):
    os.mkfifo(folder / "pipe.txt")
    with guard():
        result, captured = nb.run("%%claude --file pipe.txt\nWhat is in it?")
    assert "--file pipe.txt: that is a pipe (FIFO)" in one_line(result, captured)
    assert nb.sim.requests == []


def test_a_device_is_refused_not_read_to_exhaustion(nb, folder):
    (folder / "zero.txt").symlink_to("/dev/zero")
    with guard():
        result, captured = nb.run("%%claude --file zero.txt\nWhat is in it?")
    assert "--file zero.txt: that is a device, not a file" in one_line(result, captured)
    assert nb.sim.requests == []


def test_a_file_over_the_limit_is_refused_with_the_limit_and_what_to_do(nb, folder):
    with open(folder / "big.txt", "wb") as big:
        big.truncate(200 * 1024 * 1024)  # sparse: 200 MB on paper, nothing on disk
    for cell in ("%%claude --file big.txt\nSummarise.", "%%claude --file big.txt --count\nSummarise."):
        result, captured = nb.run(cell)
        shown = one_line(result, captured)
        assert "--file big.txt: 200.0 MB, over the 32.0 MB limit. Send a part of it" in shown
    assert nb.sim.requests == []


def test_count_uploads_nothing(nb, folder):
    (folder / "notes.md").write_text("Ravens remember faces.\n" * 50)
    nb.run("%config ClaudeMagics.upload_above = 10")
    result, captured = nb.run("%%claude --file notes.md --count\nSummarise.")
    assert result.error_in_exec is None, error_text(captured)
    assert [r["path"] for r in nb.sim.requests] == ["/v1/messages/count_tokens"]
    document = nb.sim.requests[0]["body"]["messages"][-1]["content"][0]
    assert document["source"]["type"] == "text"  # counted inline, nothing uploaded
    nb.run("%%claude --file notes.md\nSummarise.")  # asking does upload it
    assert [r["path"] for r in nb.sim.requests if r["method"] == "POST"][1:] == ["/v1/files", "/v1/messages"]


def test_stop_while_reading_is_one_line(nb, folder, monkeypatch):
    (folder / "notes.md").write_bytes(b"x" * (3 * 1024 * 1024))
    real_read = os.read
    calls = []

    def interrupted(fd, size):  # the user presses Stop while the second chunk is being read
        calls.append(size)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_read(fd, size)

    monkeypatch.setattr(os, "read", interrupted)
    _, captured = nb.run("%%claude --file notes.md\nSummarise.")
    monkeypatch.setattr(os, "read", real_read)
    shown = error_text(captured).strip()
    assert shown.endswith("KeyboardInterrupt: stopped while reading notes.md.") and "Traceback" not in shown
    assert len(shown.splitlines()) == 1 and nb.sim.requests == []


def test_load_refuses_a_fifo_a_device_and_a_huge_file(nb, folder):
    os.mkfifo(folder / "pipe.claude.json")
    (folder / "zero.claude.json").symlink_to("/dev/zero")
    with open(folder / "huge.claude.json", "wb") as huge:
        huge.truncate(MAX_BYTES + 1)
    expected = {"pipe": "that is a pipe (FIFO)", "zero": "that is a device, not a file", "huge": "too large to be a claude_magic chat file"}
    for name, words in expected.items():
        with guard():
            result, captured = nb.run(f"%claude load {name}.claude.json")
        assert words in one_line(result, captured)


def test_a_picture_must_be_what_its_name_says(nb, folder):
    (folder / "fake.png").write_text("not a picture at all")
    result, captured = nb.run("%%claude --file fake.png\nWhat is this?")
    assert "--file fake.png: this is not a PNG image" in one_line(result, captured)
    (folder / "fake.webp").write_bytes(b"RIFF\x00\x00\x00\x00WAVEfmt ")
    result, captured = nb.run("%%claude --file fake.webp\nWhat is this?")
    assert "--file fake.webp: this is not a WebP image" in one_line(result, captured)
    assert nb.sim.requests == []


def test_a_picture_under_another_pictures_name_is_sent_as_what_it_is(nb, folder):
    (folder / "photo.jpg").write_bytes(PNG)
    (folder / "anim.gif").write_bytes(GIF)
    result, captured = nb.run("%%claude --file photo.jpg,anim.gif\nWhat are these?")
    assert result.error_in_exec is None, error_text(captured)
    blocks = nb.requests[-1]["body"]["messages"][-1]["content"]
    assert [b["source"]["media_type"] for b in blocks if b["type"] == "image"] == ["image/png", "image/gif"]
    assert "photo.jpg" in final_markdown(captured)
