"""What a cell's options and a line command's words are allowed to mean: nothing is ignored silently.

Through a real InteractiveShell and the simulator: a line command refuses cell options it would ignore,
`ask(cells=N)` works as documented, `--file` names the file that is missing (and takes a name holding a
comma), an empty `--file` or `--context` is one line, and `--map` templates are filled by the cell's own
interpolation (`{In[N]}` too) with each item's `{item}` / `{column}`.
"""

from __future__ import annotations

import pytest
from conftest import error_text

import claude_magic


def numbered(nb, source: str) -> int:
    number = nb.shell.execution_count
    nb.shell.run_cell(source, store_history=True)
    return number


def one_line(result, captured) -> str:
    shown = error_text(captured).strip()
    assert result.error_in_exec is not None and "Traceback" not in shown, shown
    assert len(shown.splitlines()) == 1, shown
    return shown


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("%claude reset --max-tokens 5", "`%claude reset` does not use --max-tokens (it takes --chat): leave it out."),
        ("%claude history --file x.txt", "`%claude history` does not use --file (it takes --chat): leave it out."),
        ("%claude usage -m claude-opus-5-5", "`%claude usage` does not use --model (it takes no options)"),
        ("%claude fix --count", "`%claude fix` does not use --count"),
        ("%claude tokens --cells 2", "`%claude tokens` does not use --cells"),
        ("%claude compact --file notes.md", "`%claude compact` does not use --file"),
    ],
)
def test_line_commands_refuse_options_they_would_ignore(nb, line, expected):
    result, captured = nb.run(line)
    assert expected in one_line(result, captured)
    assert nb.sim.requests == []


def test_line_commands_still_take_the_options_they_use(nb):
    nb.run("%%claude --chat notes\nRemember 7.")
    result, captured = nb.run("%claude reset --chat notes")
    assert result.error_in_exec is None and "Chat 'notes' is empty now." in captured.stdout


def test_ask_takes_a_number_of_cells_as_documented(nb):
    numbered(nb, "first = 1")
    numbered(nb, "second = 2")
    claude_magic.ask("What ran?", cells=1)
    prompt = nb.requests[-1]["body"]["messages"][-1]["content"][0]["text"]
    assert "second = 2" in prompt and "first = 1" not in prompt
    with pytest.raises(TypeError, match=r"ask\(cells=…\) takes a whole number"):
        claude_magic.ask("What ran?", cells=1.5)


def test_file_names_the_missing_file_and_takes_a_name_with_a_comma(nb, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a,b.txt").write_text("Ravens remember faces.\n")
    (tmp_path / "c.txt").write_text("Crows too.\n")
    result, captured = nb.run("%%claude --file a,b.txt\nWhat is in it?")
    assert result.error_in_exec is None, error_text(captured)
    assert nb.requests[-1]["body"]["messages"][-1]["content"][0]["title"] == "a,b.txt"
    result, captured = nb.run("%%claude --file c.txt,missing.txt\nAnd these?")
    assert one_line(result, captured).startswith("--file missing.txt: no such file")


@pytest.mark.parametrize("option", ["--file ''", "--context ''", "--file ' , '"])
def test_an_empty_file_or_context_is_one_line_not_dropped(nb, option):
    result, captured = nb.run(f"%%claude {option}\nWhat is in it?")
    assert "needs " in one_line(result, captured)
    assert nb.sim.requests == []


def test_map_templates_use_the_cells_own_interpolation(nb):
    source = numbered(nb, "words = ['raven', 'crow']\nunit = 'bird'")
    nb.run(f"%%claude --map words\nIs {{item}} a {{unit}}? Context: {{In[{source}]}} and {{In[-1]}}")
    prompts = sorted(request["body"]["messages"][-1]["content"] for request in nb.requests)
    cell = "words = ['raven', 'crow']\nunit = 'bird'"
    assert prompts == [f"Is crow a bird? Context: {cell} and {cell}", f"Is raven a bird? Context: {cell} and {cell}"]


def test_a_missing_cell_in_a_map_template_is_said_once(nb):
    nb.ns["words"] = ["raven", "crow", "jay"]
    _, captured = nb.run("%%claude --map words\n{item}: {In[99999]}")
    assert captured.stderr.count("there is no cell [99999]") == 1
    assert sorted(r["body"]["messages"][-1]["content"] for r in nb.requests) == [
        "crow: {In[99999]}", "jay: {In[99999]}", "raven: {In[99999]}"]
