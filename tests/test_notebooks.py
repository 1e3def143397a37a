"""The tutorial notebooks, executed top to bottom by nbclient in a fresh kernel, without credentials.

Each notebook runs once (offline, so the magic answers from its simulator); the tests read the executed
notebook back from disk and check what a reader of the saved copy sees.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
CREDENTIALS = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL")
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}
ESCAPES = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
FOOTER = re.compile(r"claude-[\w.-]+ · ([\d,]+) in / ([\d,]+|\?) out · ")
DISPLAY_MODE = re.compile(r"ClaudeMagics\.display\s*=\s*[\"'](\w+)[\"']")
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
RAISES = "raises-exception"


def execute(nb: nbformat.NotebookNode, path: Path) -> nbformat.NotebookNode:
    """Run `nb` in a new python3 kernel, save it at `path`, and return the notebook read back."""
    resources = {"metadata": {"path": str(NOTEBOOKS)}}
    NotebookClient(nb, kernel_name="python3", timeout=120, resources=resources).execute()
    nbformat.write(nb, path)
    return nbformat.read(path, as_version=4)


@pytest.fixture(scope="module")
def offline():
    """The kernels inherit this environment: without credentials they answer from the simulator."""
    with pytest.MonkeyPatch.context() as patch:
        for name in CREDENTIALS:
            patch.delenv(name, raising=False)
        yield


@pytest.fixture(scope="module")
def executed(offline, tmp_path_factory):
    """`executed(name)`: the tutorial notebook `name` after one run, shared by the tests that read it."""
    folder = tmp_path_factory.mktemp("executed")
    saved: dict[str, nbformat.NotebookNode] = {}

    def run(name: str) -> nbformat.NotebookNode:
        if name not in saved:
            saved[name] = execute(nbformat.read(NOTEBOOKS / name, as_version=4), folder / name)
        return saved[name]

    return run


def code_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def cell(nb: nbformat.NotebookNode, source: str) -> nbformat.NotebookNode:
    """The first code cell whose source contains `source`."""
    return next(c for c in code_cells(nb) if source in c.source)


def exactly(nb: nbformat.NotebookNode, source: str) -> nbformat.NotebookNode:
    """The code cell whose whole source is `source`."""
    (found,) = [c for c in code_cells(nb) if c.source == source]
    return found


def claude_cells(nb: nbformat.NotebookNode) -> list[nbformat.NotebookNode]:
    return [c for c in code_cells(nb) if c.source.startswith("%%claude")]


def shown(output: nbformat.NotebookNode) -> str:
    if output.output_type == "stream":
        text = output.text
    elif output.output_type == "error":
        text = "\n".join([output.evalue, *output.traceback])
    else:
        text = output.data.get("text/markdown") or output.data.get("text/plain", "")
    return ESCAPES.sub("", text)


def text(cell: nbformat.NotebookNode) -> str:
    """Everything the cell's saved outputs show, as text."""
    return "".join(shown(output) for output in cell.outputs)


def answer(cell: nbformat.NotebookNode) -> str:
    """The markdown a `%%claude` cell ends with: its last displayed bundle (an error may follow it)."""
    bundles = [o for o in cell.outputs if o.output_type in ("display_data", "execute_result")]
    assert bundles, f"no answer displayed under {cell.source!r}"
    return bundles[-1].data["text/markdown"]


def _answer_above_edits(cell: nbformat.NotebookNode) -> str:
    bundles = [o.data["text/markdown"] for o in cell.outputs if o.output_type == "display_data"]
    assert bundles and bundles[-1].startswith("✎ Proposed new version of cell"), bundles[-1:]
    return bundles[-2]


