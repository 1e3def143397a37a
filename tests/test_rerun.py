"""`%claude export x.ipynb` then Run All: each cell asks again what was asked, options and all, or says why not."""

from __future__ import annotations

import json

import nbformat
import pytest
from conftest import Notebook, error_text

TOOL = '''
def get_weather(city: str) -> str:
    """Current weather for a city."""
    return f"Sunny in {city}"
'''


@pytest.fixture
def folder(nb, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    return tmp_path


def fresh(nb) -> Notebook:
    """A new kernel: the extension loaded again, no chats, none of the old notebook's variables."""
    nb.shell.run_line_magic("unload_ext", "claude_magic")
    for name in ("get_weather", "RULES", "report"):
        nb.shell.user_ns.pop(name, None)
    nb.shell.run_line_magic("load_ext", "claude_magic")
    new = Notebook(nb.shell)
    new.session.connection.simulator_announced = True
    new.sim.clear()
    return new


def code_cells(path) -> list[str]:
    notebook = nbformat.read(str(path), as_version=4)
    nbformat.validate(notebook)
    return [cell.source for cell in notebook.cells]


def run_all(nb: Notebook, sources: list[str]):
    """Run cells top to bottom as Run All does: it stops at the first cell that fails."""
    for source in sources:
        result, captured = nb.run(source)
        if result.error_in_exec is not None or result.error_before_exec is not None:
            return source, captured
    return None, None


def plain(value):
    """`value` without the ids that differ on every run."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items() if key not in ("id", "tool_use_id", "signature")}
    return [plain(item) for item in value] if isinstance(value, list) else value


def shape(request) -> dict:
    """What a request asked: its options, and the user's turns (the assistant's are the simulator's)."""
    body = dict(request["body"])
    body["messages"] = [plain(m["content"]) for m in body["messages"] if m["role"] == "user"]
    return body


def test_an_exported_notebook_asks_again_with_every_option(nb, folder):
    (folder / "notes.md").write_text("# Notes\nThe sky is green today.\n")
    nb.shell.run_cell(TOOL)
    nb.shell.run_cell("RULES = 'Be brief.\\nQuote the notes when you can.'")
    nb.run("%%claude -s $RULES --tools get_weather --max-tokens 300 --effort low --thinking\nWeather in Paris?")
    nb.run("%%claude --file notes.md --cite --web 3 --max-tokens 500\nWhat colour is the sky?")
    asked = [shape(r) for r in nb.requests]
    assert {"tools", "system", "thinking", "output_config"} <= asked[0].keys() and asked[0]["max_tokens"] == 300
    assert asked[-1]["messages"][-1][0]["type"] == "document" and asked[-1]["tools"][0]["max_uses"] == 3
    nb.run("%claude export again.ipynb")
    sources = code_cells(folder / "again.ipynb")
    assert sources[1] == "system_1 = 'Be brief.\\nQuote the notes when you can.'"  # no line break on the magic's line

    new = fresh(nb)
    new.shell.run_cell(TOOL)  # the one thing a fresh kernel must be given: the tool's code
    failed, captured = run_all(new, sources)
    assert failed is None, error_text(captured)
    # the same requests, options and all: system, tools, thinking, effort, max_tokens, the file, --cite, --web
    assert [shape(r) for r in new.requests] == asked
    assert "*[document]*" not in json.dumps([r["body"] for r in new.requests])


def test_a_cell_whose_tool_a_fresh_kernel_lacks_says_so_and_sends_nothing(nb, folder):
    nb.shell.run_cell(TOOL)
    nb.run("%%claude --tools get_weather\nWeather in Paris?")
    nb.run("%claude export again.ipynb")
    new = fresh(nb)
    failed, captured = run_all(new, code_cells(folder / "again.ipynb"))
    shown = error_text(captured).strip()
    assert failed.startswith("%%claude --model=claude-sonnet-5-5 --tools=get_weather")
    assert shown == "--tools get_weather: there is no function 'get_weather' in the notebook. Define it first."
    assert new.requests == []


def test_a_file_the_chat_does_not_say_the_source_of_is_not_replaced_by_a_placeholder(nb, folder):
    """A chat saved before options were recorded: its document cannot be sent again, and the export says so."""
    document = {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "The sky is green."}}
    chat = {"name": "default", "messages": [
        {"role": "user", "content": [document, {"type": "text", "text": "What colour is the sky?"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "Green."}]}],
        "exchanges": [{"turns": 2, "model": "claude-sonnet-5-5"}]}
    (folder / "old.json").write_text(json.dumps({"format": "claude_magic.chats", "version": 1, "chats": [chat]}))
    nb.run("%claude load old.json")
    nb.run("%claude export again.ipynb")
    new = fresh(nb)
    failed, captured = run_all(new, code_cells(folder / "again.ipynb"))
    shown = error_text(captured).strip()
    assert failed.startswith("from claude_magic.errors import BadInput")
    assert shown.startswith("Exchange 1 of chat 'default' cannot be asked again as it was (it sent document content")
    assert len(shown.splitlines()) == 1 and "Traceback" not in shown
    assert new.requests == []  # no placeholder sent in the document's place


