"""--tools: Claude calls notebook functions; the loop, the history and the display, through the simulator."""

from __future__ import annotations

from conftest import FIXTURES, error_text, final_markdown

from claude_magic.simulator import Reply

WEATHER = '''
def get_weather(city: str, unit: str = "C") -> str:
    """Current weather for a city.

    Args:
        city: the city's name
        unit: C or F
    """
    calls.append(city)
    return f"Sunny in {city}, 21 {unit}"

def explode(x: int) -> int:
    """Always fails."""
    raise ValueError("kaboom")

calls = []
'''


def test_tool_call_runs_and_the_answer_continues(nb):
    nb.shell.run_cell(WEATHER)
    nb.sim.queue(Reply.tool_use("get_weather", {"city": "Paris"}, text="Let me check."),
                 Reply.text("It is sunny in Paris."))
    result, captured = nb.run("%%claude --tools get_weather\nWeather in Paris?")
    assert result.error_in_exec is None, error_text(captured)
    assert nb.ns["calls"] == ["Paris"]
    tool = nb.requests[0]["body"]["tools"][0]
    assert tool["name"] == "get_weather" and tool["description"] == "Current weather for a city."
    assert tool["input_schema"]["required"] == ["city"]
    assert tool["input_schema"]["properties"]["city"]["description"] == "the city's name"
    second = nb.requests[1]["body"]["messages"]
    assert [m["role"] for m in second] == ["user", "assistant", "user"]
    tool_use = second[1]["content"][-1]
    assert tool_use["type"] == "tool_use" and tool_use["input"] == {"city": "Paris"}
    assert second[2]["content"] == [
        {"type": "tool_result", "tool_use_id": tool_use["id"], "content": "Sunny in Paris, 21 C"}]
    shown = final_markdown(captured)
    assert shown.index("Let me check.") < shown.index('🔧 `get_weather({"city": "Paris"})`') \
        < shown.index("Sunny in Paris, 21 C") < shown.index("It is sunny in Paris.")
    assert "1 tool round" in shown
    assert any("⚙ Running `get_weather`…" in o.data["text/markdown"] for o in captured.outputs)
    assert nb.ns["last_message"].stop_reason == "end_turn"
    assert [m.stop_reason for m in nb.ns["last_exchange"]] == ["tool_use", "end_turn"]


def test_the_next_cell_sends_the_whole_exchange_with_tool_blocks(nb):
    nb.shell.run_cell(WEATHER)
    nb.sim.queue(Reply.tool_use("get_weather", {"city": "Oslo"}), Reply.text("Sunny."), Reply.text("Yes."))
    nb.run("%%claude --tools get_weather\nWeather in Oslo?")
    nb.run("%%claude\nAre you sure?")
    messages = nb.requests[-1]["body"]["messages"]
    assert [m["role"] for m in messages] == ["user", "assistant", "user", "assistant", "user"]
    assert messages[2]["content"][0]["type"] == "tool_result"
    assert messages[-1] == {"role": "user", "content": "Are you sure?"}


def test_a_failing_tool_becomes_an_error_result_and_the_loop_goes_on(nb):
    nb.shell.run_cell(WEATHER)
    nb.sim.queue(Reply.tool_use("explode", {"x": 1}), Reply.text("The tool failed, sorry."))
    result, captured = nb.run("%%claude --tools explode\nTry it")
    assert result.error_in_exec is None
    tool_result = nb.requests[1]["body"]["messages"][2]["content"][0]
    assert tool_result["is_error"] is True and "kaboom" in tool_result["content"]
    assert "⚠ error: `ValueError: kaboom`" in final_markdown(captured)


def test_only_named_functions_can_run(nb):
    nb.shell.run_cell(WEATHER)
    nb.sim.queue(Reply.tool_use("explode", {"x": 1}), Reply.text("ok"))
    nb.run("%%claude --tools get_weather\nTry it")
    tool_result = nb.requests[1]["body"]["messages"][2]["content"][0]
    assert tool_result["is_error"] is True and "no tool named 'explode'" in tool_result["content"]


