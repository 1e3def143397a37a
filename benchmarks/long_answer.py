"""A long markdown answer like a model writes one, and the stream that delivers it in API-sized deltas.

The answer repeats one section — a heading, paragraphs, a loose list (items apart, one continued
after a blank line), a table and a code fence holding blank lines — each section numbered, so that no
two stretches of it are alike. The stream is the Messages API's own events; its text deltas are a few
words each (the real API's deltas carry a few tokens, where the simulator's own replies send one word
per delta: at that grain a 500 kB answer would spend most of the run in the SDK's event parsing).
"""

from __future__ import annotations

import itertools

from claude_magic.simulator.replies import sse

LAST_SENTENCE = "THE-LAST-SENTENCE-IS-HERE."
SECTION = """\
## {n}. Reading the data, step {n}

Section {n} walks through the loading step once more, because the details matter: the file is read in
chunks, each chunk is checked against the schema, and the rows that fail are kept aside with the reason
they failed, so that nothing is dropped silently (run {n}).

1. Open the file with an explicit encoding, never the platform's default.

2. Read it in chunks of a fixed number of rows; a chunk of {n}000 rows keeps memory flat.

   A chunk that fails the schema is not fatal: its rows go to the rejects table with the error.

3. Concatenate the accepted chunks at the end, once, rather than after each chunk.

| step | rows in | rows out | seconds |
|---|---:|---:|---:|
| read | {n}0000 | {n}0000 | 1.{n} |
| check | {n}0000 | {n}9990 | 0.{n} |
| write | {n}9990 | {n}9990 | 2.{n} |

```python
def load(path, chunk_rows={n}000):
    accepted, rejected = [], []

    for chunk in pandas.read_csv(path, chunksize=chunk_rows, encoding="utf-8"):
        good = chunk[schema.valid(chunk)]

        accepted.append(good)
        rejected.append(chunk.drop(good.index))
    return pandas.concat(accepted), pandas.concat(rejected)
```

With the rejects kept, a later cell can show exactly which rows of section {n} were left out, and why.
"""


def markdown_answer(size: int) -> str:
    """About `size` bytes of markdown, whole sections of it, ending with `LAST_SENTENCE`."""
    sections = []
    for n in itertools.count(1):
        sections.append(SECTION.format(n=n))
        if sum(map(len, sections)) >= size:
            break
    return "\n".join(sections) + f"\n{LAST_SENTENCE}"


def sse_stream(text: str, *, model: str, chars_per_delta: int = 24) -> bytes:
    """The events of a streamed Message whose only block is `text`, in deltas of about `chars_per_delta`."""
    deltas = [text[start : start + chars_per_delta] for start in range(0, len(text), chars_per_delta)]
    usage = {"input_tokens": 10, "output_tokens": 1}
    events = [
        {"type": "message_start", "message": {
            "id": "msg_benchmark", "type": "message", "role": "assistant", "model": model, "content": [],
            "stop_reason": None, "stop_sequence": None, "usage": usage}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        *({"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": delta}}
          for delta in deltas),
        {"type": "content_block_stop", "index": 0},
        {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
         "usage": {"output_tokens": len(deltas)}},
        {"type": "message_stop"},
    ]
    return b"".join(sse(event) for event in events)