def error(cell: nbformat.NotebookNode) -> str:
    errors = [o for o in cell.outputs if o.output_type == "error"]
    assert len(errors) == 1, f"expected one error under {cell.source!r}"
    return shown(errors[0])


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("*.ipynb")), ids=lambda path: path.stem)
def test_notebook_runs_offline_and_keeps_every_answer(executed, path):
    committed = nbformat.read(path, as_version=4)
    assert committed.metadata.kernelspec.name == "python3"
    assert not any(c.outputs or c.execution_count for c in code_cells(committed)), "commit it without outputs"

    nb = executed(path.name)
    mode = "auto"
    for c in code_cells(nb):
        mode = (DISPLAY_MODE.findall(c.source) or [mode])[-1]
        assert not any(WIDGET_VIEW in o.get("data", {}) for o in c.outputs), f"widget left: {c.source!r}"
        raised = any(o.output_type == "error" for o in c.outputs)
        assert raised == (RAISES in c.metadata.get("tags", [])), f"error or tag unexpected: {c.source!r}"
        if not c.source.startswith("%%claude"):
            continue
        if raised and not any(o.output_type == "display_data" for o in c.outputs):  # refused before sending
            assert "Traceback" not in text(c) and len(set(error(c).strip().splitlines())) == 1, c.source
            continue
        if "--map" in c.source or "--count" in c.source:  # a summary table, not an answer with a footer
            assert answer(c), f"nothing shown under {c.source!r}"
            continue
        if mode == "text":
            assert FOOTER.search(text(c)), f"no footer printed under {c.source!r}"
        else:  # --edit shows the proposals (diffs) under the answer
            final = answer(c) if "--edit" not in c.source else _answer_above_edits(c)
            assert "<sub>" in final and FOOTER.search(final), f"no static answer with a footer: {c.source!r}"
        if "--run" not in c.source:  # under --run, a traceback of Claude's code is part of the transcript
            assert "Traceback" not in text(c)
    notices = sum(text(c).count("**Offline:**") for c in code_cells(nb))
    assert notices == (1 if claude_cells(nb) else 0)


def test_quickstart_answers_and_usage(executed):
    nb = executed("01_quickstart.ipynb")
    first, second, french = claude_cells(nb)
    assert "What does streaming change" in answer(first)
    assert "Show me the smallest Python example" in answer(second)
    assert 'How do you say "streaming" in French?' in answer(french)
    usage = text(cell(nb, "usage = last_message.usage"))
    assert re.search(r"stop reason: +end_turn", usage)
    assert re.search(r"input tokens: +\d+", usage) and re.search(r"output tokens: +\d+", usage)
    assert re.match(r"\d+ tokens; same object as last_message: True", text(cell(nb, "answer.usage")))
    assert 'How do you say "streaming" in French?' in text(cell(nb, "%claude history")).replace("&quot;", '"')


