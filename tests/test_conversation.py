import json

from anthropic.types import Message

from claude_magic.conversation import Chat, Conversations, Exchange, assistant_turn, mark_for_cache, user_turn


def message(*blocks):
    return Message.model_validate({
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-5-5",
        "content": list(blocks), "stop_reason": "end_turn", "stop_sequence": None,
        "usage": {"input_tokens": 3, "output_tokens": 4},
    })


def exchange(prompt, answer, cell_id=None):
    return Exchange([user_turn(prompt), {"role": "assistant", "content": answer}], cell_id)


def test_history_alternates_and_reruns_replace_in_place():
    chat = Chat("default")
    chat.record(exchange("q1", "a1", "c1"))
    chat.record(exchange("q2", "a2", "c2"))
    assert chat.context_for("c1") == []
    assert [t["content"] for t in chat.context_for("c2")] == ["q1", "a1"]
    chat.record(exchange("q1'", "a1'", "c1"))
    assert [t["content"] for t in chat.messages()] == ["q1'", "a1'", "q2", "a2"]
    assert [t["role"] for t in chat.messages()] == ["user", "assistant"] * 2


def test_undo_and_reset():
    conversations = Conversations()
    conversations["a"].record(exchange("q", "a"))
    assert conversations["a"].undo().user["content"] == "q"
    assert conversations["a"].undo() is None
    conversations["b"].record(exchange("q", "a"))
    conversations.reset("b")
    assert conversations["b"].messages() == []


def test_assistant_turn_is_what_the_api_accepts_back():
    turn = assistant_turn(message(
        {"type": "thinking", "thinking": "hmm", "signature": "sig"},
        {"type": "text", "text": "Hello", "citations": None},
        {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"x": 1}},
    ), answered=True)
    assert turn == {"role": "assistant", "content": [
        {"type": "thinking", "thinking": "hmm", "signature": "sig"},
        {"type": "text", "text": "Hello"},
        {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {"x": 1}},
    ]}


def test_an_answer_with_nothing_to_send_back_is_not_a_turn():
    assert assistant_turn(message({"type": "text", "text": ""})) is None
    assert assistant_turn(message({"type": "thinking", "thinking": "hmm", "signature": "s"})) is None


def test_unanswered_tool_calls_are_not_sent_back():
    turn = assistant_turn(message(
        {"type": "text", "text": "Let me check."},
        {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}},
    ))
    assert turn == {"role": "assistant", "content": [{"type": "text", "text": "Let me check."}]}


def test_context_makes_the_prompt_the_last_block():
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAA="}}
    assert user_turn("What is this?", [image]) == {
        "role": "user", "content": [image, {"type": "text", "text": "What is this?"}]}


def test_cache_marks_go_on_copies_at_the_history_end_and_the_last_turn():
    history = [user_turn("q1"), {"role": "assistant", "content": [{"type": "text", "text": "a1"}]}]
    marked = mark_for_cache([*history, user_turn("q2")], len(history))
    mark = {"type": "ephemeral"}
    assert marked[1]["content"][-1] == {"type": "text", "text": "a1", "cache_control": mark}
    assert marked[2]["content"] == [{"type": "text", "text": "q2", "cache_control": mark}]
    assert marked[0] == user_turn("q1") and "cache_control" not in history[1]["content"][-1]


def test_a_chat_survives_the_round_trip_through_plain_json():
    tool_round = [
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "w", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "sunny"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "Sunny."}]},
    ]
    chat = Chat("notes", [
        Exchange([{"role": "user", "content": "hi"}, {"role": "assistant", "content": [{"type": "text", "text": "yo"}]}],
                 "c1", 10, 2, 0, "claude-sonnet-5-5", "Be brief."),
        Exchange(tool_round, None, 30, 5, 1200, "claude-opus-5-5"),
    ])
    data = json.loads(json.dumps(chat.to_dict()))
    assert data["messages"] == chat.messages()
    again = Chat.from_dict(data)
    assert again == chat
    assert again.exchanges[1].window_tokens == 30 + 1200 + 5
