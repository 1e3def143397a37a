"""`%claude save` / `load` and autosave: chats written to disk and continued in a fresh session."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import Notebook, error_text

from claude_magic import persistence, stores
from claude_magic.simulator import Reply


@pytest.fixture
def folder(nb, tmp_path, monkeypatch):
    """The notebook's folder: the kernel's working directory, where chats are saved by default."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    return tmp_path


def two_exchanges(nb, chat="default"):
    nb.sim.queue(Reply.text("Paris."), Reply.text("About 2 million."))
    nb.run(f"%%claude --chat {chat}\nCapital of France?", cell_id="c1")
    nb.run(f"%%claude --chat {chat}\nIts population?", cell_id="c2")


def fresh(nb) -> Notebook:
    """What a new kernel would have: the extension loaded again, with no chats."""
    nb.shell.run_line_magic("unload_ext", "claude_magic")
    nb.shell.run_line_magic("load_ext", "claude_magic")
    new = Notebook(nb.shell)
    new.session.connection.simulator_announced = True
    new.sim.clear()
    return new


def user_prompts(request):
    return [m["content"] for m in request["body"]["messages"] if m["role"] == "user"]


def test_save_then_load_in_a_fresh_session_continues_the_chat(nb, folder):
    two_exchanges(nb)
    _, captured = nb.run("%claude save")
    assert captured.stdout.strip() == "Saved chat 'default' (2 exchanges) to default.claude.json."
    data = json.loads((folder / "default.claude.json").read_text())
    assert data["format"] == "claude_magic.chats" and data["version"] == 1
    (chat,) = data["chats"]
    assert chat["messages"] == [
        {"role": "user", "content": "Capital of France?"},
        {"role": "assistant", "content": [{"type": "text", "text": "Paris."}]},
        {"role": "user", "content": "Its population?"},
        {"role": "assistant", "content": [{"type": "text", "text": "About 2 million."}]},
    ]
    assert [e["cell_id"] for e in chat["exchanges"]] == ["c1", "c2"]
    assert chat["exchanges"][0]["model"] == "claude-sonnet-5-5"
    assert chat["exchanges"][1]["usage"]["output_tokens"] == 3

    new = fresh(nb)
    assert new.session.conversations["default"].exchanges == []
    _, captured = new.run("%claude load")
    assert "2 exchange(s) loaded into chat 'default' from default.claude.json" in captured.stdout
    new.sim.queue(Reply.text("Seine."))
    new.run("%%claude\nAnd its river?", cell_id="c3")
    assert user_prompts(new.requests[-1]) == ["Capital of France?", "Its population?", "And its river?"]
    # a loaded cell id still means "this cell": re-running c2 replaces its own exchange
    new.sim.queue(Reply.text("2.1 million."))
    new.run("%%claude\nIts population, precisely?", cell_id="c2")
    assert user_prompts(new.requests[-1]) == ["Capital of France?", "Its population, precisely?"]


def test_save_all_and_load_all_bring_back_every_chat(nb, folder):
    two_exchanges(nb)
    two_exchanges(nb, chat="sql")
    _, captured = nb.run("%claude save --all")
    assert sorted(p.name for p in folder.iterdir()) == ["default.claude.json", "sql.claude.json"]
    nb.run("%claude save --all everything.json")
    assert [c["name"] for c in json.loads((folder / "everything.json").read_text())["chats"]] == ["default", "sql"]
    new = fresh(nb)
    _, captured = new.run("%claude load --all")
    assert "chat 'default'" in captured.stdout and "chat 'sql'" in captured.stdout
    assert len(new.session.conversations["sql"].exchanges) == 2
    other = fresh(new)
    other.run("%claude load everything.json")
    assert [len(c.exchanges) for c in other.session.conversations] == [2, 2]


def test_chat_names_become_safe_file_names_next_to_the_notebook(nb, folder, monkeypatch):
    monkeypatch.setenv("JPY_SESSION_NAME", str(folder / "analysis 1.ipynb"))
    nb.sim.queue(Reply.text("ok"))
    nb.run('%%claude --chat "../etc/pass wd"\nhi')
    nb.run('%claude save --chat "../etc/pass wd"')
    (saved,) = folder.iterdir()
    assert saved.name.startswith("analysis_1.etc_pass_wd-") and saved.name.endswith(".claude.json")
    assert persistence.default_files(folder) == [saved]