def test_conversations_history_chats_and_prompts(executed):
    nb = executed("02_conversations.ipynb")
    turns = text(cell(nb, "for turn in claude_magic.history()"))
    assert "user: What is a Python generator?" in turns and "user: Show one used with `sum()`" in turns
    assert turns.count("assistant: ") == 2
    assert text(cell(nb, "request in claude_magic.offline_simulator().requests")).splitlines() == [
        "1 messages: user",
        "3 messages: user → assistant → user",
    ]
    table = text(exactly(nb, "%claude history"))
    assert "| 1 | What is a Python generator?" in table and "| 2 | Show one used with \\`sum()\\`" in table  # previews are text
    undone = text(cell(nb, "%claude undo"))
    assert "Dropped the last exchange of chat 'default'." in undone
    assert "| 1 | What is a Python generator?" in undone and "| 2 |" not in undone
    assert "0 turns left" in text(cell(nb, "%claude reset"))
    assert "| sql | 2 |" in text(cell(nb, "%claude chats\n%claude history --chat sql"))
    aside = text(cell(nb, "as before the aside"))
    assert "4 turns in chat 'sql'" in aside and "the aside sent 1 message" in aside
    assert "| sql | 1 |" in text(exactly(nb, "%claude chats"))
    assert "no cell id: re-running a cell appends" in text(cell(nb, "cellId"))
    prompts = [text(c).strip() for c in code_cells(nb) if c.source == "print(last_prompt())"]
    assert prompts == [
        "In 2 sentences: when should I avoid list comprehensions?",
        'Which keys does this JSON have? {"name": "Ada", "langs": ["en", "fr"], "meta": {"id": 7}}',
        'What does `f"{topic}"` print when `topic = "sets"`?',
    ]
    assert re.search(r"stop reason: end_turn \| output tokens: \d+", text(cell(nb, "print(summary")))
    assert re.fullmatch(r"Saved chat 'default' \(4 exchanges\) to \S+/default\.claude\.json\.\n",
                        text(exactly(nb, "%claude save")))
    loaded = text(cell(nb, "%claude load"))
    assert "4 exchange(s) loaded into chat 'default'" in loaded and "8 turns back in chat 'default'" in loaded
    assert "the loaded chat's turns went along: 9 messages sent" in text(cell(nb, "the loaded chat's turns"))
    exported = text(cell(nb, "%claude export conversation.md"))
    assert "Exported chat 'default' (5 exchanges)" in exported and "conversation.ipynb." in exported
    assert "# Chat `default`\n\n## 1. You\n\n> In 2 sentences: when should I avoid list comprehensions?" in exported
    compacted = text(exactly(nb, "%claude compact --keep 1"))
    assert "4 earlier exchange(s)" in compacted and "replaced by the summary above" in compacted
    cells = code_cells(nb)
    after = text(cells[cells.index(exactly(nb, "%claude compact --keep 1")) + 1]).splitlines()
    assert [line.split(":")[0].strip() for line in after] == ["user", "assistant", "user", "assistant"]
    assert after[0].startswith("     user: Summarise our conversation so far.")
    assert text(cell(nb, "the second is the summary")).startswith("5 messages sent; the second is the summary")


def test_sdk_streaming_text_events_and_snapshot(executed):
    nb = executed("03_sdk_streaming.ipynb")
    streamed = text(cell(nb, "stream.text_stream"))
    assert "server-sent events" in streamed
    assert re.search(r"stop reason: +end_turn", streamed) and re.search(r"output tokens: \d+", streamed)
    table = answer(cell(nb, "stream=True"))
    assert re.findall(r"\| `(\w+)` \|", table) == [
        "message_start", "content_block_start", "content_block_delta", "content_block_stop",
        "message_delta", "message_stop",
    ]
    assert re.search(r"stop_reason `end_turn`, \d+ output tokens", table)
    snapshot = text(cell(nb, "current_message_snapshot"))
    middle, end = snapshot.split("at the end")
    assert "stop_reason:   None" in middle and "text so far:   '## Explain server-sent events" in middle
    assert "stop_reason:   end_turn" in end and "same object as the snapshot: True" in end
    timeline = answer(cell(nb, "%%claude --events")).split("</sub>")[1]
    assert re.findall(r"\| `(\w+)` \|", timeline) == [
        "message_start", "content_block_start", "content_block_delta", "content_block_stop",
        "message_delta", "message_stop",
    ]


def test_async_streams_and_nest_asyncio(executed):
    nb = executed("04_async.ipynb")
    assert re.search(r"stop reason: end_turn \| output tokens: \d+", text(cell(nb, "async with aclient")))
    both = text(cell(nb, "asyncio.gather"))
    assert re.search(r"^A: \d+ output tokens, starting '## Name three uses", both, re.MULTILINE)
    assert re.search(r"^B: \d+ output tokens, starting '## Name three pitfalls", both, re.MULTILINE)
    refused = text(cell(nb, "coroutine ="))
    assert "RuntimeError: asyncio.run() cannot be called from a running event loop" in refused
    assert text(cell(nb, "print(await first_line")).strip() == "## Say hello in five words."
    assert text(cell(nb, "nest_asyncio.apply()")).strip() == "## Say hello in five words."


