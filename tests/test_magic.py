"""`%%claude` end to end: a real shell, the real SDK, real HTTP to the simulator."""

from __future__ import annotations

import json

import pytest
from conftest import FIXTURES, FakeClock, error_text, final_markdown

from claude_magic.simulator import Reply

ANSWER = "## Title\n\nSome *markdown* text.\n\n```python\nprint('hi')\n```\n\nThe end."


def text_of(message) -> str:
    return "".join(block.text for block in message.content if block.type == "text")


def test_answer_streams_and_ends_as_static_markdown_with_footer(nb):
    nb.sim.queue(Reply.text(ANSWER))
    result, captured = nb.run("%%claude\nExplain this traceback in two sentences.")
    assert result.error_in_exec is None
    final = captured.outputs[-1]
    assert final.update and set(final.data) == {"text/markdown", "text/plain"}
    answer, footer = final.data["text/markdown"].rsplit("\n\n", 1)
    assert answer == ANSWER
    assert footer.startswith("<sub>claude-sonnet-5-5 · ") and "end_turn" in footer and " out" in footer
    assert text_of(nb.ns["last_message"]) == ANSWER
    assert nb.ns["last_message"].usage.output_tokens == len(ANSWER.split())
    assert nb.requests[-1]["body"]["messages"] == [
        {"role": "user", "content": "Explain this traceback in two sentences."}
    ]


def test_generated_answer_without_script_is_markdown(nb):
    _, captured = nb.run("%%claude\nWhat is a closure in Python?")
    markdown = final_markdown(captured)
    assert markdown.startswith("## ") and "```python" in markdown
    assert text_of(nb.ns["last_message"]) in markdown


def test_live_updates_are_throttled_and_the_last_holds_everything(nb):
    clock = FakeClock(step=0.001)  # 1 ms passes per clock reading
    nb.session.clock = clock
    words = [f"w{i}" for i in range(3000)]
    nb.sim.queue(Reply.text(" ".join(words)))
    _, captured = nb.run("%%claude --max-tokens 5000\ncount")
    updates = [o for o in captured.outputs if o.update]
    elapsed = clock.now - 1000.0
    assert 3 <= len(updates) - 1 <= elapsed / 0.1 + 2, (len(updates), elapsed)
    assert final_markdown(captured).startswith(" ".join(words))


def test_out_stores_the_message_too(nb):
    nb.sim.queue(Reply.text("Forty-two."))
    nb.run("%%claude --out answer\nMeaning of life?")
    assert nb.ns["answer"] is nb.ns["last_message"]
    assert text_of(nb.ns["answer"]) == "Forty-two."


def test_second_cell_sends_the_first_exchange(nb):
    nb.sim.queue(Reply.text("Paris."), Reply.text("About 2 million."))
    nb.run("%%claude\nCapital of France?")
    nb.run("%%claude\nIts population?")
    assert nb.requests[-1]["body"]["messages"] == [
        {"role": "user", "content": "Capital of France?"},
        {"role": "assistant", "content": [{"type": "text", "text": "Paris."}]},
        {"role": "user", "content": "Its population?"},
    ]


def test_new_starts_afresh_and_named_chats_are_separate(nb):
    nb.sim.queue(*(Reply.text(t) for t in ("A1", "B1", "A2", "A3")))
    nb.run("%%claude\nfirst in default")
    nb.run("%%claude --chat other\nfirst in other")
    nb.run("%%claude\nsecond in default")
    assert [m["content"] for m in nb.requests[-1]["body"]["messages"] if m["role"] == "user"] == [
        "first in default",
        "second in default",
    ]
    nb.run("%%claude --new\nthird, fresh")
    assert nb.requests[-1]["body"]["messages"] == [{"role": "user", "content": "third, fresh"}]
    import claude_magic

    assert [m["role"] for m in claude_magic.history("other")] == ["user", "assistant"]


def test_no_history_neither_sends_nor_records(nb):
    nb.sim.queue(Reply.text("one"), Reply.text("aside"), Reply.text("two"))
    nb.run("%%claude\nfirst")
    nb.run("%%claude --no-history\nan aside")
    assert nb.requests[-1]["body"]["messages"] == [{"role": "user", "content": "an aside"}]
    nb.run("%%claude\nsecond")
    assert [m["content"] for m in nb.requests[-1]["body"]["messages"] if m["role"] == "user"] == [
        "first",
        "second",
    ]


