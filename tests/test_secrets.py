"""Credentials never leave the notebook: what the simulator received, the history and the files saved hold none.

Cells run numbered in a real InteractiveShell with keys in the environment; the assertions read the
request bodies the simulator got over HTTP, the Files API uploads, the chat history and the autosave.
"""

from __future__ import annotations

import json

import pytest
from conftest import error_text, final_markdown

import claude_magic
from claude_magic.secrets import note, redact, redact_content
from claude_magic.simulator import Reply

KEY = "sk-ant-api03-" + "K3y" * 20
GITHUB = "ghp_" + "g1thub" * 6


def numbered(nb, source: str) -> int:
    number = nb.shell.execution_count
    nb.shell.run_cell(source, store_history=True)
    return number


@pytest.fixture
def keyed(nb, monkeypatch, tmp_path):
    """A notebook whose environment holds an Anthropic key and a GitHub token, asking the simulator."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("GITHUB_TOKEN", GITHUB)
    nb.run("%config ClaudeMagics.backend = 'simulator'")
    nb.shell.rl_next_input = None
    yield nb
    nb.shell.rl_next_input = None


def everything_sent(nb) -> str:
    return json.dumps([request["body"] for request in nb.sim.requests], default=repr)


def assert_clean(nb, *, names=("ANTHROPIC_API_KEY",)) -> None:
    sent = everything_sent(nb)
    assert KEY not in sent and GITHUB not in sent
    for name in names:
        assert f"[redacted: ${name}]" in sent


def test_fix_of_a_cell_holding_the_key_sends_history_and_saves_no_key(keyed, tmp_path):
    keyed.run("%config ClaudeMagics.autosave = True")
    numbered(keyed, f'client_key = "{KEY}"\nraise ValueError("bad key " + client_key)')
    keyed.sim.queue(Reply.text("Use the environment.\n\n```python\nimport os\nos.environ['ANTHROPIC_API_KEY']\n```"))
    result, captured = keyed.run("%claude fix")
    assert result.error_in_exec is None, error_text(captured)
    assert_clean(keyed)
    prompt = keyed.requests[-1]["body"]["messages"][-1]["content"]
    assert 'client_key = "[redacted: $ANTHROPIC_API_KEY]"' in prompt and "bad key [redacted:" in prompt
    assert " · Redacted the value of ANTHROPIC_API_KEY from what was sent.</sub>" in final_markdown(captured)
    assert KEY not in json.dumps(claude_magic.history())
    saved = [path.read_text() for path in tmp_path.glob("*.json")]
    assert saved and not any(KEY in text for text in saved)
    keyed.run("%claude export chat.md")
    assert KEY not in (tmp_path / "chat.md").read_text()


def test_cell_references_cells_context_and_names_are_redacted(keyed):
    source = numbered(keyed, f'token = "{GITHUB}"\nkey = "{KEY}"')
    numbered(keyed, "key")
    result, captured = keyed.run(f"%%claude --cells --context token\nIn: {{In[{source}]}} Out: {{Out[-1]}} {{key}}")
    assert result.error_in_exec is None, error_text(captured)
    assert_clean(keyed, names=("ANTHROPIC_API_KEY", "GITHUB_TOKEN"))
    assert "Redacted the value of ANTHROPIC_API_KEY and GITHUB_TOKEN from what was sent." in final_markdown(captured)


def test_a_system_prompt_and_a_text_file_inline_or_uploaded_are_redacted(keyed, tmp_path):
    (tmp_path / "config.txt").write_text(f"api_key = {KEY}\n")
    keyed.ns["persona"] = f"You hold {KEY}."
    keyed.run("%%claude -s $persona --file config.txt\nWhat is in the file?")
    assert_clean(keyed)
    assert keyed.requests[-1]["body"]["system"] == "You hold [redacted: $ANTHROPIC_API_KEY]."
    keyed.run("%config ClaudeMagics.upload_above = 10")
    _, captured = keyed.run("%%claude --new --file config.txt\nAnd now?")
    file_id = keyed.requests[-1]["body"]["messages"][-1]["content"][0]["source"]["file_id"]
    data = keyed.sim.files.get(file_id)["data"]
    assert KEY.encode() not in data and b"[redacted: $ANTHROPIC_API_KEY]" in data
    assert "Redacted the value of ANTHROPIC_API_KEY" in final_markdown(captured)


def test_map_items_and_tool_results_are_redacted(keyed):
    keyed.ns["rows"] = ["plain", f"holds {KEY}"]
    _, captured = keyed.run("%%claude --map rows\nSay {item}")
    assert "Redacted the value of ANTHROPIC_API_KEY from what was sent." in captured.stdout
    assert_clean(keyed)

    def read_env(name: str) -> str:
        """Read an environment variable."""
        import os

        return os.environ[name]

    keyed.ns["read_env"] = read_env
    keyed.sim.queue(Reply.tool_use("read_env", {"name": "ANTHROPIC_API_KEY"}), Reply.text("Done."))
    _, captured = keyed.run("%%claude --tools read_env\nRead the key.")
    assert_clean(keyed)
    assert "Redacted the value of ANTHROPIC_API_KEY" in final_markdown(captured)


def test_nothing_to_redact_says_nothing(keyed):
    _, captured = keyed.run("%%claude\nHello.")
    assert "Redacted" not in final_markdown(captured)


def test_redact_is_pure_and_ignores_short_values():
    environ = {"ANTHROPIC_API_KEY": KEY, "HF_TOKEN": "short", "OPENAI_API_KEY": "sk-" + "o" * 40}
    text, names = redact(f"a {KEY} b {'sk-' + 'o' * 40} c short", environ)
    assert text == "a [redacted: $ANTHROPIC_API_KEY] b [redacted: $OPENAI_API_KEY] c short"
    assert names == ["ANTHROPIC_API_KEY", "OPENAI_API_KEY"]
    assert redact("nothing here", environ) == ("nothing here", [])
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": KEY}}
    content, names = redact_content([image, {"type": "text", "text": KEY}], environ)
    assert content[0] is image and content[1]["text"] == "[redacted: $ANTHROPIC_API_KEY]"
    assert note([]) is None and note(["B", "A"]) == "Redacted the value of A and B from what was sent."


def test_a_key_in_a_long_traceback_is_not_cut_in_two(keyed):
    keyed.magics.context_chars = 200  # the error keeps its first and last 100 characters: the key straddles the cut
    failed = numbered(keyed, f'raise ValueError("x" * 80 + "{KEY}" + "y" * 40)')
    _, captured = keyed.run(f"%%claude\n{{Err[{failed}]}}")
    sent = everything_sent(keyed)
    assert "y" * 40 in sent and KEY[-12:] not in sent and KEY[:12] not in sent
    assert "[redacted: $ANTHROPIC_API_KEY]" + "y" * 40 in sent
    assert "Redacted the value of ANTHROPIC_API_KEY" in final_markdown(captured)


def test_what_is_left_of_a_cut_value_is_redacted_too():
    environ = {"GITHUB_TOKEN": GITHUB}
    assert redact(f"cell: {GITHUB[:30]}...", environ) == ("cell: [redacted: $GITHUB_TOKEN]...", ["GITHUB_TOKEN"])
    assert redact(f"… {GITHUB[-20:]} end", environ) == ("… [redacted: $GITHUB_TOKEN] end", ["GITHUB_TOKEN"])
    assert redact(f"{GITHUB[:10]} is too short a piece to tell", environ)[1] == []


def test_a_chat_saved_by_an_older_version_with_a_key_in_it_is_redacted_on_load(keyed, tmp_path):
    keyed.run(f"%%claude\nMy key is {KEY}, is it safe?")
    keyed.run("%claude save old.claude.json")
    saved = tmp_path / "old.claude.json"
    # What a version that did not redact would have saved:
    saved.write_text(saved.read_text().replace("[redacted: $ANTHROPIC_API_KEY]", KEY))
    assert KEY in saved.read_text()
    keyed.run("%claude reset")
    _, captured = keyed.run("%claude load old.claude.json")
    assert "Redacted the value of ANTHROPIC_API_KEY from the loaded chat" in captured.stdout
    keyed.run("%%claude\nAnd now?")
    assert KEY not in json.dumps(keyed.requests[-1]["body"])
    assert "[redacted: $ANTHROPIC_API_KEY]" in json.dumps(keyed.requests[-1]["body"]["messages"][0])