def test_tool_use_streams_the_call_and_answers_with_its_result(executed):
    nb = executed("05_tool_use.ipynb")
    raw = text(cell(nb, "input_json_delta"))
    assert "[tool_use block 1: get_weather" in raw and "input_json_delta '" in raw
    assert "parsed input: {'city': 'Paris'}" in raw and raw.rstrip().endswith("stop_reason: tool_use")
    result = text(cell(nb, "tool_result"))
    assert "get_weather({'city': 'Paris'}) -> 'light rain, 14 °C'" in result
    assert "returned: “light rain, 14 °C”" in result
    assert re.search(r"stop_reason: end_turn \| output tokens: \d+", result)
    helpers = text(cell(nb, 'event.type == "input_json"'))
    assert "snapshot={'city': 'Paris'}" in helpers and "tool_use:    get_weather {'city': 'Paris'}" in helpers
    assert "stop_reason: tool_use" in helpers and "returned: “light rain, 14 °C”" in helpers
    (magic,) = claude_cells(nb)
    assert '🔧 `get_weather({"city": "Paris"})`' in answer(magic) and "light rain, 14 °C" in answer(magic)
    rounds = text(cell(nb, "last_exchange"))
    assert "rounds: ['tool_use', 'end_turn']" in rounds and re.search(r"final answer: \d+", rounds)


def dropped_stream_error() -> BaseException:
    """What the installed SDK raises when a chunked stream drops (httpx2's own error up to 2.16, wrapped in
    `APIConnectionError` from 2.17): the tutorials show that type, so their tests expect it."""
    import anthropic

    from claude_magic.simulator import Reply, Simulator

    with Simulator() as sim:
        sim.queue(Reply.drop(after=2))
        client = anthropic.Anthropic(base_url=sim.url, api_key="sk-test", max_retries=0)
        request = {"model": "claude-sonnet-5-5", "max_tokens": 100, "messages": [{"role": "user", "content": "hi"}]}
        with pytest.raises(Exception) as caught, client.messages.stream(**request) as stream:
            for _ in stream:
                pass
    return caught.value


def test_errors_and_retries_show_each_fault(executed):
    import anthropic

    nb = executed("06_errors_and_retries.ipynb")
    before = text(cell(nb, "for _ in range(2):\n    try:"))
    assert "RateLimitError: 429 rate_limit_error, retry-after: 1" in before
    assert "OverloadedError: 529 overloaded_error, retry-after: None" in before
    event = text(cell(nb, "Reply.error_event(after=8)"))
    assert "APIStatusError with status_code 200:" in event and "'type': 'overloaded_error'" in event
    dropped = text(cell(nb, "Reply.drop(after=8))"))
    raised = dropped_stream_error()
    assert f"{type(raised).__module__}.{type(raised).__name__}: " in dropped  # what this SDK raises
    assert "peer closed connection without sending complete message body" in dropped
    if isinstance(raised, anthropic.AnthropicError):  # from 2.17: the SDK's wrapper, httpx2's error under it
        assert "caused by httpx2.RemoteProtocolError: peer closed connection" in dropped
    assert f"an anthropic.AnthropicError? {isinstance(raised, anthropic.AnthropicError)}" in dropped
    silent = text(cell(nb, 'framing="close"'))
    assert silent.count("stop_reason None: INCOMPLETE, though nothing was raised") == 2
    retried = text(cell(nb, "with_retries(stream_answer)"))
    assert re.search(r"OverloadedError — retrying in \d\.\d\d s \(retry 1 of 3\)", retried)
    assert "RateLimitError — retrying in 1.00 s (retry 2 of 3)" in retried
    assert "stop_reason: end_turn" in retried
    by_sdk = text(cell(nb, "client(max_retries=2)"))
    assert "stop_reason: end_turn" in by_sdk
    assert re.findall(r"POST /v1/messages x-stainless-retry-count: (\d)", by_sdk) == ["0", "1"]

    retrying, overloaded, dropped, ended = claude_cells(nb)
    countdown = text(retrying)
    assert "⏳ Rate limited (429) — retrying in 1 s, attempt 2 of 3 — press Stop to cancel" in countdown
    assert "⏳ Overloaded (529) — retrying in" in countdown and "attempt 3 of 3" in countdown
    assert "exponential backoff" in countdown and "· end_turn ·" in countdown
    for c, says in (
        (overloaded, "Claude was overloaded mid-answer"),
        (dropped, "The connection dropped mid-answer"),
        (ended, "The answer ended before Claude finished"),
    ):
        opening = " ".join(c.source.split()[1:5])
        assert opening in answer(c) and "⚠ incomplete" in answer(c)
        assert says in error(c) and "partial answer above is kept" in error(c)
    after = text(cell(nb, 'print("stop_reason:", last_message.stop_reason)'))
    assert "stop_reason: None" in after and "partial text: '## When should I use both?" in after
    assert "| 1 | Explain exponential backoff" in after and "| 2 |" not in after