def test_undo_drops_the_last_exchange(nb):
    nb.sim.queue(Reply.text("one"), Reply.text("two"), Reply.text("three"))
    nb.run("%%claude\nfirst")
    nb.run("%%claude\nsecond")
    _, captured = nb.run("%claude undo")
    assert "Dropped the last exchange" in captured.stdout
    nb.run("%%claude\nthird")
    assert [m["content"] for m in nb.requests[-1]["body"]["messages"] if m["role"] == "user"] == [
        "first",
        "third",
    ]


def test_rerunning_a_cell_replaces_its_own_exchange(nb):
    nb.sim.queue(*(Reply.text(t) for t in ("A", "B", "A again", "C")))
    nb.run("%%claude\ncell one", cell_id="c1")
    nb.run("%%claude\ncell two", cell_id="c2")
    nb.run("%%claude\ncell one, edited", cell_id="c1")
    # the re-run sees what cell one saw the first time: nothing before it
    assert nb.requests[-1]["body"]["messages"] == [{"role": "user", "content": "cell one, edited"}]
    nb.run("%%claude\ncell three", cell_id="c3")
    users = [m["content"] for m in nb.requests[-1]["body"]["messages"] if m["role"] == "user"]
    assert users == ["cell one, edited", "cell two", "cell three"]


def test_history_command_shows_a_table_with_tokens(nb):
    nb.sim.queue(Reply.text("Paris is the capital."))
    nb.run("%%claude\nCapital of France?")
    _, captured = nb.run("%claude history")
    table = final_markdown(captured)
    assert "| 1 | Capital of France? | Paris is the capital. |" in table
    usage = nb.ns["last_message"].usage
    assert f"{usage.input_tokens:,} / {usage.output_tokens:,}" in table


def test_chats_and_reset(nb):
    nb.sim.queue(Reply.text("x"), Reply.text("y"))
    nb.run("%%claude\nhello")
    nb.run("%%claude --chat work\nhello")
    _, captured = nb.run("%claude chats")
    assert "| default | 1 |" in final_markdown(captured) and "| work | 1 |" in final_markdown(captured)
    nb.run("%claude reset work")
    import claude_magic

    assert claude_magic.history("work") == [] and len(claude_magic.history()) == 2


def test_models_lists_the_servers_models(nb):
    _, captured = nb.run("%claude models")
    assert "`claude-sonnet-5-5`" in final_markdown(captured)


def test_variables_are_interpolated_and_braces_survive(nb):
    nb.ns["city"] = "Lyon"
    cell = 'Weather in {city}? JSON: {"a": {"b": [1, 2]}} {{city}} {unknown} {In} f"{x!r}"'
    nb.run("%%claude\n" + cell)
    sent = nb.requests[-1]["body"]["messages"][-1]["content"]
    assert sent == 'Weather in Lyon? JSON: {"a": {"b": [1, 2]}} {{city}} {unknown} {In} f"{x!r}"'
    nb.run("%%claude --no-interp\nIn {city}")
    assert nb.requests[-1]["body"]["messages"][-1]["content"] == "In {city}"


def test_system_prompt_from_text_variable_and_config(nb):
    nb.ns["persona"] = "You are a pirate."
    nb.run('%%claude -s "Be terse." --effort low -m claude-haiku-4-5 --max-tokens 50\nhi')
    body = nb.requests[-1]["body"]
    assert (body["system"], body["output_config"], body["model"], body["max_tokens"]) == (
        "Be terse.", {"effort": "low"}, "claude-haiku-4-5", 50)
    nb.run("%%claude -s $persona\nhi")
    assert nb.requests[-1]["body"]["system"] == "You are a pirate."
    nb.run("%config ClaudeMagics.system = 'Answer in French.'")
    nb.run("%config ClaudeMagics.model = 'claude-opus-4-8'")
    nb.run("%%claude --no-history\nhi")
    assert nb.requests[-1]["body"]["system"] == "Answer in French."
    assert nb.requests[-1]["body"]["model"] == "claude-opus-4-8"


@pytest.mark.parametrize(
    "cell, expected",
    [
        ("%%claude --frobnicate\nhi", "unrecognized arguments: --frobnicate"),
        ("%%claude --max-tokens -1\nhi", "--max-tokens must be a positive"),
        ("%%claude\n   \n", "The cell is empty"),
        ("%%claude --out 2bad\nhi", "--out needs a variable name"),
        ("%%claude -s $missing\nhi", "there is no variable 'missing'"),
        ("%%claude --effort extreme\nhi", "argument --effort: invalid choice: 'extreme'"),
        ("%claude frobnicate", "`%claude` takes one of"),
    ],
)
def test_bad_input_is_one_short_line_and_sends_nothing(nb, cell, expected):
    result, captured = nb.run(cell)
    shown = error_text(captured).strip()
    assert expected in shown
    assert len(shown.splitlines()) <= 2 and "Traceback" not in shown
    assert result.error_in_exec is not None
    assert nb.requests == []