def test_save_to_a_folder_uses_the_chat_file_name_inside_it(nb, folder):
    two_exchanges(nb)
    (folder / "chats").mkdir()
    nb.run("%claude save chats")
    assert (folder / "chats" / "default.claude.json").is_file()
    fresh(nb).run("%claude load chats")


def test_relative_paths_start_from_chats_folder(nb, folder):
    two_exchanges(nb)
    (folder / "kept").mkdir()
    nb.run("%config ClaudeMagics.chats_folder = 'kept'")
    nb.run("%claude save")
    nb.run("%claude save mine.json")
    nb.run("%claude export mine.md")
    assert sorted(p.name for p in (folder / "kept").iterdir()) == ["default.claude.json", "mine.json", "mine.md"]
    nb.run(f"%claude save {folder / 'absolute.json'}")
    assert (folder / "absolute.json").is_file()


def test_loading_into_a_chat_with_turns_asks_for_replace_or_append(nb, folder):
    two_exchanges(nb)
    nb.run("%claude save")
    nb.sim.queue(Reply.text("Later."))
    nb.run("%%claude\nSomething else", cell_id="c9")
    _, captured = nb.run("%claude load")
    assert "already has exchanges: load with `--replace`" in error_text(captured)
    assert "Traceback" not in error_text(captured)
    assert len(nb.session.conversations["default"].exchanges) == 3
    nb.run("%claude load --append")
    prompts = [e.user["content"] for e in nb.session.conversations["default"].exchanges]
    assert prompts == ["Capital of France?", "Its population?", "Something else", "Capital of France?",
                       "Its population?"]
    # the appended copies lose the cell ids already in use, so re-running c1 replaces the original only
    assert [e.cell_id for e in nb.session.conversations["default"].exchanges] == ["c1", "c2", "c9", None, None]
    nb.run("%claude load --replace")
    assert len(nb.session.conversations["default"].exchanges) == 2
    _, captured = nb.run("%claude load --replace --append")
    assert "Choose one" in error_text(captured)


CHAT = '{"format": "claude_magic.chats", "version": 1, "chats": [{"name": %s, "messages": %s, "exchanges": %s}]}'
PAIR = '[{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]'