def test_cost_and_scale_caching_usage_replay_and_map(executed):
    nb = executed("07_cost_and_scale.ipynb")
    first, second = (answer(c) for c in claude_cells(nb)[:2])
    written = int(re.search(r"cache write ([\d,]+)", first).group(1).replace(",", ""))
    assert f"cache read {written:,}" in second  # the second turn reads the first from the cache
    usage = text(cell(nb, "usage = last_message.usage"))
    assert re.search(rf"cache read: +{written}\b", usage)
    priced, overridden = answer(cell(nb, "%claude usage")), answer(cell(nb, "ClaudeMagics.prices"))
    assert "$" in priced and "$" in overridden and priced != overridden
    assert re.match(r"\*\*[\d,]+ input tokens\*\* would be sent", answer(cell(nb, "%%claude --count")))
    asked, replayed = (c for c in claude_cells(nb) if "one tip for naming" in c.source)
    assert "↺ replayed" in answer(replayed) and "↺ replayed" not in answer(asked)
    assert answer(replayed).split("<sub>")[0] == answer(asked).split("<sub>")[0]
    assert answer(cell(nb, "--map reviews --out")).startswith("✓ 4 of 4 answered")
    assert "Broke after two days." in text(cell(nb, '"sentiment": sentiment'))
    assert re.search(r"Graz +Austria +Offline answer to “One surprising fact about G", text(cell(nb, "cities.assign")))
    batched = cell(nb, "--batch --out batched")
    assert "✓ 4 of 4 answered" in text(batched) and "r4" in text(batched)
    assert not (NOTEBOOKS / "claude_replay.jsonl").exists() and not (NOTEBOOKS / "claude_batches.json").exists()


def test_cost_and_scale_rate_limits_and_budget(executed):
    nb = executed("07_cost_and_scale.ipynb")
    headers = text(cell(nb, "with_raw_response"))
    assert "anthropic-ratelimit-requests-limit: 300" in headers and "anthropic-ratelimit-requests-reset: 20" in headers
    assert re.search(r"request \d+: 429 rate_limit_error · retry-after: 1 s", text(cell(nb, "except anthropic.RateLimitError")))
    assert answer(cell(nb, "--map questions --out squares")).startswith("✓ 20 of 20 answered")
    refused = cell(nb, "Write a long essay about caching.")
    assert "Budget $0.05 for this session" in error(refused) and "could cost up to $0.12" in error(refused)
    assert "Traceback" not in text(refused)
    assert answer(cell(nb, "why reserve the worst case")).count("·") >= 2  # answered, with its footer
    assert re.search(r"\*\*Budget\*\* \\\$0\.05 for this session .*reserved \\\$0\.00", text(cell(nb, "# spent / budget")))
    capped = answer(cell(nb, "--out capped"))
    assert re.match(r"✓ \d+ of 20 answered · ⚠ \d+ failed", capped), capped
    assert "⚠ budget: up to $0.00" in text(cell(nb, "[str(answer) for answer in capped]"))


