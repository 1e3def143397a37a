from types import SimpleNamespace

from answers import message
from IPython.core.interactiveshell import InteractiveShell

from claude_magic.answer_view import AnswerView, pick_mode


def test_mode_is_picked_from_where_the_shell_runs():
    assert pick_mode(InteractiveShell.instance()) == "text"  # terminal IPython: no kernel
    assert pick_mode(SimpleNamespace(kernel=object())) == "widget"  # a Jupyter kernel


def test_an_empty_block_start_does_not_hold_back_the_first_delta():
    shown = []
    view = AnswerView("display", "⏳", clock=lambda: 0.0)  # frozen time: only one update may pass
    view._surface = SimpleNamespace(show=shown.append)
    snapshot = message([{"type": "text", "text": "Hello"}])
    start = SimpleNamespace(type="content_block_start", content_block=SimpleNamespace(type="text", text=""))
    delta = SimpleNamespace(type="content_block_delta")
    view.on_event(start, lambda: snapshot)
    view.on_event(delta, lambda: snapshot)
    assert [s["text/markdown"] for s in shown] == ["Hello"]
