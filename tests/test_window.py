"""The context window: the simulator's 400, the magic's check before sending, the footer, `%claude compact`."""

from __future__ import annotations

import anthropic
import pytest
from conftest import error_text, final_markdown

from claude_magic.compaction import PROMPT
from claude_magic.simulator import Reply, Simulator, count_tokens
from claude_magic.window import Windows

WINDOW = 300


def words(n: int, word: str = "data") -> str:
    return " ".join([word] * n)


def fill(nb, exchanges: int = 3, size: int = 40):
    """`exchanges` exchanges of about 2 × `size` tokens each, in cells c1, c2, …"""
    for number in range(1, exchanges + 1):
        nb.sim.queue(Reply.text(f"answer{number} " + words(size - 1)))
        result, captured = nb.run(f"%%claude\nquestion{number} {words(size - 1)}", cell_id=f"c{number}")
        assert result.error_in_exec is None, error_text(captured)


def posts(nb, path="/v1/messages"):
    return [r for r in nb.sim.requests if r["method"] == "POST" and r["path"] == path]


def test_the_simulator_refuses_a_prompt_longer_than_its_window_like_the_api():
    with Simulator(context_window=20) as sim:
        client = anthropic.Anthropic(api_key="sk-test", base_url=sim.url, max_retries=0)
        body = {"model": "claude-sonnet-5-5", "max_tokens": 100,
                "messages": [{"role": "user", "content": words(25)}]}
        with pytest.raises(anthropic.BadRequestError) as caught:
            client.messages.create(**body)
        assert caught.value.status_code == 400
        assert caught.value.body["error"] == {"type": "invalid_request_error",
                                              "message": "prompt is too long: 25 tokens > 20 maximum"}
        assert count_tokens(body) == 25
        assert client.messages.count_tokens(model=body["model"], messages=body["messages"]).input_tokens == 25
        assert client.models.retrieve("claude-sonnet-5-5").max_input_tokens == 20
        body["messages"][0]["content"] = words(20)
        assert client.messages.create(**body).stop_reason == "end_turn"
        sim.context_window = None  # the model table's window, as GET /v1/models reports it
        model = client.models.retrieve("claude-sonnet-5-5")
        assert (model.max_input_tokens, model.max_tokens) == (1_000_000, 128_000)
        body["messages"][0]["content"] = words(25)
        assert client.messages.create(**body).stop_reason == "end_turn"


def test_a_too_long_400_points_to_compact_which_shortens_the_next_request(nb):
    fill(nb)  # the magic has looked up the window (the table's 1M) and will not check against 300
    nb.sim.context_window = WINDOW
    before = nb.session.conversations["default"].messages()
    result, captured = nb.run(f"%%claude\nquestion4 {words(79)}", cell_id="c4")
    shown = error_text(captured)
    assert "prompt is too long: 320 tokens > 300 maximum" in shown
    assert "`%claude compact`" in shown and "`%claude undo`" in shown and "`%claude reset`" in shown
    assert "Traceback" not in shown and len(shown.strip().splitlines()) == 2
    assert nb.session.conversations["default"].messages() == before

    nb.sim.queue(Reply.text("We discussed question1 and question2 about data."))
    _, captured = nb.run("%claude compact --keep 1")
    summary_request = posts(nb)[-1]["body"]["messages"]
    assert [m["content"] for m in summary_request if m["role"] == "user"][-1] == PROMPT
    assert len(summary_request) == 5  # exchanges 1 and 2, then the request for the summary
    assert "We discussed question1" in captured.outputs[-1].data["text/markdown"]
    assert "2 earlier exchange(s) (about 160 tokens) replaced by the summary above" in captured.stdout
    assert "the last 1 kept as they were" in captured.stdout

    nb.sim.queue(Reply.text("Fine."))
    result, captured = nb.run(f"%%claude\nquestion4 {words(79)}", cell_id="c4")
    assert result.error_in_exec is None, error_text(captured)
    sent = posts(nb)[-1]["body"]["messages"]
    assert [m["role"] for m in sent] == ["user", "assistant"] * 2 + ["user"]
    assert sent[0]["content"] == PROMPT
    assert sent[1]["content"][0]["text"] == "We discussed question1 and question2 about data."
    assert sent[2]["content"].startswith("question3") and sent[4]["content"].startswith("question4")
    assert count_tokens(posts(nb)[-1]["body"]) < WINDOW
    # a kept cell still replaces its own exchange when re-run
    nb.sim.queue(Reply.text("Again."))
    nb.run("%%claude\nquestion3 again", cell_id="c3")
    assert [m["role"] for m in posts(nb)[-1]["body"]["messages"]] == ["user", "assistant", "user"]


def test_a_prompt_that_would_overflow_is_refused_before_anything_is_paid(nb):
    nb.sim.context_window = WINDOW
    fill(nb)
    paid = len(posts(nb))
    result, captured = nb.run(f"%%claude\nquestion4 {words(79)}")
    shown = error_text(captured)
    assert shown.splitlines()[0] == (
        "This chat and prompt take about 320 tokens, more than `claude-sonnet-5-5`'s context window of 300: "
        "nothing was sent."
    )
    assert "`%claude compact`" in shown and "Traceback" not in shown
    assert len(posts(nb)) == paid  # no Messages request: the count said it would not fit
    assert posts(nb, "/v1/messages/count_tokens")[-1]["body"]["messages"][-1]["content"].startswith("question4")
    assert len(nb.session.conversations["default"].exchanges) == 3
    # a short prompt still goes, uncounted
    nb.sim.queue(Reply.text("ok"))
    result, _ = nb.run("%%claude\nshort")
    assert result.error_in_exec is None and len(posts(nb)) == paid + 1