def test_three_claude_cells_keep_their_three_answers(offline, tmp_path):
    prompts = ["Name one sorting algorithm.", "Why is it stable?", "Show it in Python."]
    nb = new_notebook(
        cells=[
            new_code_cell("%load_ext claude_magic\n%config ClaudeMagics.simulator_pace = 0"),
            *(new_code_cell(f"%%claude\n{prompt}") for prompt in prompts),
        ],
        metadata={"kernelspec": KERNELSPEC},
    )
    saved = execute(nb, tmp_path / "three.ipynb")
    answers = [answer(c) for c in claude_cells(saved)]
    assert len(answers) == 3
    for prompt, markdown in zip(prompts, answers):
        assert prompt in markdown and "<sub>" in markdown
    # Each cell sends the exchanges before it, so each asks with more input tokens than the last.
    sent = [int(FOOTER.search(markdown).group(1).replace(",", "")) for markdown in answers]
    assert sent == sorted(sent) and len(set(sent)) == 3


def test_a_saved_notebook_never_contains_the_api_key(tmp_path, monkeypatch):
    """With a key set, answers and errors are saved — the key itself never is."""
    from claude_magic.simulator import Reply, Simulator

    secret = "sk-ant-api03-SAVED-NOTEBOOK-SECRET-987654321"
    with Simulator() as sim:
        monkeypatch.setenv("ANTHROPIC_API_KEY", secret)
        monkeypatch.setenv("ANTHROPIC_BASE_URL", sim.url)
        sim.queue(Reply.text("A real-looking answer."), Reply.http_error(401, message="invalid x-api-key"))
        cells = ["%load_ext claude_magic", "%%claude\nHello?", "%%claude\nAgain?", "%config ClaudeMagics",
                 "import os; print(last_message); print(os.environ['ANTHROPIC_API_KEY'][:7])"]
        nb = new_notebook(cells=[new_code_cell(source) for source in cells], metadata={"kernelspec": KERNELSPEC})
        nb.cells[2].metadata["tags"] = [RAISES]
        saved = execute(nb, tmp_path / "keyed.ipynb")
    text = (tmp_path / "keyed.ipynb").read_text()
    assert "A real-looking answer." in text and "Set a valid key" in text
    assert secret not in text and "SAVED-NOTEBOOK-SECRET" not in text
    assert sim.requests and all(secret not in repr(r) for r in sim.requests)
    assert "sk-ant-" in shown(saved.cells[4].outputs[-1])  # the kernel had the key; nothing saved it


def test_serving_streams_chunks_events_errors_cancel_and_shutdown(executed):
    import ast
    import json

    nb = executed("09_serving_streams.ipynb")
    assert not [o for c in code_cells(nb) for o in c.outputs if o.get("name") == "stderr"], "the server logged"
    plain = text(cell(nb, "arrival_table(arrivals)"))
    assert "200 text/plain" in plain
    arrived = [int(ms) for ms in re.findall(r"^\| \d+ \| (\d+) \| `", plain, re.MULTILINE)]
    assert len(arrived) == 10 and arrived == sorted(arrived) and len(set(arrived)) >= 3

    sse = text(cell(nb, "received, content_type = await events("))
    assert sse.startswith("content-type: text/event-stream")
    names = re.findall(r"^event: (\w+)$", sse, re.MULTILINE)
    data = [json.loads(line) for line in re.findall(r"^data: (.*)$", sse, re.MULTILINE)]
    assert len(names) == len(data) > 3 and names[-1] == "done" and set(names[:-1]) == {"text"}
    assert "".join(d["text"] for d in data[:-1]).startswith("Offline answer to “In one sentence")
    assert data[-1]["stop_reason"] == "end_turn"
    assert data[-1]["usage"]["output_tokens"] == len(data) - 1 and data[-1]["usage"]["input_tokens"] > 0

    broken = text(cell(nb, "FAULTS = {"))
    endings = re.findall(r"^(.+): (\d+) text events, then\n  event: (\w+)\n  data: (.*)$", broken, re.MULTILINE)
    assert [ending[:3] for ending in endings] == [
        ("error event (overloaded)", "5", "error"),
        ("dropped connection", "5", "error"),
        ("body stops without message_stop", "5", "error"),
    ]
    assert [json.loads(ending[3])["type"] for ending in endings] == [
        "overloaded_error", type(dropped_stream_error()).__name__, "incomplete",
    ]
    assert "peer closed connection" in json.loads(endings[1][3])["message"]
    assert text(cell(nb, "response = await http.get(")).startswith("200 '## Explain backpressure")

    hung_up = text(cell(nb, "if chunks == 2"))
    assert "the client hung up" in hung_up and "after 2 chunks" in hung_up
    served = ast.literal_eval(re.search(r"after the request: (\{.*\})", hung_up).group(1))
    assert served["ended"] == "cancelled" and served["upstream closed"] is True and 2 <= served["chunks"] <= 5

    closed = text(cell(nb, "refused = True"))
    assert "server thread alive: False" in closed and "port refuses connections: True" in closed


