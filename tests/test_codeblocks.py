import pytest

from claude_magic.view.codeblocks import CodeBlock, cell_code, code_blocks, fenced


def test_blocks_with_backticks_and_tildes_and_their_languages():
    text = "Intro\n```python\nx = 1\n```\nmiddle\n~~~\nplain\n~~~\n```Py title=a.py\ny = 2\n```\nend"
    assert code_blocks(text) == [CodeBlock("python", "x = 1"), CodeBlock("", "plain"), CodeBlock("py", "y = 2")]


def test_a_shorter_or_other_fence_inside_a_block_is_content():
    text = "````markdown\nShow this:\n```python\nprint(1)\n```\n~~~\n````\nafter"
    assert code_blocks(text) == [CodeBlock("markdown", "Show this:\n```python\nprint(1)\n```\n~~~")]
    assert code_blocks("~~~python\n```\n~~~~\n") == [CodeBlock("python", "```")]


def test_an_unclosed_block_runs_to_the_end_and_a_backtick_info_string_is_no_fence():
    assert code_blocks("```python\nfor i in range(3):\n    print(i") == [
        CodeBlock("python", "for i in range(3):\n    print(i", closed=False)]
    assert code_blocks("``` a`b\nnot code") == []


def test_indented_fences_inside_a_list_item_lose_their_indentation():
    text = "1. Load it:\n    ```python\n    import json\n    if True:\n        pass\n    ```\n2. Done."
    assert code_blocks(text) == [CodeBlock("python", "import json\nif True:\n    pass")]


@pytest.mark.parametrize(
    "answer, code",
    [
        ("Use this:\n\n```python\nx = 1\n```\n\nThen:\n\n```python\nprint(x)\n```", "x = 1\n\nprint(x)"),
        ("```python\nx = 1\n```\nOutput:\n```\n1\n```", "x = 1"),  # untagged output left out
        ("Run:\n```\nx = 1\n```", "x = 1"),  # untagged code taken when nothing is tagged
        ("```bash\npip install pandas\n```\n```json\n{}\n```", None),
        ("No code here, just prose with `inline` code.", None),
        ("", None),
        ("```python\n\n```", None),
        ("```python\n\n\nx = 1\n\n```", "x = 1"),
    ],
)
def test_cell_code_is_the_python_blocks_joined_without_prose_or_fences(answer, code):
    assert cell_code(answer) == code


def test_fenced_text_cannot_be_closed_from_inside():
    assert fenced("x = 1", "python") == "```python\nx = 1\n```"
    inner = 'doc = """\n```\nnot the end\n````\n"""'
    outer = fenced(inner, "python")
    assert outer.startswith("`````python\n") and outer.endswith("\n`````")
    assert code_blocks(outer) == [CodeBlock("python", inner)]