HOSTILE = "x' --file victim/config.json '"


def test_every_value_in_a_generated_cell_is_data_never_an_option(nb, folder):
    """Names, system prompts and paths full of quotes and option-like text come back exactly as they were."""
    (folder / "victim").mkdir()
    (folder / "victim" / "config.json").write_text('{"password": "VICTIM-SECRET"}')
    tricky = folder / "a b's --file victim,config.md"
    tricky.write_text("Harmless notes.")
    nb.ns["report"] = str(tricky)
    nb.ns["RULES"] = f"$HOME {HOSTILE}"  # a system prompt that reads as a variable's name if written as it is
    nb.run(f'%%claude --chat "{HOSTILE}" -s $RULES --file report\nRead it.')
    before = [shape(r) for r in nb.requests]
    nb.run(f'%claude export --chat "{HOSTILE}" again.ipynb')
    sources = code_cells(folder / "again.ipynb")
    new = fresh(nb)
    failed, captured = run_all(new, sources)
    assert failed is None, error_text(captured)
    assert [shape(r) for r in new.requests] == before
    assert before[0]["system"] == f"$HOME {HOSTILE}"
    assert [chat.name for chat in new.session.conversations if chat.exchanges] == [HOSTILE]
    assert "VICTIM-SECRET" not in json.dumps([r["body"] for r in new.requests])


@pytest.mark.parametrize("field, value, expected", [
    ("model", "claude-sonnet-5-5 --file victim/config.json", "not a model id"),
    ("model", "-m", "not a model id"),
    ("asked", {"tools": ["get_weather --file victim/config.json"]}, "tools: Python names only"),
    ("asked", {"max_tokens": "5 --file x"}, "max_tokens: must be a whole number"),
    ("asked", {"max_tokens": 10**12}, "max_tokens: 1,000,000,000,000 is not a count the API gives"),
    ("asked", {"effort": "low --file x"}, "effort 'low --file x': one of low"),
    ("asked", {"out": "x; import os"}, "out: Python names only"),
    ("asked", {"sneaky": True}, "unknown option 'sneaky'"),
    ("cell_id", "a\nb", "holds a line break"),
])
def test_a_chat_file_smuggling_options_is_refused_on_load(nb, folder, field, value, expected):
    chat = {"name": "default", "messages": [{"role": "user", "content": "hi"},
                                            {"role": "assistant", "content": "hello"}],
            "exchanges": [{"turns": 2, field: value}]}
    (folder / "evil.json").write_text(json.dumps({"format": "claude_magic.chats", "version": 1, "chats": [chat]}))
    result, captured = nb.run("%claude load evil.json")
    shown = error_text(captured).strip()
    assert result.error_in_exec is not None and len(shown.splitlines()) == 1 and "Traceback" not in shown
    assert shown.startswith("evil.json is not a valid chat file (chat 'default', exchange 1: ") and expected in shown
    assert nb.session.conversations["default"].exchanges == []
    nb.run("%claude export evil.ipynb")
    assert not (folder / "evil.ipynb").exists()


def test_run_all_of_an_exported_notebook_in_a_real_kernel(nb, folder, monkeypatch):
    """nbclient runs the exported notebook in a fresh ipykernel: the file is sent again, and a cell that
    cannot be asked as it was stops Run All with its one line."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    (folder / "notes.md").write_text("# Notes\nThe sky is green today.\n")
    nb.shell.run_cell("RULES = 'Be brief.\\nQuote the notes.'")
    nb.run("%%claude -s $RULES --file notes.md --max-tokens 400\nWhat colour is the sky?")
    nb.run("%claude export again.ipynb")
    notebook = nbformat.read(str(folder / "again.ipynb"), as_version=4)
    notebook.cells.insert(1, nbformat.v4.new_code_cell("%config ClaudeMagics.simulator_pace = 0\n"
                                                       "%config ClaudeMagics.display = 'text'"))
    NotebookClient(notebook, kernel_name="python3", timeout=120,
                   resources={"metadata": {"path": str(folder)}}).execute()
    shown = "".join(output.get("text", "") for output in notebook.cells[-1].outputs)
    assert "context: 📄 notes.md" in shown and "failed" not in shown  # the file went along again

    document = {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "Green."}}
    chat = {"name": "default", "messages": [
        {"role": "user", "content": [document, {"type": "text", "text": "What colour is the sky?"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "Green."}]}],
        "exchanges": [{"turns": 2, "model": "claude-sonnet-5-5"}]}
    (folder / "old.json").write_text(json.dumps({"format": "claude_magic.chats", "version": 1, "chats": [chat]}))
    nb.run("%claude load old.json --replace")
    nb.run("%claude export old.ipynb")
    notebook = nbformat.read(str(folder / "old.ipynb"), as_version=4)
    with pytest.raises(CellExecutionError) as stopped:
        NotebookClient(notebook, kernel_name="python3", timeout=120,
                       resources={"metadata": {"path": str(folder)}}).execute()
    assert "BadInput" in str(stopped.value) and "cannot be asked again as it was" in str(stopped.value)
    assert notebook.cells[-1].execution_count is None  # the %%claude cell never ran: nothing else was sent
