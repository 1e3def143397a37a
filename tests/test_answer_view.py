from types import SimpleNamespace

import ipywidgets
from answers import message, shaped
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from claude_magic.view.answer_view import PLAIN, AnswerView, _WidgetSurface, pick_mode
from claude_magic.view.markdown import markdown_of


def test_mode_is_picked_from_where_the_shell_runs():
    assert pick_mode("auto", InteractiveShell.instance()) == "text"  # terminal IPython: no kernel
    assert pick_mode("auto", SimpleNamespace(kernel=object())) == "widget"  # a Jupyter kernel, no extension


def test_an_empty_block_start_does_not_hold_back_the_first_delta():
    shown = []
    view = AnswerView("display", "⏳", clock=lambda: 0.0)  # frozen time: only one update may pass
    view._surface = SimpleNamespace(show=shown.append, flush=lambda: None)
    snapshot = message([{"type": "text", "text": "Hello"}])
    start = SimpleNamespace(type="content_block_start", content_block=SimpleNamespace(type="text", text=""))
    delta = SimpleNamespace(type="content_block_delta")
    view.on_event(start, lambda: snapshot)
    view.on_event(delta, lambda: snapshot)
    assert [s["text/markdown"] for s in shown] == ["Hello"]


ANSWER = shaped(24) + "\nThe end."
THINKING = {"type": "thinking", "thinking": "First the loading, then the checks.", "signature": "s"}


def output_area(outputs) -> list[dict[str, str]]:
    """What the cell's output area holds at the end, as a frontend (or nbclient) builds it."""
    area, where = [], {}
    for output in outputs:
        display_id = (output.transient or {}).get("display_id")
        if output.update:
            area[where[display_id]] = output.data
        else:
            where[display_id] = len(area)
            area.append(output.data)
    return area


def stream(mode: str, content: list[dict], step: int = 40, *, finish: bool = True):
    """(In a shell, which captures displays.) The answer streamed `step` characters per event into a view, every event let through."""
    text = content[-1]["text"]
    with capture_output() as captured:
        view = AnswerView(mode, "⏳ Asking…", interval=0)
        for end in range(0, len(text) + step, step):
            snapshot = message([*content[:-1], {"type": "text", "text": text[:end]}])
            view.on_event(SimpleNamespace(type="content_block_delta"), lambda snapshot=snapshot: snapshot)
        if finish:
            view.finish(snapshot, "claude-sonnet-5-5 · end_turn")
    return captured, markdown_of(snapshot), view


FINAL = "claude-sonnet-5-5 · end_turn"


def final_bundle(answer: str) -> dict[str, str]:
    """The static answer: the whole of it in markdown; in text/plain its first ~4,000 characters (PLAIN)."""
    cut = answer.rfind("\n", 0, PLAIN) + 1
    rest = f"… ({len(answer) - cut:,} more characters: the whole answer is this output's markdown)"
    plain = answer if len(answer) <= PLAIN else answer[:cut] + rest
    return {"text/markdown": f"{answer}\n\n<sub>{FINAL}</sub>", "text/plain": f"{plain}\n\n{FINAL}"}


def test_the_final_text_plain_is_the_whole_answer_when_short_and_its_start_when_long(shell):
    long = final_bundle(ANSWER)["text/plain"]
    assert len(ANSWER) > PLAIN and long.startswith(ANSWER[:3000]) and len(long) < PLAIN + 200
    assert f"{len(ANSWER) - len(long.split('…')[0]):,} more characters" in long and long.endswith(FINAL)
    for answer in ("Short.", ANSWER):
        with capture_output() as captured:
            AnswerView("display", "⏳").finish(message([{"type": "text", "text": answer}]), FINAL)
        assert output_area(captured.outputs)[-1] == final_bundle(answer)
    assert final_bundle("Short.")["text/plain"] == f"Short.\n\n{FINAL}"


def test_when_the_display_fails_at_the_end_the_whole_long_answer_is_printed(shell):
    def broken(data, footer):
        raise RuntimeError("frontend exploded")

    with capture_output() as captured:
        view = AnswerView("display", "⏳")
        view._surface.final = broken
        view.finish(message([{"type": "text", "text": ANSWER}]), FINAL)
    assert f"{ANSWER}\n\n{FINAL}" in captured.stdout and "live display failed" in captured.stderr


def test_display_mode_ends_whole_in_one_output_and_the_others_are_empty(shell):
    captured, answer, _ = stream("display", [THINKING, {"type": "text", "text": ANSWER}])
    shown = [data for data in output_area(captured.outputs) if data.get("text/markdown")]
    assert len(output_area(captured.outputs)) >= 3  # the answer streamed in several outputs
    assert shown == [final_bundle(answer)]
    assert captured.outputs[-1].data == shown[0]


class Widgets:
    """Every Output widget made while it watches, with each `outputs` it was given (at birth or after)."""

    def __init__(self):
        self.outputs, self.sent = [], []

    def __enter__(self):
        ipywidgets.Widget.on_widget_constructed(self._made)
        return self

    def __exit__(self, *exc):
        ipywidgets.Widget.on_widget_constructed(None)

    def _made(self, widget):
        if isinstance(widget, ipywidgets.Output):
            self.outputs.append(widget)
            self.sent.append(widget.outputs)
            widget.observe(lambda change: self.sent.append(change["new"]), "outputs")


