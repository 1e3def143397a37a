"""One fence parser (CommonMark's fences) for cutting, code extraction and closing a cut answer's fence."""

from __future__ import annotations

import mistune
import pytest
from conftest import error_text, final_markdown

from claude_magic.simulator import Reply
from claude_magic.view.blocks import finished_end
from claude_magic.view.codeblocks import CodeBlock, code_blocks
from claude_magic.view.fences import CLOSE, INSIDE, OPEN, OUTSIDE, Fence, Fences, opening, unclosed
from claude_magic.view.markdown import close_fences


def states(text: str) -> list[str]:
    fences = Fences()
    return [fences.feed(line) for line in text.splitlines()]


def test_backticks_and_tildes_of_three_or_more_open_a_fence():
    assert opening("```python") == Fence("`", 3, 0, "python")
    assert opening("~~~~ py title=a") == Fence("~", 4, 0, "py title=a")
    assert opening("   ```") == Fence("`", 3, 3, "")
    assert opening("    ```") is None  # four spaces: indented code, not a fence
    assert opening("``") is None and opening("``` a`b") is None  # too short; an inline code span


def test_only_the_same_character_at_least_as_long_closes():
    assert states("````\n```\n~~~~\n`````\nafter") == [OPEN, INSIDE, INSIDE, CLOSE, OUTSIDE]
    assert states("~~~\n```\n~~~ not\n  ~~~~  \n") == [OPEN, INSIDE, INSIDE, CLOSE]
    assert states("```\n    ```\n") == [OPEN, INSIDE]  # indented four: content


def test_a_fence_in_a_list_item_is_indented_from_the_items_content():
    text = "1. Load it:\n    ```python\n    x = 1\n    ```\n2. Done."
    assert states(text) == [OUTSIDE, OPEN, INSIDE, CLOSE, OUTSIDE]
    # A line indented less than the item's content ends the item, and its fence with it.
    assert states("- a\n  ```\n  x\n```\ny") == [OUTSIDE, OPEN, INSIDE, OPEN, INSIDE]


@pytest.mark.parametrize(("text", "closing"), [
    ("~~~python\nx = 1", "~~~"),
    ("````markdown\n```python\nprint(1)\n```\nmore", "````"),
    ("```\ncode\n", "```"),
    ("- item\n  ```py\n  x", "```"),
])
def test_close_fences_closes_the_fence_left_open_whatever_its_kind(text, closing):
    closed = close_fences(text)
    assert closed.rstrip().endswith(closing) and unclosed(closed) is None
    assert unclosed(closed + "\n\n<sub>footer</sub>") is None


def test_close_fences_leaves_closed_text_alone():
    for text in ("```python\nx = 1\n```", "~~~\n```\n~~~", "````\n```\n````\nafter", "no fence"):
        assert close_fences(text) == text


def test_the_three_users_agree_on_a_nested_longer_fence():
    text = "````markdown\n```python\nprint(1)\n```\n\nstill inside\n````\n\nAfter.\n"
    assert code_blocks(text) == [CodeBlock("markdown", "```python\nprint(1)\n```\n\nstill inside")]
    assert text[finished_end(text):] == "After.\n"  # no cut at the blank line inside the fence
    assert close_fences(text) == text


def test_an_answer_cut_inside_a_tilde_fence_keeps_its_footer_out_of_the_code(nb):
    nb.sim.queue(Reply.text("Here:\n\n~~~python\nx = 1\ny = 2\nz = 3\nw = 4\n~~~\n\nDone."))
    result, captured = nb.run("%%claude --max-tokens 6\nCode please.")
    assert result.error_in_exec is None, error_text(captured)
    html = mistune.html(final_markdown(captured))
    assert "<sub>" in html and "max_tokens" in html.split("</code></pre>")[-1]


def test_an_answer_cut_inside_a_four_backtick_fence_holding_three_backtick_lines(nb):
    nb.sim.queue(Reply.text("Markdown:\n\n````markdown\n```python\nprint(1)\n```\nmore text here and here\n````"))
    result, captured = nb.run("%%claude --max-tokens 6\nShow markdown.")
    assert result.error_in_exec is None, error_text(captured)
    html = mistune.html(final_markdown(captured))
    assert "<sub>" in html and "max_tokens" in html.split("</code></pre>")[-1]