def test_a_history_already_over_the_window_is_refused_without_counting(nb):
    fill(nb)
    nb.sim.context_window = 100
    nb.session.windows = Windows()  # as a new session would, once an answer has looked the window up
    nb.session.windows.of(nb.session.client(), "claude-sonnet-5-5")
    _, captured = nb.run("%%claude\nhi")
    assert "more than `claude-sonnet-5-5`'s context window of 100: nothing was sent" in error_text(captured)
    assert posts(nb, "/v1/messages/count_tokens") == [] and len(posts(nb)) == 3


def test_a_model_the_table_does_not_know_is_left_to_the_api(nb):
    nb.sim.context_window = 10
    _, captured = nb.run(f"%%claude -m claude-haiku-5-5\n{words(20)}")
    assert "prompt is too long: 20 tokens > 10 maximum" in error_text(captured)
    assert posts(nb, "/v1/messages/count_tokens") == [] and len(posts(nb)) == 1


def test_auto_compact_summarises_instead_of_refusing(nb):
    nb.sim.context_window = WINDOW
    nb.run("%config ClaudeMagics.auto_compact = True")
    fill(nb)
    nb.sim.queue(Reply.text("Summary of question1."), Reply.text("Answer four."))
    result, captured = nb.run(f"%%claude\nquestion4 {words(79)}")
    assert result.error_in_exec is None, error_text(captured)
    assert "would overflow the context window: compacting it first (auto_compact)" in captured.stdout
    summary_request, asked = posts(nb)[-2:]
    assert summary_request["body"]["messages"][-1]["content"] == PROMPT
    assert len(summary_request["body"]["messages"]) == 3  # exchange 1, then the request (2 are kept)
    assert [m["role"] for m in asked["body"]["messages"]] == ["user", "assistant"] * 3 + ["user"]
    assert asked["body"]["messages"][1]["content"][0]["text"] == "Summary of question1."
    assert "Answer four." in final_markdown(captured)
    assert len(nb.session.conversations["default"].exchanges) == 4


def test_the_footer_shows_the_window_once_it_is_half_full(nb):
    nb.sim.context_window = WINDOW

    def footer(prompt_words: int) -> str:
        nb.sim.queue(Reply.text(words(40)))
        _, captured = nb.run(f"%%claude\n{words(prompt_words, 'ask')}")
        return final_markdown(captured).rsplit("<sub>", 1)[1]

    assert "context" not in footer(40)  # 80 of 300
    assert "· context 53% of 300</sub>" in footer(40)  # 160 of 300
    assert "· context 87% of 300 — `%claude compact` makes room</sub>" in footer(60)  # 260 of 300


@pytest.mark.parametrize(
    "line, expected",
    [
        ("%claude compact", "Nothing to compact: chat 'default' has 1 exchange(s), and --keep 2 keeps them all."),
        ("%claude compact --keep -1", "--keep -1: give how many"),
        ("%claude compact --keep x", "argument --keep: invalid int value: 'x'"),
    ],
)
def test_compact_with_nothing_to_do_is_one_line(nb, line, expected):
    fill(nb, exchanges=1, size=5)
    _, captured = nb.run(line)
    assert expected in error_text(captured) and "Traceback" not in error_text(captured)


@pytest.mark.parametrize("reply", [Reply.http_error(529), Reply.text(words(50))], ids=["error", "cut"])
def test_a_summary_that_fails_or_is_cut_leaves_the_chat_unchanged(nb, reply):
    fill(nb, exchanges=3, size=5)
    before = nb.session.conversations["default"].messages()
    nb.magics.max_retries = 0
    nb.sim.queue(reply)
    _, captured = nb.run("%claude compact --keep 1 --max-tokens 20")
    assert nb.session.conversations["default"].messages() == before
    assert [chat.name for chat in nb.session.conversations] == ["default"]
    shown = error_text(captured)
    assert ("529" in shown) if reply.fault else ("did not come back whole (stop reason: max_tokens)" in shown)


def test_compact_works_with_a_cheaper_model_and_is_autosaved(nb, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    nb.run("%config ClaudeMagics.autosave = True")
    fill(nb, exchanges=3, size=5)
    nb.sim.queue(Reply.text("Short summary."))
    nb.run("%claude compact -m claude-haiku-4-5")
    assert posts(nb)[-1]["body"]["model"] == "claude-haiku-4-5"
    import json

    saved = json.loads((tmp_path / "default.claude.json").read_text())["chats"][0]
    assert [e["turns"] for e in saved["exchanges"]] == [2, 2, 2]
    assert saved["messages"][1]["content"][0]["text"] == "Short summary."
    assert [p.name for p in tmp_path.iterdir()] == ["default.claude.json"]  # the scratch chat is never saved