def test_working_with_your_notebook_fix_outputs_errors_cells_and_code(executed):
    nb = executed("10_working_with_your_notebook.ipynb")
    assert "NameError: name 'value' is not defined" in error(cell(nb, "len(value) for city"))
    fixed = exactly(nb, "%claude fix")
    assert answer(fixed).startswith("`value` is not defined") and FOOTER.search(answer(fixed))
    assert "↓ 3 lines of code offered as a new cell below." in text(fixed)
    sent_fix, sent_out = (text(c) for c in code_cells(nb) if c.source == "print(last_prompt())")
    assert "Cell [2]:\n```python\ntemperatures = " in sent_fix and 'File "Cell In[2]", line 2' in sent_fix
    assert sent_fix.rstrip().endswith("NameError: name 'value' is not defined\n```")
    assert "(turn 2 of this conversation)" in answer(cell(nb, "Why didn't Python catch that typo"))
    assert sent_out.endswith("worst day?\n[('Wed', 143), ('Mon', 120), ('Tue', 95), ('Thu', 88)]\n")
    assert text(cell(nb, "print(last_prompt().splitlines()[-1])")) == "NameError: name 'value' is not defined\n"
    assert re.search(r"context: cells \\\[\d+\\\], \\\[\d+\\\], \\\[\d+\\\]</sub>", answer(cell(nb, "--cells 3")))
    generated = cell(nb, "%%claude --code")
    offered = text(cell(nb, "print(cell_code("))
    assert f"↓ {offered.count(chr(10))} lines of code offered as a new cell below." in text(generated)
    assert "def function_median_numbers(" in offered and "```" not in offered and "simulator" not in offered
    edited = cell(nb, "%%claude --edit")
    diff = edited.outputs[-2].data["text/markdown"]  # then the line saying a new cell is offered
    assert re.search(r"✎ Proposed new version of cell \[\d+\]", diff) and "```diff\n--- cell [" in diff
    assert "-    total = 0" not in diff and "+# Revised by Claude (offline simulator)" in diff
    assert "↓ The new version offered as a new cell below" in text(edited)
    proposed = text(cell(nb, 'print(block["name"], "→ cell"'))
    assert proposed.startswith("propose_cell_edit → cell [") and "def mean(values):" in proposed


def test_documents_web_and_structured(executed):
    nb = executed("08_documents_web_and_structured.ipynb")
    assert "citation: page_location p.1 of 'tides.pdf': “Tides follow the moon.”" in text(cell(nb, "pdf = {"))
    cited = answer(cell(nb, "--file data/tides.pdf,data/ravens.md --cite"))
    assert "**Sources**" in cited and "1. “Tides follow the moon.” — *tides.pdf*, p. 1" in cited
    assert "— *ravens.md*, characters 10–102" in cited and "📄 tides.pdf" in cited
    turns = text(cell(nb, 'claude_magic.history("default")')).splitlines()
    assert turns[0].startswith("user") and "document+citations" in turns[0]
    assert all("document" not in line for line in turns if line.startswith("assistant"))
    assert "no such file" in error(cell(nb, 'file="data/missing.pdf"'))
    assert "via the Files API" in answer(cell(nb, "what is a spring tide"))
    assert text(cell(nb, 'sent["source"]["type"]')).startswith("file file_")
    assert "query: {'query':" in text(cell(nb, "web_search = {")) and "searches billed: 1" in text(cell(nb, "web_search = {"))
    searched = answer(cell(nb, "--web 3"))
    assert "🔎 Searching the web for" in searched and "Found: [" in searched and "](https://example.com/" in searched
    assert "🔎 1 web search" in searched
    assert "web searches" in answer(exactly(nb, "%claude usage"))
    assert text(cell(nb, "output_format=Paper")).startswith("Paper title=")
    assert answer(cell(nb, "--schema Paper --out paper")).startswith("```json\n{")
    assert text(cell(nb, "print(paper is last_parsed)")).endswith("True\n")
    assert "cut at max_tokens" in error(cell(nb, "--schema Paper --max-tokens 5"))
    assert "objects in `places`" in answer(cell(nb, "--schema point --out places"))
    assert "lat" in text(cell(nb, "landmarks.join(places)"))


