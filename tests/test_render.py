from anthropic.types import Message

from claude_magic.render import Throttle, close_fences, footer, markdown_of


def message(blocks, stop_reason="end_turn", **usage):
    return Message.model_validate({
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-5-5",
        "content": blocks, "stop_reason": stop_reason, "stop_sequence": None,
        "usage": {"input_tokens": 1200, "output_tokens": 34, **usage},
    })


def test_throttle_lets_the_first_through_then_one_per_interval():
    now = [0.0]
    throttle = Throttle(0.1, clock=lambda: now[0])
    passed = []
    for step in range(100):  # 1 s in 10 ms steps
        now[0] = step * 0.01
        passed.append(throttle.ready())
    assert passed[0] and 9 <= sum(passed) <= 11


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


def test_footer_is_one_compact_line():
    line = footer([message([], cache_read_input_tokens=1000)], model="m", seconds=2.345, first_token=0.21,
                  state=None)
    assert line == ("claude-sonnet-5-5 · 1,200 in / 34 out · cache read 1,000 · end_turn · "
                    "first token 0.21 s · 2.3 s")
    assert "raise it with `--max-tokens N`" in footer([message([], "max_tokens")], model="m", seconds=1,
                                                      first_token=None, state=None, max_tokens=5)
    assert footer([], model="claude-x", seconds=0.5, first_token=None, state="✗ failed") == \
        "claude-x · ✗ failed · 0.5 s"


def test_mode_is_picked_from_where_the_shell_runs():
    from types import SimpleNamespace

    from IPython.core.interactiveshell import InteractiveShell

    from claude_magic.render import pick_mode

    assert pick_mode(InteractiveShell.instance()) == "text"  # terminal IPython: no kernel
    assert pick_mode(SimpleNamespace(kernel=object())) == "widget"  # a Jupyter kernel


def test_an_empty_block_start_does_not_hold_back_the_first_delta():
    from types import SimpleNamespace

    from claude_magic.render import AnswerView

    shown = []
    view = AnswerView("display", "⏳", clock=lambda: 0.0)  # frozen time: only one update may pass
    view._surface = SimpleNamespace(show=shown.append)
    snapshot = message([{"type": "text", "text": "Hello"}])
    start = SimpleNamespace(type="content_block_start", content_block=SimpleNamespace(type="text", text=""))
    delta = SimpleNamespace(type="content_block_delta")
    view.on_event(start, lambda: snapshot)
    view.on_event(delta, lambda: snapshot)
    assert [s["text/markdown"] for s in shown] == ["Hello"]