def test_help_is_real(nb):
    from claude_magic.magic import ClaudeMagics

    doc = ClaudeMagics.claude.__doc__
    for flag in ("--model", "--max-tokens", "--system", "--new", "--chat", "--no-history", "--out", "--no-interp", "--effort"):
        assert flag in doc


def test_max_tokens_footer_says_how_to_raise_it(nb):
    nb.run("%%claude --max-tokens 5\nTell me a long story")
    assert nb.ns["last_message"].stop_reason == "max_tokens"
    assert "raise it with `--max-tokens N`" in final_markdown(nb.run("%%claude --max-tokens 5\nagain")[1])


def test_widget_mode_streams_into_an_output_widget_then_leaves_static_markdown(nb):
    import ipywidgets

    seen = []

    def watch(widget):
        if isinstance(widget, ipywidgets.Output):
            widget.observe(lambda change: seen.append(change["new"]), "outputs")

    ipywidgets.Widget.on_widget_constructed(watch)
    try:
        nb.magics.display = "widget"
        nb.session.clock = FakeClock(step=0.05)
        nb.sim.queue(Reply.text(ANSWER))
        _, captured = nb.run("%%claude\nhi")
    finally:
        ipywidgets.Widget.on_widget_constructed(None)
    assert "application/vnd.jupyter.widget-view+json" in captured.outputs[0].data
    assert captured.outputs[0].data["text/plain"].startswith("⏳ Asking")  # what a widget-less frontend shows
    assert len(seen) >= 3  # status, then partial answers
    assert any(ANSWER[:20] in o["data"]["text/markdown"] for outputs in seen for o in outputs)
    final = captured.outputs[-1]
    assert final.update and final.data["text/markdown"].startswith(ANSWER)


def test_terminal_mode_prints_the_deltas(nb):
    nb.magics.display = "text"
    nb.sim.queue(Reply.text("Hello there, terminal."))
    _, captured = nb.run("%%claude\nhi")
    assert "Hello there, terminal." in captured.stdout
    assert "end_turn" in captured.stdout.splitlines()[-1]


def test_simulator_notice_shown_once(nb):
    nb.session.connection.simulator_announced = False
    _, first = nb.run("%%claude\nhi")
    _, second = nb.run("%%claude\nhi again")
    notice = [o for o in first.outputs if "no `ANTHROPIC_API_KEY` is set" in o.data.get("text/markdown", "")]
    assert len(notice) == 1 and "%env ANTHROPIC_API_KEY=" in notice[0].data["text/markdown"]
    assert not any("no `ANTHROPIC_API_KEY`" in o.data.get("text/markdown", "") for o in second.outputs)


def _fixtures():
    return sorted(p for p in FIXTURES.iterdir() if p.suffix in (".txt", ".sse"))


@pytest.mark.parametrize("fixture", _fixtures(), ids=lambda p: p.name)
def test_every_sdk_fixture_gives_the_sdks_own_message(nb, fixture):
    import anthropic

    nb.sim.queue(Reply.sse(fixture))
    client = anthropic.Anthropic(base_url=nb.sim.url, api_key="sk-test", max_retries=0)
    with client.messages.stream(model="claude-sonnet-5-5", max_tokens=10,
                                messages=[{"role": "user", "content": "hi"}]) as stream:
        expected = stream.get_final_message()

    nb.sim.queue(Reply.sse(fixture))
    result, captured = nb.run("%%claude\nhi")
    assert result.error_in_exec is None, error_text(captured)
    assert nb.ns["last_message"].model_dump(warnings=False) == expected.model_dump(warnings=False)
    shown = final_markdown(captured)
    deltas = [json.loads(line[5:]) for line in fixture.read_text().splitlines() if line.startswith("data:")]
    for delta in deltas:
        if delta.get("type") == "content_block_delta" and delta["delta"]["type"] == "text_delta":
            assert delta["delta"]["text"].strip() in shown


