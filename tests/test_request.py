"""The one request builder: options, the chat's earlier messages and the cell's turns in, the params out."""

from __future__ import annotations

import copy

from claude_magic.prompt import CODE_INSTRUCTION
from claude_magic.request import build
from claude_magic.session import Options
from claude_magic.structured import Schema
from claude_magic.tools import tools_from

MARK = {"type": "ephemeral"}
EARLIER = [{"role": "user", "content": "q1"}, {"role": "assistant", "content": [{"type": "text", "text": "a1"}]}]
TURNS = [{"role": "user", "content": "q2"}]


def test_a_plain_request_is_model_max_tokens_and_the_messages_marked_for_the_cache():
    earlier, turns = copy.deepcopy(EARLIER), copy.deepcopy(TURNS)
    request = build(Options(model="claude-sonnet-5-5", max_tokens=100), earlier, turns)
    assert request == {"model": "claude-sonnet-5-5", "max_tokens": 100, "messages": [
        {"role": "user", "content": "q1"},
        {"role": "assistant", "content": [{"type": "text", "text": "a1", "cache_control": MARK}]},
        {"role": "user", "content": [{"type": "text", "text": "q2", "cache_control": MARK}]},
    ]}
    assert (earlier, turns) == (EARLIER, TURNS)  # the chat's own turns are never marked


def test_without_the_cache_or_marks_the_messages_go_as_they_are():
    unmarked = [*EARLIER, *TURNS]
    assert build(Options(model="m", max_tokens=1, cache=False), EARLIER, TURNS)["messages"] == unmarked
    assert build(Options(model="m", max_tokens=1), EARLIER, TURNS, marks=False)["messages"] == unmarked


def test_code_puts_its_instruction_after_the_users_system_prompt():
    assert "system" not in build(Options(model="m", max_tokens=1), [], TURNS)
    assert build(Options(model="m", max_tokens=1, system="Be terse."), [], TURNS)["system"] == "Be terse."
    assert build(Options(model="m", max_tokens=1, code=True), [], TURNS)["system"] == CODE_INSTRUCTION
    coded = build(Options(model="m", max_tokens=1, system="Be terse.", code=True), [], TURNS)
    assert coded["system"] == f"Be terse.\n\n{CODE_INSTRUCTION}"


def test_the_web_tool_comes_after_the_cells_own_tools():
    def weather(city: str) -> str:
        """The weather in a city."""
        return "sunny"

    web = {"type": "web_search_20260318", "name": "web_search", "max_uses": 3}
    alone = build(Options(model="m", max_tokens=1, web=web), [], TURNS)
    assert alone["tools"] == [web]
    both = build(Options(model="m", max_tokens=1, web=web, tools=tools_from([weather], {})), [], TURNS)
    assert [tool["name"] for tool in both["tools"]] == ["weather", "web_search"]
    assert both["tools"][0]["input_schema"]["properties"]["city"]["type"] == "string"


def test_a_schema_is_the_output_format_beside_the_effort_and_thinking_goes_as_fitted():
    schema = Schema("Point", {"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]})
    thinking = {"type": "adaptive"}
    request = build(Options(model="m", max_tokens=1, effort="low", schema=schema, thinking=thinking), [], TURNS)
    assert request["output_config"]["effort"] == "low"
    assert request["output_config"]["format"]["type"] == "json_schema"
    assert request["output_config"]["format"]["schema"]["properties"] == {"x": {"type": "integer"}}
    assert request["thinking"] == thinking
    assert build(Options(model="m", max_tokens=1, effort="high"), [], TURNS)["output_config"] == {"effort": "high"}


def test_an_uploaded_file_anywhere_in_the_messages_adds_the_files_beta_header():
    document = {"type": "document", "source": {"type": "file", "file_id": "file_1"}}
    earlier = [{"role": "user", "content": [document, {"type": "text", "text": "read it"}]},
               {"role": "assistant", "content": [{"type": "text", "text": "done"}]}]
    assert build(Options(model="m", max_tokens=1), earlier, TURNS)["extra_headers"] == {
        "anthropic-beta": "files-api-2025-04-14"}
    assert "extra_headers" not in build(Options(model="m", max_tokens=1), EARLIER, TURNS)
