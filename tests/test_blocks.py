from answers import message

from claude_magic.view.blocks import Cutter, finished_end
from claude_magic.view.markdown import markdown_of

# A heading, a list whose items are apart (one continued after a blank line), a table, a code fence
# holding blank lines, and a paragraph still being written.
ANSWER = """\
## Loading

Read the file in chunks.

1. Open it.

2. Read a chunk.

   A bad chunk is kept aside.

3. Concatenate.

| step | rows |
|---|---:|
| read | 10 |

```python
def load(path):

    return path
```

The rejects are kept.

Last words"""


def finished(text: str) -> str:
    return text[: finished_end(text)]


def test_cuts_only_where_a_new_block_starts_after_a_blank_line():
    assert finished("One paragraph\nstill going") == ""
    assert finished("One.\n\nTwo") == ""  # the line that would start a block has not ended yet
    assert finished("One.\n\nTwo\n") == "One.\n\n"
    assert finished("## Title\n\nText.\n\nMore\n") == "## Title\n\nText.\n\n"


def test_never_cuts_inside_a_code_fence():
    fence = "```python\na = 1\n\nb = 2\n\n"
    assert finished(fence + "c = 3\n") == ""
    assert finished(fence + "```\n\nAfter.\n") == fence + "```\n\n"
    assert finished("~~~\nx\n\n```\n\ny\n") == ""  # a backtick line does not close a tilde fence
    assert finished("````\n```\n\nz\n") == ""  # nor a shorter fence a longer one


def test_never_cuts_a_list_whose_items_are_apart():
    assert finished("- a\n\n- b\n\n  more of b\n\n- c\n") == ""
    assert finished("1. a\n\n2. b\n\nAfter the list.\n") == "1. a\n\n2. b\n\n"
    assert finished("Intro.\n\n- a\n") == "Intro.\n\n"  # a list after a paragraph is a new block


def test_a_table_ends_at_its_blank_line():
    table = "| a | b |\n|---|---|\n| 1 | 2 |\n\n"
    assert finished(table + "Next.\n") == table
    assert finished(table[:-1]) == ""


def test_finished_blocks_and_tail_rebuild_the_answer_as_it_grows():
    cutter = Cutter()
    pieces: list[str] = []
    for end in range(1, len(ANSWER) + 1, 7):
        new, tail = cutter.advance(message([{"type": "text", "text": ANSWER[:end]}]).content)
        pieces += new
    new, tail = cutter.advance(message([{"type": "text", "text": ANSWER}]).content)
    pieces += new
    assert "\n\n".join([*pieces, tail]) == ANSWER.replace("\n\n\n", "\n\n")
    assert pieces[0] == "## Loading"
    assert any(piece.startswith("1. Open it.") and piece.endswith("3. Concatenate.") for piece in pieces)
    assert any(piece.startswith("```python") and piece.endswith("```") for piece in pieces)
    assert tail == "The rejects are kept.\n\nLast words"  # a block starts once its first line has ended


def test_an_open_fence_in_the_tail_is_closed_for_display():
    _, tail = Cutter().advance(message([{"type": "text", "text": "Look:\n\n```python\nx = 1\n"}]).content)
    assert tail.endswith("\n```") and tail.startswith("```python")


def test_a_block_is_finished_once_the_next_one_starts():
    thinking = {"type": "thinking", "thinking": "Let me see what the data says.", "signature": "s"}
    cutter = Cutter()
    new, tail = cutter.advance(message([{**thinking, "thinking": "Let me see"}]).content)
    assert new == [] and "Thinking… (3 words)" in tail and "Let me" not in tail
    whole = message([thinking, {"type": "text", "text": "It says"}])
    new, tail = cutter.advance(whole.content)
    assert new == [markdown_of(message([thinking]))] and tail == "It says"
    assert "\n\n".join([*new, tail]) == markdown_of(whole)