def test_thinking_streams_into_a_collapsed_block_above_the_answer(nb):
    # Claude Sonnet 4.6 still takes a manual budget (the 5.x models think adaptively: see test_fitting.py).
    nb.run("%config ClaudeMagics.model = 'claude-sonnet-4-6'")
    _, captured = nb.run("%%claude --thinking 2000 --max-tokens 4000\nIs 91 prime?")
    assert nb.requests[-1]["body"]["thinking"] == {"type": "enabled", "budget_tokens": 2000}
    shown = final_markdown(captured)
    assert shown.startswith("<details><summary>Thinking (") and shown.index("</details>") < shown.index("## ")
    message = nb.ns["last_message"]
    assert [b.type for b in message.content] == ["thinking", "text"]
    import claude_magic

    # kept in history with its signature, as the API requires
    assert claude_magic.history()[-1]["content"][0]["signature"] == message.content[0].signature
    nb.run("%%claude --thinking\nAnd 97?")
    assert nb.requests[-1]["body"]["thinking"] == {"type": "adaptive"}


def test_thinking_budget_is_checked(nb):
    _, captured = nb.run("%%claude --thinking 500\nhi")
    assert "at least 1024 tokens" in error_text(captured) and nb.requests == []


def test_events_show_the_timeline_under_the_answer(nb):
    nb.sim.queue(Reply.text("one two three"))
    _, captured = nb.run("%%claude --events\nhi")
    shown = final_markdown(captured)
    answer, table = shown.split("</sub>")
    assert answer.startswith("one two three")
    rows = [line.split("|")[2].strip() for line in table.strip().splitlines()[2:]]
    assert rows == ["`message_start`", "`content_block_start`", "`content_block_delta`", "`content_block_stop`",
                    "`message_delta`", "`message_stop`"]
    assert "| 0 | 3 | 13 |" in table  # three deltas on block 0, 13 characters in all


def test_explain_sends_the_last_traceback_and_cell(nb):
    nb.shell.run_cell("def f():\n    return 1 / 0\nf()", store_history=True)
    _, captured = nb.run("%claude explain")
    prompt = nb.requests[-1]["body"]["messages"][-1]["content"]
    assert "ZeroDivisionError" in prompt and "return 1 / 0" in prompt and "\x1b[" not in prompt
    assert final_markdown(captured).startswith("## ")


def test_ask_from_python_shares_the_chat_and_last_message(nb):
    import claude_magic

    nb.sim.queue(Reply.text("From code."), Reply.text("From a cell."))
    message = claude_magic.ask("hello from code", system="Be brief.")
    assert nb.ns["last_message"] is message and text_of(message) == "From code."
    assert nb.requests[-1]["body"]["system"] == "Be brief."
    nb.run("%%claude\nand from a cell")
    assert [m["content"] for m in nb.requests[-1]["body"]["messages"] if m["role"] == "user"] == [
        "hello from code", "and from a cell"]
    with pytest.raises(TypeError, match="unknown option 'colour'"):
        claude_magic.ask("hi", colour="blue")


def test_aask_streams_concurrently_without_patching_the_loop(nb):
    import asyncio

    import claude_magic

    nb.magics.simulator_pace = 200
    loop_before = asyncio.new_event_loop

    async def both():
        return await asyncio.gather(claude_magic.aask("first", no_history=True),
                                    claude_magic.aask("second", no_history=True))

    first, second = asyncio.run(both())
    assert "First" in text_of(first) and "Second" in text_of(second)
    assert asyncio.new_event_loop is loop_before and not hasattr(asyncio, "_nest_patched")


def test_count_shows_what_would_be_sent_and_asks_nothing(nb):
    nb.sim.queue(Reply.text("Paris."))
    nb.run("%%claude\nCapital of France?")
    _, captured = nb.run('%%claude --count -s "Be brief."\nAnd of Peru?')
    shown = final_markdown(captured)
    counted = [r for r in nb.sim.requests if r["path"] == "/v1/messages/count_tokens"][-1]["body"]
    assert counted["messages"][-1] == {"role": "user", "content": "And of Peru?"} and counted["system"] == "Be brief."
    from claude_magic.simulator import count_tokens

    assert shown.startswith(f"**{count_tokens(counted):,} input tokens** would be sent")
    assert "3 message(s), 2 of them from the history" in shown and "| 3 | user | And of Peru? |" in shown
    assert len(nb.requests) == 1  # nothing generated
    _, captured = nb.run("%claude tokens")
    assert "2 message(s), 2 of them from the history" in final_markdown(captured)


