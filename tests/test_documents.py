"""`--file` and `--cite`: documents and images from disk, citations as footnotes, a valid history after."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest
from conftest import error_text, final_markdown

from claude_magic.simulator import Reply

# A one-page PDF whose page draws one line of text (written here: no third-party file involved).
PDF = (b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n"
       b"2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n"
       b"3 0 obj << /Type /Page /Parent 2 0 R /Contents 4 0 R >> endobj\n"
       b"4 0 obj << /Length 44 >> stream\nBT /F1 12 Tf (Tides follow the moon.) Tj ET\nendstream endobj\n"
       b"trailer << /Root 1 0 R >>\n%%EOF\n")
PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg==")
NOTES = "Ravens can solve puzzles. They also remember faces for years.\n"


@pytest.fixture
def folder(tmp_path, monkeypatch):
    """The kernel's working directory, with a PDF, a text file and an image in it."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "paper.pdf").write_bytes(PDF)
    (tmp_path / "notes.md").write_text(NOTES, encoding="utf-8")
    (tmp_path / "plot.png").write_bytes(PNG)
    return tmp_path


def user_blocks(nb, index=-1):
    return nb.requests[index]["body"]["messages"][-1]["content"]


def test_text_pdf_and_image_files_become_document_and_image_blocks(nb, folder):
    result, captured = nb.run("%%claude --file notes.md,paper.pdf,plot.png\nSummarise these.")
    assert result.error_in_exec is None, error_text(captured)
    blocks = user_blocks(nb)
    assert blocks[0] == {"type": "document", "title": "notes.md",
                         "source": {"type": "text", "media_type": "text/plain", "data": NOTES}}
    assert blocks[1]["type"] == "document" and blocks[1]["title"] == "paper.pdf"
    assert blocks[1]["source"] == {"type": "base64", "media_type": "application/pdf",
                                   "data": base64.b64encode(PDF).decode()}
    assert blocks[2] == {"type": "text", "text": "Image file `plot.png`:"}
    assert blocks[3]["source"]["media_type"] == "image/png"
    assert blocks[-1] == {"type": "text", "text": "Summarise these."}  # the question comes after the documents
    footer = final_markdown(captured).rsplit("\n\n", 1)[1]
    assert "📄 notes.md (62 bytes)" in footer and "📄 paper.pdf" in footer and "📄 plot.png" in footer


def test_a_variable_holding_a_path_works_too(nb, folder):
    nb.ns["report"] = folder / "notes.md"
    nb.run("%%claude --file report\nWhat is this?")
    assert user_blocks(nb)[0]["title"] == "notes.md"


@pytest.mark.parametrize(
    ("make", "spec", "expected"),
    [
        (None, "missing.pdf", "missing.pdf: no such file"),
        (lambda d: (d / "sub").mkdir(), "sub", "that is a folder"),
        (lambda d: (d / "tool.exe").write_bytes(b"MZ"), "tool.exe", ".exe is not supported"),
        (lambda d: (d / "empty.txt").write_bytes(b""), "empty.txt", "the file is empty"),
        (lambda d: (d / "latin.csv").write_bytes(b"caf\xe9"), "latin.csv", "not UTF-8 text"),
        (lambda d: (d / "fake.pdf").write_text("hello"), "fake.pdf", "this is not a PDF"),
        (None, ",", "--file needs a path"),
    ],
)
def test_bad_files_cost_one_line_and_send_nothing(nb, folder, make, spec, expected):
    if make:
        make(folder)
    result, captured = nb.run(f"%%claude --file {spec}\nRead it.")
    shown = error_text(captured).strip()
    assert expected in shown, shown
    assert len(shown.splitlines()) <= 2 and "Traceback" not in shown
    assert result.error_in_exec is not None and nb.requests == []


def test_an_unreadable_file_costs_one_line(nb, folder):
    secret = folder / "secret.txt"
    secret.write_text("x")
    secret.chmod(0)
    try:
        if secret.read_bytes() == b"x":  # root reads anything: nothing to test here
            pytest.skip("running as root")
    except PermissionError:
        pass
    _, captured = nb.run("%%claude --file secret.txt\nRead it.")
    assert "cannot be read" in error_text(captured) and nb.requests == []


def test_cite_without_documents_is_refused(nb, folder):
    _, captured = nb.run("%%claude --cite\nhi")
    assert "--cite needs something to cite" in error_text(captured)
    _, captured = nb.run("%%claude --cite --file plot.png\nhi")
    assert "images cannot be cited" in error_text(captured) and nb.requests == []