@pytest.mark.parametrize(
    "content, expected",
    [
        (None, "No saved chat at"),
        ("{not json", "is not valid JSON"),
        ('{"hello": "world"}', "is not a claude_magic chat file"),
        ('[1, 2]', "is not a claude_magic chat file"),
        ('{"format": "claude_magic.chats", "version": 99, "chats": []}', "version 99"),
        (CHAT % ('"x"', "[]", '[{"turns": 2}]'), "turns must alternate"),
        (CHAT % ('"x"', PAIR, "[]"), "do not account for all 2 messages"),
        (CHAT % ('""', "[]", "[]"), "non-empty name"),
        (CHAT % ('"x"', PAIR, '[{"turns": 2, "usage": "lots"}]'), "usage: must be an object"),
        (CHAT % ('"x"', PAIR, '[{"turns": 2, "usage": {"input_tokens": -1}}]'), "input_tokens: -1 is not a count the API gives"),
        (CHAT % ('"x"', PAIR, '[{"turns": 2, "model": 5}]'), "model: must be text or null"),
        (CHAT % ('"x"', "{}", "[]"), "needs lists of messages and exchanges"),
        (b"\xff\xfe not utf-8", "is not UTF-8"),
        # JSON nested 10^5 deep: refused, not a RecursionError
        ("[" * 100_000, "bad.json is JSON nested far too deeply to be one"),
        ('{"format": "claude_magic.chats", "version": 1, "chats": ' + "[" * 500 + "]" * 500 + "}",
         "nested more than 64 levels deep"),
        # what the API would refuse in every later cell (a 400): refused on load instead
        (CHAT % ('"x"', '[{"role": "user", "content": ""}, {"role": "assistant", "content": "b"}]', '[{"turns": 2}]'),
         "message 1: empty content, which the API refuses"),
        (CHAT % ('"x"', '[{"role": "user", "content": "a"}, {"role": "assistant", "content": []}]', '[{"turns": 2}]'),
         "message 2: content must be non-empty text or a non-empty list of blocks"),
        (CHAT % ('"x"', ('[{"role": "user", "content": [{"type": "text", "text": " "}]}, '
                 '{"role": "assistant", "content": "b"}]'), '[{"turns": 2}]'), "text.text must be non-empty text"),
        (CHAT % ('"x"', ('[{"role": "user", "content": "a"}, {"role": "assistant", "content": [{"type": "image", '
                 '"source": {"type": "base64"}}]}]'), '[{"turns": 2}]'), "the API takes no 'image' block in assistant turns"),
        (CHAT % ('"x"', ('[{"role": "user", "content": "a"}, {"role": "assistant", "content": [{"type": "tool_use", '
                 '"id": "t1", "name": "f", "input": {}}]}]'), '[{"turns": 2}]'), "tool call 't1' has no result"),
        (CHAT % ('"x"', PAIR, '[{"turns": 2, "usage": {"input_tokens": 1000000000000000}}]'),
         "input_tokens: 1,000,000,000,000,000 is not a count the API gives"),
        (CHAT % ('"x"', PAIR, '[{"turns": 2, "usage": {"input_tokens": 900000, "output_tokens": 900000}}]'),
         "tokens in all: 1,800,000 is not a count the API gives"),
        (CHAT % ('"x"', PAIR, '[{"turns": 2, "usage": {"input_tokens": true}}]'), "must be a whole number"),
        (CHAT % ('"x"', PAIR, '[{"turns": 2, "system": "  "}]'), "an empty system prompt"),
        (CHAT % ('"a\\nb"', PAIR, '[{"turns": 2}]'), "chat name 'a\\nb': holds a line break"),
        (CHAT % ('"' + "n" * 500 + '"', PAIR, '[{"turns": 2}]'), "more than the 200 a name may have"),
    ],
)
def test_a_broken_or_foreign_file_is_one_line_and_leaves_the_chat_untouched(nb, folder, content, expected):
    two_exchanges(nb)
    before = nb.session.conversations["default"].messages()
    if isinstance(content, bytes):
        (folder / "bad.json").write_bytes(content)
    elif content is not None:
        (folder / "bad.json").write_text(content)
    result, captured = nb.run("%claude load bad.json --replace")
    shown = error_text(captured)
    assert expected in shown and "Traceback" not in shown and len(shown.strip().splitlines()) == 1, shown
    assert result.error_in_exec is not None
    assert nb.session.conversations["default"].messages() == before
    assert [chat.name for chat in nb.session.conversations] == ["default"]  # nothing loaded


def test_after_a_refused_chat_file_the_next_cell_is_answered(nb, folder):
    two_exchanges(nb)
    (folder / "bad.json").write_text(CHAT % ('"default"', ('[{"role": "user", "content": ""}, '
                                             '{"role": "assistant", "content": "b"}]'), '[{"turns": 2}]'))
    nb.run("%claude load bad.json --replace")
    nb.sim.queue(Reply.text("Still here."))
    result, captured = nb.run("%%claude\nAnd its river?")
    assert result.error_in_exec is None, error_text(captured)
    assert user_prompts(nb.requests[-1]) == ["Capital of France?", "Its population?", "And its river?"]


def test_a_huge_file_is_refused_before_reading(nb, folder, monkeypatch):
    monkeypatch.setattr(stores, "MAX_BYTES", 10)
    (folder / "big.json").write_text(" " * 100)
    _, captured = nb.run("%claude load big.json")
    assert "big.json is 100 bytes, too large to be a claude_magic chat file" in error_text(captured)


def test_a_folder_or_unwritable_path_is_one_line_and_writes_nothing(nb, folder):
    two_exchanges(nb)
    _, captured = nb.run("%claude load .")
    assert "No saved chat at default.claude.json" in error_text(captured)
    _, captured = nb.run("%claude save missing/chat.json")
    assert "There is no folder missing" in error_text(captured)
    for line, expected in [(f"%claude save {'x' * 5000}.json", "(File name too long)"),
                           (f"%claude export {'x' * 5000}.md", "(File name too long)"),
                           ('%claude save " "', "The PATH is empty")]:
        _, captured = nb.run(line)
        assert expected in error_text(captured) and "Traceback" not in error_text(captured), line
    locked = folder / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("running as a user who can write anywhere")
        _, captured = nb.run("%claude save locked/chat.json")
        assert "locked/chat.json cannot be written (Permission denied)" in error_text(captured)
    finally:
        locked.chmod(0o700)
    assert list(locked.iterdir()) == []


