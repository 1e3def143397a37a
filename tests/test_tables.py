"""Objects that render themselves: one table helper, cells that cannot break their row."""

from __future__ import annotations

from conftest import final_markdown
from IPython.core.formatters import format_display_data

from claude_magic.simulator import Reply
from claude_magic.view.escape import Markdown
from claude_magic.view.tables import Table, cell, markdown_table


def test_a_cell_is_one_line_and_a_pipe_cannot_split_the_row():
    assert cell("a | b\nc") == "a \\| b c"
    assert cell("a backslash \\| shows") == "a backslash \\\\\\| shows"  # `\\` then `\|`: both literal
    assert cell(Markdown("`a|b`")) == "`a\\|b`"  # GFM: a pipe in a code span in a table is escaped too
    table = markdown_table(["name", "n"], [("x|y", 3)], right=[1])
    assert table.splitlines() == ["| name | n |", "| --- | ---: |", "| x\\|y | 3 |"]


def test_chats_and_usage_render_themselves_in_a_notebook_and_a_terminal(nb):
    import claude_magic

    nb.sim.queue(Reply.text("Pipes | everywhere"), Reply.text("x"))
    nb.run("%%claude --chat a|b\nwhat | is this?")
    nb.run("%%claude\nhello")
    chats, usage = claude_magic.chats(), claude_magic.usage()
    data, _ = format_display_data(chats)
    assert "| a\\|b | 1 |" in data["text/markdown"] and "| default | 1 |" in data["text/markdown"]
    assert data["text/plain"] == data["text/markdown"]
    history = format_display_data(chats["a|b"])[0]["text/markdown"]
    assert "| 1 | what \\| is this? | Pipes \\| everywhere |" in history
    assert "| a\\|b | `claude-sonnet-5-5` | 1 |" in format_display_data(usage)[0]["text/markdown"]
    _, captured = nb.run("%claude history --chat 'a|b'")
    assert final_markdown(captured) == history
    _, captured = nb.run("%claude chats")
    assert final_markdown(captured) == data["text/markdown"]


def test_an_empty_table_says_so():
    assert Table(["model"], [], empty="No models.")._repr_markdown_() == "No models."