def test_tool_rounds_are_capped_with_a_clear_stop(nb):
    nb.shell.run_cell(WEATHER)
    nb.magics.max_tool_rounds = 2
    nb.sim.queue(*[Reply.tool_use("get_weather", {"city": "Rome"})] * 3, Reply.text("never"))
    _result, captured = nb.run("%%claude --tools get_weather\nLoop forever")
    assert "Stopped after 2 rounds of tool calls" in error_text(captured)
    assert len(nb.requests) == 3 and nb.ns["calls"] == ["Rome", "Rome"]
    import claude_magic

    assert claude_magic.history() == []  # an unfinished exchange is not recorded


def test_unknown_tool_name_is_bad_input(nb):
    _, captured = nb.run("%%claude --tools nope\nhi")
    assert "there is no function 'nope'" in error_text(captured) and nb.requests == []


def test_tool_call_streams_as_it_forms(nb):
    from conftest import FakeClock

    nb.shell.run_cell(WEATHER)
    nb.session.clock = FakeClock(step=0.2)  # every event may update the display
    nb.sim.queue(Reply.tool_use("get_weather", {"city": "Lisbon, Portugal"}), Reply.text("Done."))
    _, captured = nb.run("%%claude --tools get_weather\nWeather?")
    shown = [o.data["text/markdown"] for o in captured.outputs]
    growing = [s for s in shown if "🔧 `get_weather(" in s and "Done." not in s]
    assert len({s for s in growing}) >= 2  # the arguments appear piece by piece


def test_sdk_tool_use_fixture_renders_its_tool_call(nb):
    nb.sim.queue(Reply.sse(FIXTURES / "tool_use_response.txt"))
    _, captured = nb.run("%%claude\nWeather in Paris?")
    assert '🔧 `get_weather({"location": "Paris"})`' in final_markdown(captured)
    import claude_magic

    # no tools were offered, so the unanswered call is left out and the next turn stays valid
    assert claude_magic.history()[-1]["content"] == [
        {"type": "text", "text": "I'll check the current weather in Paris for you."}]


def test_lambdas_are_tools_named_after_their_variables(nb):
    nb.shell.run_cell('a = lambda q: "one"\nb = lambda q: "two"')
    nb.sim.queue(Reply.tool_use("b", {"q": "x"}), Reply.text("Two it is."))
    result, captured = nb.run("%%claude --tools a,b\nWhich?")
    assert result.error_in_exec is None, error_text(captured)
    assert [tool["name"] for tool in nb.requests[0]["body"]["tools"]] == ["a", "b"]
    tool_result = nb.requests[1]["body"]["messages"][2]["content"][0]
    assert tool_result["content"] == "two" and "is_error" not in tool_result
    assert "Two it is." in final_markdown(captured)


def test_two_tools_of_one_name_are_bad_input(nb):
    nb.shell.run_cell(WEATHER + "\nalias = get_weather")
    result, captured = nb.run("%%claude --tools get_weather,alias\nhi")
    assert error_text(captured).strip() == (
        "--tools: two tools are named 'get_weather'; give each function its own name.")
    assert result.error_in_exec.__traceback__ is not None and nb.sim.requests == []


def test_a_builtin_as_a_tool_says_why_in_one_line(nb):
    nb.shell.run_cell("p = print")
    _, captured = nb.run("%%claude --tools p\nPrint hello")
    shown = error_text(captured).strip()
    assert len(shown.splitlines()) == 1 and "'p' is a built-in" in shown and "wrap it in a function" in shown
    assert "pydantic" not in shown and "Traceback" not in shown and nb.sim.requests == []


def test_a_tool_that_exits_is_an_error_result_not_the_end_of_the_cell(nb):
    nb.shell.run_cell("import sys\ndef leave(code: int) -> str:\n    'Leaves.'\n    sys.exit(code)")
    nb.sim.queue(Reply.tool_use("leave", {"code": 3}), Reply.text("The tool exited."))
    result, captured = nb.run("%%claude --tools leave\nTry it")
    assert result.error_in_exec is None, error_text(captured)
    tool_result = nb.requests[1]["body"]["messages"][2]["content"][0]
    assert tool_result == {"type": "tool_result", "tool_use_id": tool_result["tool_use_id"],
                           "content": "SystemExit: 3", "is_error": True}
    assert "⚠ error: `SystemExit: 3`" in final_markdown(captured)
    assert "exit" not in error_text(captured).lower()
    assert nb.ns["last_message"].content[0].text == "The tool exited."