def test_citations_stream_and_become_numbered_footnotes(nb, folder):
    result, captured = nb.run("%%claude --cite --file paper.pdf,notes.md\nWhat do they say?")
    assert result.error_in_exec is None, error_text(captured)
    assert [b.get("citations") for b in user_blocks(nb)[:2]] == [{"enabled": True}] * 2
    markdown = final_markdown(captured)
    assert "- *paper.pdf* says: Tides follow the moon. [1]" in markdown  # cited passages stay in one paragraph
    assert "- *notes.md* says: Ravens can solve puzzles. [2]" in markdown
    assert "**Sources**" in markdown
    assert "1. “Tides follow the moon.” — *paper.pdf*, p. 1" in markdown
    assert "2. “Ravens can solve puzzles.” — *notes.md*, characters 0–25" in markdown
    cited = [block for block in nb.ns["last_message"].content if block.citations]
    assert [type(block.citations[0]).__name__ for block in cited] == ["CitationPageLocation", "CitationCharLocation"]
    assert cited[1].citations[0].document_index == 1


def test_next_cell_after_documents_and_citations_sends_a_valid_history(nb, folder):
    nb.run("%%claude --cite --file notes.md\nWhat do the notes say?")
    result, captured = nb.run("%%claude\nAnd in one word?")
    assert result.error_in_exec is None, error_text(captured)
    first_user, assistant, _ = nb.requests[-1]["body"]["messages"]
    assert first_user["content"][0]["type"] == "document"  # documents stay in the user turn they came in
    assert all(block["type"] == "text" for block in assistant["content"])
    assert any(block.get("citations") for block in assistant["content"])  # an assistant's citations may go back
    assert nb.sim.requests[-1]["path"] == "/v1/messages" and nb.ns["last_message"].stop_reason == "end_turn"


def test_large_files_are_uploaded_once_and_sent_by_id(nb, folder):
    nb.run("%config ClaudeMagics.upload_above = 10")
    nb.run("%%claude --file notes.md\nFirst question.")
    result, captured = nb.run("%%claude --file notes.md --new\nSecond question.")
    assert result.error_in_exec is None, error_text(captured)
    uploads = [r for r in nb.sim.requests if r["path"] == "/v1/files"]
    assert len(uploads) == 1 and "files-api-2025-04-14" in uploads[0]["headers"]["anthropic-beta"]
    document = user_blocks(nb)[0]
    assert document["source"]["type"] == "file" and document["source"]["file_id"].startswith("file_")
    assert nb.requests[-1]["headers"]["anthropic-beta"] == "files-api-2025-04-14"
    assert "via the Files API" in final_markdown(captured)