def test_nothing_to_save_and_bad_options_are_one_line(nb, folder):
    for line, expected in [
        ("%claude save", "has no exchanges yet: nothing to save"),
        ("%claude save --all", "No chat has exchanges yet"),
        ("%claude save a.json b.json", "unrecognized arguments: b.json"),
        ("%claude load --keep 3", "unrecognized arguments: --keep."),
        ("%claude history --all", "unrecognized arguments: --all"),
        ("%claude load --all", "No saved chats in ."),
        ('%claude load ""', "The PATH is empty"),
        (f"%claude load {'x' * 5000}.json", "(File name too long)"),
        (f"%claude save --all {'x' * 5000}.json", "No chat has exchanges yet"),
    ]:
        _, captured = nb.run(line)
        assert expected in error_text(captured), line
    assert list(folder.iterdir()) == []


def test_a_failed_write_keeps_the_old_file_whole_and_leaves_no_litter(nb, folder, monkeypatch):
    two_exchanges(nb)
    nb.run("%claude save")
    saved = (folder / "default.claude.json").read_text()

    def crash(*args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(persistence.os, "fsync", crash)
    nb.sim.queue(Reply.text("Third."))
    nb.run("%%claude\nOne more")
    _, captured = nb.run("%claude save")
    assert "default.claude.json cannot be written (No space left on device)" in error_text(captured)
    assert (folder / "default.claude.json").read_text() == saved
    assert [p.name for p in folder.iterdir()] == ["default.claude.json"]


def test_autosave_writes_after_every_change_and_load_ext_offers_the_chats(nb, folder, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-secret-key-1234")
    nb.run("%config ClaudeMagics.backend = 'simulator'")
    nb.run("%config ClaudeMagics.autosave = True")
    two_exchanges(nb)
    path = folder / "default.claude.json"
    assert [m["role"] for m in json.loads(path.read_text())["chats"][0]["messages"]] == ["user", "assistant"] * 2
    nb.run("%claude undo")
    assert len(json.loads(path.read_text())["chats"][0]["exchanges"]) == 1
    assert "sk-ant-secret" not in path.read_text() and "authorization" not in path.read_text().lower()
    nb.shell.run_line_magic("unload_ext", "claude_magic")
    from IPython.utils.capture import capture_output

    with capture_output() as captured:
        nb.shell.run_line_magic("load_ext", "claude_magic")
    assert captured.stdout.strip() == (
        "1 saved chat from an earlier session here (`default.claude.json`): `%claude load --all` brings them back."
    )


def test_autosave_failure_is_a_line_and_the_answer_is_kept(nb, folder, monkeypatch):
    nb.run(f"%config ClaudeMagics.chats_folder = {str(folder / 'gone')!r}")
    nb.run("%config ClaudeMagics.autosave = True")
    nb.sim.queue(Reply.text("Kept."))
    result, captured = nb.run("%%claude\nhello")
    assert result.error_in_exec is None
    assert "claude_magic autosave: There is no folder" in captured.stderr
    assert len(nb.session.conversations["default"].exchanges) == 1


TOOL = '''
def get_weather(city: str) -> str:
    """Current weather for a city."""
    return f"Sunny in {city}"
'''


def test_export_markdown_is_a_readable_transcript(nb, folder):
    nb.shell.run_cell(TOOL)
    nb.sim.queue(Reply.tool_use("get_weather", {"city": "Paris"}, text="Let me check."),
                 Reply.text("## Weather\n\nIt is *sunny* in Paris."), Reply.text("Take sunglasses."))
    nb.run("%%claude --tools get_weather -s 'Be brief.'\nWeather in Paris?\nToday, please.")
    nb.run("%%claude --no-interp\nWhat should I {bring}?")
    _, captured = nb.run("%claude export chat.md")
    assert captured.stdout.strip() == "Exported chat 'default' (2 exchanges) to chat.md."
    text = (folder / "chat.md").read_text()
    assert text.startswith("# Chat `default`\n\n## 1. You\n\n*System prompt:* Be brief.\n\n"
                           "> Weather in Paris?\n> Today, please.\n\n### Claude\n\nLet me check.")
    assert '🔧 `get_weather({"city": "Paris"})`' in text and "↳ result: `Sunny in Paris`" in text
    assert "## Weather\n\nIt is *sunny* in Paris.\n\n<sub>claude-sonnet-5-5 · " in text
    assert "## 2. You\n\n> What should I {bring}?\n\n### Claude\n\nTake sunglasses.\n\n<sub>" in text


def test_export_ipynb_is_a_notebook_of_claude_cells_with_their_answers(nb, folder):
    import nbformat

    nb.sim.queue(Reply.text("**Paris.**"), Reply.text("Use `{}`."))
    nb.run("%%claude --chat geo\nCapital of France?")
    nb.run("%%claude --chat geo --no-interp\nHow do I write {x} in an f-string?")
    nb.run("%claude export --chat geo geo.ipynb")
    notebook = nbformat.read(folder / "geo.ipynb", as_version=4)
    nbformat.validate(notebook)
    sources = [cell.source for cell in notebook.cells]
    assert sources == [
        "%load_ext claude_magic",
        "%%claude --chat=geo --model=claude-sonnet-5-5\nCapital of France?",
        "%%claude --chat=geo --no-interp --model=claude-sonnet-5-5\nHow do I write {x} in an f-string?",
    ]
    (output,) = notebook.cells[1].outputs
    assert output.data["text/markdown"].startswith("**Paris.**\n\n<sub>claude-sonnet-5-5 · ")


def test_export_refuses_other_suffixes_and_empty_chats(nb, folder):
    _, captured = nb.run("%claude export chat.md")
    assert "has no exchanges yet: nothing to export" in error_text(captured)
    nb.sim.queue(Reply.text("ok"))
    nb.run("%%claude\nhi")
    for line, expected in [("%claude export chat.txt", "writes a .md transcript or an .ipynb notebook"),
                           ("%claude export", "the following arguments are required: PATH.md|PATH.ipynb"),
                           ("%claude export .", "not '.'"),
                           ("%claude export out.md", "out.md is a folder: give a file name")]:
        (folder / "out.md").mkdir(exist_ok=True)
        _, captured = nb.run(line)
        assert expected in error_text(captured), line
    assert [p.name for p in folder.iterdir()] == ["out.md"]


FRESH_PROCESS = '''
import json
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

shell = InteractiveShell.instance()
with capture_output() as offered:
    shell.run_line_magic("load_ext", "claude_magic")
magics = shell.magics_manager.registry["ClaudeMagics"]
magics.simulator_pace, magics.display, magics.cache = 0, "text", False
with capture_output():
    shell.run_cell("%claude load --all")
    shell.run_cell("%%claude\\nAnd its river?")
sent = [r for r in magics.session.connection.simulator.requests if r["path"] == "/v1/messages"][-1]
print(json.dumps({"offered": offered.stdout, "messages": sent["body"]["messages"]}))
'''


def test_a_new_process_is_offered_the_autosaved_chat_and_continues_it(nb, folder):
    nb.run("%config ClaudeMagics.autosave = True")
    two_exchanges(nb)
    package = str(Path(__file__).resolve().parents[1])
    environment = {key: value for key, value in os.environ.items() if not key.startswith("ANTHROPIC_")}
    environment["PYTHONPATH"] = package + os.pathsep + environment.get("PYTHONPATH", "")
    done = subprocess.run([sys.executable, "-c", FRESH_PROCESS], cwd=folder, env=environment,
                          capture_output=True, text=True, timeout=120, check=True)
    seen = json.loads(done.stdout.strip().splitlines()[-1])
    assert seen["offered"].startswith("1 saved chat from an earlier session here (`default.claude.json`)")
    assert [m["content"] for m in seen["messages"] if m["role"] == "user"] == [
        "Capital of France?", "Its population?", "And its river?"]
    assert seen["messages"][1] == {"role": "assistant", "content": [{"type": "text", "text": "Paris."}]}