def test_claude_runs_code_with_yes_errors_figures_history_and_no_stdin(executed):
    nb = executed("11_claude_runs_code.ipynb")
    first = cell(nb, "Plot the lengths of the words")
    ran = answer(first)
    assert ran.index("```python\nwords = [") < ran.index("9 words; the longest is 'sentence'") \
        < ran.index("![figure](data:image/png;base64,") < ran.index("I ran the code in your notebook.")
    assert "↓ the code Claude ran" in text(first)
    assert "'sentence': 8" in text(exactly(nb, "lengths"))
    sales = answer(cell(nb, "Which three regions' revenue fell most"))
    assert sales.index("KeyError") < sales.index("East    -33") < sales.index("![figure](data:image/png")
    assert "2 tool rounds" in sales
    results = text(cell(nb, "for message in claude_magic.history()")).splitlines()
    assert results[1].startswith("error  ['text'] KeyError") and results[2].startswith("result ['text', 'image']")
    unasked = cell(nb, "How many words are in this question?")
    assert "Nothing ran: this frontend cannot ask for approval" in text(unasked)
    assert "The code was not run" in answer(unasked) and "7 words; the longest" not in answer(unasked)


def test_mcp_and_providers_by_hand_with_mcp_and_through_vertex(executed):
    nb = executed("12_mcp_and_providers.ipynb")
    by_hand = text(cell(nb, "async_mcp_tool(tool, session)"))
    assert "tide_height: The water height at Ravensport harbour" in by_hand
    assert re.search(r"tide_height\(\{'hour': \d+\}\) -> \[\{'type': 'text', 'text': '[\d.]+ m at \d\d:00'\}\]",
                     by_hand)
    assert "The `tide_height` tool returned" in by_hand
    configured = text(cell(nb, "%config ClaudeMagics.mcp_servers"))
    assert "| `tides` |" in configured and "not started" in configured
    asked = claude_cells(nb)[0]
    assert "Starting MCP server 'tides': " in text(asked) and "tide_server.py" in text(asked)
    assert "🔧 `tide_height(" in answer(asked) and re.search(r"↳ output:\n\n```\n[\d.]+ m at \d\d:00\n```", answer(asked))
    status = text(exactly(nb, "%claude mcp"))  # after the cell started it
    assert "| running |" in status and "tide_height, high_tides" in status
    direct = text(cell(nb, "vertex.messages.create"))
    assert ("/v1/projects/tutorial/locations/us-east5/publishers/anthropic/models/claude-sonnet-5-5@20260101"
            ":rawPredict") in direct
    assert "body: ['anthropic_version', 'max_tokens', 'messages']" in direct
    paths = [text(c) for c in code_cells(nb) if c.source.startswith('print(sim.requests[-1]["path"])')]
    assert paths[0].strip().endswith("/models/claude-sonnet-5-5:streamRawPredict")
    assert paths[1].strip().endswith("/models/count-tokens:rawPredict")
    assert error(exactly(nb, "%claude models")).startswith(
        "Google Vertex AI does not offer the models endpoint (provider = 'vertex')")