def test_a_failed_upload_is_one_line(nb, folder, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")  # nothing listens there
    nb.run("%config ClaudeMagics.upload_above = 10")
    nb.run("%config ClaudeMagics.backend = 'api'")
    _, captured = nb.run("%%claude --file notes.md\nq")
    shown = error_text(captured).strip()
    assert "--file notes.md: the upload failed" in shown and "Traceback" not in shown


def test_simulator_refuses_what_the_api_refuses(nb, folder):
    import anthropic

    client = anthropic.Anthropic(base_url=nb.sim.url, api_key="test", max_retries=0)
    pdf = {"type": "document", "source": {"type": "base64", "media_type": "application/pdf",
                                          "data": base64.b64encode(PDF).decode()}}
    bad = [
        [{"role": "user", "content": [{**pdf, "source": {**pdf["source"], "media_type": "application/msword"}},
                                      {"type": "text", "text": "q"}]}],
        [{"role": "user", "content": [{"type": "image", "source": {"type": "base64", "media_type": "image/jpeg",
                                                                    "data": base64.b64encode(PNG).decode()}}]}],
        [{"role": "user", "content": "q"}, {"role": "assistant", "content": [pdf]}, {"role": "user", "content": "q"}],
        [{"role": "user", "content": [{"type": "text", "text": "q", "citations": [
            {"type": "char_location", "cited_text": "q", "document_index": 0, "start_char_index": 0,
             "end_char_index": 1}]}]}],
        [{"role": "user", "content": [{"type": "document", "source": {"type": "file", "file_id": "file_nope"}}]}],
        [{"role": "user", "content": [{"type": "image", "source": {"type": "base64", "media_type": "image/png",
                                                                    "data": base64.b64encode(PNG + bytes(6 << 20)).decode()}}]}],
    ]
    expected = ["media_type", "does not match the provided media type", "not allowed in assistant messages",
                "citations are not allowed on text blocks in user", "anthropic-beta", "image exceeds 5 MB maximum"]
    for messages, words in zip(bad, expected):
        with pytest.raises(anthropic.BadRequestError, match=words):
            client.messages.create(model="claude-sonnet-5-5", max_tokens=50, messages=messages)


def test_documents_survive_replies_that_are_scripted(nb, folder):
    nb.sim.queue(Reply.text("Scripted."))
    nb.run("%%claude --file notes.md\nq")
    assert Path("notes.md").read_text() == NOTES and user_blocks(nb)[0]["type"] == "document"


def test_ask_with_a_file_that_is_not_a_path_is_one_line(nb):
    import claude_magic
    from claude_magic.errors import BadInput

    with pytest.raises(BadInput, match="--file takes paths"):
        claude_magic.ask("q", file=42)
    assert nb.requests == []


def test_map_batch_with_an_uploaded_file_sends_the_beta_header_on_the_batch(nb, folder):
    nb.run("%config ClaudeMagics.upload_above = 10")
    nb.run("%config ClaudeMagics.batch_poll_interval = 0")
    nb.ns["questions"] = ["Who?", "Why?"]
    result, captured = nb.run("%%claude --map questions --batch --file notes.md --out answers\n{item}")
    assert result.error_in_exec is None, error_text(captured)
    created = next(r for r in nb.sim.requests if r["path"] == "/v1/messages/batches" and r["method"] == "POST")
    assert created["headers"]["anthropic-beta"] == "files-api-2025-04-14"
    assert all("extra_headers" not in item["params"] for item in created["body"]["requests"])
    assert all(answer for answer in nb.ns["answers"])


def test_simulator_streams_citations_as_citations_delta_events(nb):
    import anthropic

    client = anthropic.Anthropic(base_url=nb.sim.url, api_key="test")
    document = {"type": "document", "title": "n.txt", "citations": {"enabled": True},
                "source": {"type": "text", "media_type": "text/plain", "data": NOTES}}
    events = list(client.messages.create(model="claude-sonnet-5-5", max_tokens=300, stream=True, messages=[
        {"role": "user", "content": [document, {"type": "text", "text": "What does it say?"}]}]))
    deltas = [e.delta for e in events if e.type == "content_block_delta"]
    cited = [d.citation for d in deltas if d.type == "citations_delta"]
    assert [c.cited_text for c in cited] == ["Ravens can solve puzzles."]
    assert NOTES[cited[0].start_char_index:cited[0].end_char_index] == cited[0].cited_text


def test_citations_go_back_in_the_params_shape(nb, folder, monkeypatch):
    """An uploaded text file's citation carries file_id, and a title may be null: the history sends
    exactly the param fields, nulls included, and the simulator refuses anything else, like the API."""
    nb.run("%config ClaudeMagics.upload_above = 10")
    nb.run("%%claude --cite --file notes.md\nq")
    assert nb.ns["last_message"].content[2].citations[0].file_id  # the response has it…
    result, captured = nb.run("%%claude\nAnd then?")
    assert result.error_in_exec is None, error_text(captured)
    cited = [c for b in nb.requests[-1]["body"]["messages"][1]["content"] for c in b.get("citations") or []]
    assert cited and all(set(c) == {"type", "cited_text", "document_index", "document_title", "start_char_index",
                                    "end_char_index"} for c in cited)  # …the history does not send it back


def test_simulator_refuses_citations_not_in_the_params_shape(nb):
    import anthropic

    client = anthropic.Anthropic(base_url=nb.sim.url, api_key="test", max_retries=0)
    citation = {"type": "char_location", "cited_text": "q", "document_index": 0, "start_char_index": 0,
                "end_char_index": 1}
    for bad, words in [(citation, "document_title: Field required"),
                       ({**citation, "document_title": None, "file_id": "f"}, "file_id: Extra inputs")]:
        with pytest.raises(anthropic.BadRequestError, match=words):
            client.messages.create(model="claude-sonnet-5-5", max_tokens=50, messages=[
                {"role": "user", "content": "q"},
                {"role": "assistant", "content": [{"type": "text", "text": "a", "citations": [bad]}]},
                {"role": "user", "content": "q"}])
