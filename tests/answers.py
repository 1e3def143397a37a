"""Messages as the SDK builds them, for the tests of what an answer looks like."""

from anthropic.types import Message


def message(blocks, stop_reason="end_turn", **usage):
    return Message.model_validate({
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-5-5",
        "content": blocks, "stop_reason": stop_reason, "stop_sequence": None,
        "usage": {"input_tokens": 1200, "output_tokens": 34, **usage},
    })
