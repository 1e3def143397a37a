"""Messages as the SDK builds them, for the tests of what an answer looks like."""

from anthropic.types import Message


def message(blocks, stop_reason="end_turn", **usage):
    return Message.model_validate({
        "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-5-5",
        "content": blocks, "stop_reason": stop_reason, "stop_sequence": None,
        "usage": {"input_tokens": 1200, "output_tokens": 34, **usage},
    })


# A heading, a list whose items are apart (one continued after a blank line), a table and a code fence
# holding blank lines: the blocks a growing answer must never be cut inside.
SECTION = """\
## Part {n}

Read the file in chunks of {n}000 rows, checking each chunk against the schema as it arrives.

1. Open it.

2. Read a chunk.

   A bad chunk is kept aside.

3. Concatenate.

| step | rows |
|---|---:|
| read | {n}0 |

```python
def load(path):

    return path
```
"""


def shaped(sections: int) -> str:
    """That markdown `sections` times over, numbered."""
    return "\n".join(SECTION.format(n=n) for n in range(1, sections + 1))