def markdown_in(widget) -> str:
    """What a widget shows, read down its tree as a frontend draws it."""
    if isinstance(widget, ipywidgets.Output):
        return "\n\n".join(o["data"]["text/markdown"] for o in widget.outputs if o["data"]["text/markdown"])
    return "\n\n".join(filter(None, (markdown_in(child) for child in widget.children)))


def test_widget_mode_streams_into_one_output_of_small_widgets_then_leaves_one_static_bundle(shell):
    content = [THINKING, {"type": "text", "text": ANSWER}]
    with Widgets() as widgets:
        captured, answer, view = stream("widget", content, finish=False)
    root = view._surface._root
    (live,) = output_area(captured.outputs)  # one output: the widget tree
    assert live["application/vnd.jupyter.widget-view+json"]["model_id"] == root.model_id
    assert live["text/plain"] == "⏳ Asking…"  # what a frontend without widgets shows
    assert markdown_in(root) == answer  # the whole answer so far, segment after segment
    assert len([o for o in widgets.outputs if o.outputs]) >= 3 and all(
        len(markdown_in(o)) < 2 * AnswerView.SEGMENT for o in widgets.outputs)  # small, however long

    with capture_output() as captured_end:
        view.finish(message(content), FINAL)
    (final,) = captured_end.outputs
    assert final.update and final.data == final_bundle(answer)  # the tree's output becomes the static answer
    assert output_area([*captured.outputs, final]) == [final_bundle(answer)]
    assert all(widget.comm is None for widget in [root, *widgets.outputs])  # closed: nothing left live


def test_a_long_answer_in_widgets_sends_each_segment_once_and_keeps_each_children_list_short(shell, monkeypatch):
    monkeypatch.setattr(_WidgetSurface, "FANOUT", 4)
    with Widgets() as widgets:
        captured, answer, view = stream("widget", [{"type": "text", "text": "\n\n".join([ANSWER] * 8)}],
                                        step=400, finish=False)
    sent = sum(len(o["data"]["text/markdown"]) for outputs in widgets.sent for o in outputs)
    assert sent < 4 * len(answer)  # each widget's content, not the answer so far
    surface = view._surface
    groups = surface._root.children
    filled = [output for output in widgets.outputs if output.outputs]
    assert len(filled) > 2 * surface.FANOUT  # a long answer: many segments
    assert all(len(group.children) == surface.FANOUT for group in groups)  # each list set once, short
    assert len(widgets.outputs) - len(filled) < surface.FANOUT  # the last group's still empty
    assert markdown_in(surface._root) == answer
    assert len(output_area(captured.outputs)) == 1


def test_while_streaming_each_update_sends_what_changed_not_the_answer_so_far(shell):
    captured, answer, _ = stream("display", [{"type": "text", "text": ANSWER}], step=400)
    *live, _ = captured.outputs
    sent = sum(len(output.data.get("text/markdown", "")) for output in live)
    longest = max(len(output.data.get("text/markdown", "")) for output in live)
    # Finished blocks not yet sealed (a segment grows with what is sealed before it), then the tail.
    assert longest < AnswerView.GROWTH * len(answer) + AnswerView.SEGMENT + 1000
    assert sent < 4 * len(answer)  # re-sending the answer so far would be ~len(live) / 2 times it
    assert len(output_area(captured.outputs)) < AnswerView.OUTPUTS
    assert all("text/plain" not in output.data for output in live[1:])  # the status alone has a copy


def test_a_long_answer_never_takes_more_outputs_than_a_notebook_shows(shell):
    captured, _, _ = stream("display", [{"type": "text", "text": "\n\n".join([ANSWER] * 40)}], step=4000)
    assert len(output_area(captured.outputs)) <= AnswerView.OUTPUTS


def test_a_status_takes_back_what_the_round_showed(shell):
    partial = message([{"type": "text", "text": ANSWER}])
    with capture_output() as captured:
        view = AnswerView("display", "⏳ Asking…", interval=0)
        view.on_event(SimpleNamespace(type="content_block_delta"), lambda: partial)
        view.status("⏳ retrying in 2 s…")
    shown = [data["text/markdown"] for data in output_area(captured.outputs) if data.get("text/markdown")]
    assert shown == ["⏳ retrying in 2 s…"]


def test_a_status_takes_back_what_the_round_showed_in_its_widgets(shell):
    with capture_output():
        view = AnswerView("widget", "⏳ Asking…", interval=0)
        view.add_round("🔧 a finished tool round")
        for end in range(0, len(ANSWER), 200):
            partial = message([{"type": "text", "text": ANSWER[:end]}])
            view.on_event(SimpleNamespace(type="content_block_delta"), lambda partial=partial: partial)
        assert len([o for o in view._surface._outputs if o.outputs]) >= 4
        view.status("⏳ retrying in 2 s…")
    assert markdown_in(view._surface._root) == "🔧 a finished tool round\n\n⏳ retrying in 2 s…"
