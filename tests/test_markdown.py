from answers import message

from claude_magic.view.markdown import close_fences, markdown_of


def test_markdown_shows_every_block_in_order():
    shown = markdown_of(message([
        {"type": "thinking", "thinking": "Let me see.", "signature": "s"},
        {"type": "text", "text": "Answer."},
        {"type": "tool_use", "id": "t", "name": "get_weather", "input": {"city": "Paris"}},
    ]))
    assert shown.index("<details><summary>Thinking") < shown.index("Answer.") < shown.index("get_weather")
    assert '"city": "Paris"' in shown


def test_open_code_fence_is_closed():
    assert close_fences("```python\nx = 1").endswith("\n```")
    assert close_fences("```python\nx = 1\n```") == "```python\nx = 1\n```"