def test_every_line_command_has_a_handler_and_an_unknown_one_asks_nothing(nb):
    from claude_magic.magic import COMMANDS

    assert all(callable(handler) for handler in COMMANDS.values())
    for cell in ("%claude explian", "%claude", "%claude --new"):
        result, captured = nb.run(cell)
        assert "`%claude` takes one of: history, reset" in error_text(captured) and "Traceback" not in error_text(captured)
    nb.run("1/0")
    for name in ("history", "reset", "undo", "chats", "usage"):
        result, captured = nb.run(f"%claude {name}")
        assert result.error_in_exec is None, error_text(captured)
    assert nb.requests == []


@pytest.mark.parametrize(
    "cell, expected",
    [
        ('%%claude --model ""\nhi', "--model is empty"),
        ("%%claude -m ' '\nhi", "--model is empty"),
        ('%%claude --chat ""\nhi', "--chat is empty"),
        ('%claude history --chat ""', "--chat is empty"),
        ("%%claude --out class\nhi", "--out needs a variable name, not 'class'"),
        ("%%claude --batch\nhi", "--batch sends a --map as one Message Batch"),
        ("%%claude\n{blank}", "The prompt is empty once its {names} are filled in"),
        ('%%claude -s "unclosed\nhi', "No closing quotation"),
    ],
    ids=["model-empty", "model-blank", "chat-empty", "chat-empty-line", "out-keyword", "batch-without-map",
         "blank-after-interpolation", "bad-quoting"],
)
def test_options_that_cannot_work_are_refused_in_one_line_before_any_request(nb, cell, expected):
    nb.ns["blank"] = "  \n "
    result, captured = nb.run(cell)
    shown = error_text(captured)
    assert result.error_in_exec is not None and expected in shown
    assert "Traceback" not in shown and len(shown.strip().splitlines()) == 1
    assert nb.sim.requests == [] and "class" not in nb.ns


def test_ask_takes_the_cells_options_through_the_same_path(nb):
    import claude_magic

    nb.sim.queue(Reply.text("Paris."))
    nb.run("%%claude\nCapital of France?")
    counted = claude_magic.ask("And of Peru?", count=True)
    count_requests = [r for r in nb.sim.requests if r["path"] == "/v1/messages/count_tokens"]
    assert isinstance(counted, int) and counted > 0 and len(count_requests) == 1 and len(nb.requests) == 1

    nb.ns["cities"] = ["Lima", "Oslo"]
    nb.sim.queue(Reply.text("About Lima."), Reply.text("About Oslo."))
    answers = claude_magic.ask("One fact about {item}.", map="cities", out="facts", max_tokens=40)
    assert sorted(answers) == ["About Lima.", "About Oslo."] and nb.ns["facts"] == answers
    asked = sorted(r["body"]["messages"][0]["content"] for r in nb.requests[1:])
    assert asked == ["One fact about Lima.", "One fact about Oslo."]
    assert all(r["body"]["max_tokens"] == 40 for r in nb.requests[1:])

    nb.sim.queue(Reply.text("Thought."))
    claude_magic.ask("Think.", thinking=True, system="-be terse", no_history=True)
    assert nb.requests[-1]["body"]["thinking"] == {"type": "adaptive", "display": "summarized"}
    assert nb.requests[-1]["body"]["system"] == "-be terse"


@pytest.mark.parametrize(
    "options, expected",
    [
        ({"max_tokens": "abc"}, "argument --max-tokens: invalid int value: 'abc'"),
        ({"max_tokens": 2.5}, "ask(max_tokens=…) takes a whole number, not 2.5"),
        ({"batch": True}, "--batch sends a --map as one Message Batch"),
        ({"new": "yes"}, "ask(new=…) takes True or False, not 'yes'"),
        ({"model": 5}, "ask(model=…) takes text, not 5"),
        ({"colour": "blue"}, "unknown option 'colour'"),
        ({"command": ["history"]}, "unknown option 'command'"),
    ],
)
def test_ask_refuses_a_wrong_keyword_in_one_line_and_asks_nothing(nb, options, expected):
    import claude_magic

    _, captured = nb.run(f"import claude_magic\nclaude_magic.ask('hi', **{options!r})")
    shown = error_text(captured)
    assert expected in shown and "Traceback" not in shown and len(shown.strip().splitlines()) == 1
    assert nb.sim.requests == []
    with pytest.raises(claude_magic.errors.BadInput):
        claude_magic.ask("hi", **options)
