"""`--schema`: answers as validated Python objects, from a pydantic model or a JSON Schema dict."""

from __future__ import annotations

import anthropic
import pytest
from conftest import error_text, final_markdown

from claude_magic.simulator import Reply

SETUP = """
from datetime import date
from pydantic import BaseModel

class Author(BaseModel):
    name: str
    born: date

class Paper(BaseModel):
    title: str
    year: int
    authors: list[Author]
    peer_reviewed: bool = True

point = {"type": "object", "properties": {"x": {"type": "number"}, "y": {"type": "number"}},
         "required": ["x", "y"]}
"""


@pytest.fixture
def models(nb):
    nb.run(SETUP)
    return nb


def test_schema_is_sent_as_output_config_format_and_the_answer_is_a_model(models):
    nb = models
    result, captured = nb.run("%%claude --schema Paper --out paper\nThe attention paper.")
    assert result.error_in_exec is None, error_text(captured)
    output_format = nb.requests[-1]["body"]["output_config"]["format"]
    assert output_format["type"] == "json_schema"
    assert output_format["schema"]["additionalProperties"] is False  # the SDK's transform_schema ran
    assert "Author" in output_format["schema"]["$defs"]
    paper = nb.ns["paper"]
    assert type(paper).__name__ == "Paper" and nb.ns["last_parsed"] is paper
    assert type(paper.authors[0]).__name__ == "Author" and paper.authors[0].born.year == 2026
    assert nb.ns["last_message"].content[0].text.startswith("{")  # last_message stays the Message
    assert final_markdown(captured).startswith("```json\n{")


def test_a_json_schema_dict_gives_a_dict(models):
    nb = models
    nb.run("%%claude --schema point\nA point.")
    assert nb.ns["last_parsed"] == {"x": 1, "y": 1}
    assert nb.requests[-1]["body"]["output_config"]["format"]["schema"]["additionalProperties"] is False


def test_effort_and_schema_share_output_config(models):
    nb = models
    nb.run("%%claude --schema point --effort low\nA point.")
    config = nb.requests[-1]["body"]["output_config"]
    assert config["effort"] == "low" and config["format"]["type"] == "json_schema"


def test_an_answer_that_does_not_fit_names_the_field_and_keeps_the_text(models):
    nb = models
    nb.ns["last_parsed"] = "stale"
    nb.sim.queue(Reply.text('{"title": "T", "year": "long ago", "authors": []}'))
    _, captured = nb.run("%%claude --schema Paper --out paper\nq")
    shown = error_text(captured).strip()
    assert "does not fit the schema Paper at `year`" in shown and "Traceback" not in shown
    assert nb.ns["last_parsed"] is None and nb.ns["paper"] is None
    assert '"long ago"' in nb.ns["last_message"].content[0].text
    nb.sim.queue(Reply.text('{"x": "left"}'))
    _, captured = nb.run("%%claude --schema point\nq")
    assert "does not fit the schema point" in error_text(captured)


def test_a_cut_answer_says_so(models):
    nb = models
    nb.sim.queue(Reply.text('{"title": "A very long title indeed", "year": 2017}'))
    _, captured = nb.run("%%claude --schema Paper --max-tokens 3\nq")
    assert "cut at max_tokens" in error_text(captured)


@pytest.mark.parametrize(("cell", "expected"), [
    ("%%claude --schema nothing\nq", "no variable 'nothing'"),
    ("%%claude --schema answer_count\nq", "not a int"),
    ("%%claude --schema listy\nq", "must describe an object"),
])
def test_bad_schemas_are_one_line(models, cell, expected):
    nb = models
    nb.ns["answer_count"] = 3
    nb.ns["listy"] = {"type": "array"}
    _, captured = nb.run(cell)
    shown = error_text(captured).strip()
    assert expected in shown and "Traceback" not in shown and nb.requests == []


def test_next_cell_after_a_structured_answer_is_valid(models):
    nb = models
    nb.run("%%claude --schema point\nA point.")
    result, captured = nb.run("%%claude\nNow explain it.")
    assert result.error_in_exec is None, error_text(captured)
    assert "output_config" not in nb.requests[-1]["body"]


def test_sdk_parses_the_simulators_answer_itself(nb):
    from pydantic import BaseModel

    class City(BaseModel):
        name: str
        population: int

    client = anthropic.Anthropic(base_url=nb.sim.url, api_key="test")
    with client.messages.stream(model="claude-sonnet-5-5", max_tokens=200, output_format=City,
                                messages=[{"role": "user", "content": "Paris"}]) as stream:
        message = stream.get_final_message()
    assert isinstance(message.parsed_output, City)


def test_simulator_refuses_open_objects(nb):
    client = anthropic.Anthropic(base_url=nb.sim.url, api_key="test", max_retries=0)
    with pytest.raises(anthropic.BadRequestError, match="additionalProperties"):
        client.messages.create(model="claude-sonnet-5-5", max_tokens=50,
                               messages=[{"role": "user", "content": "q"}],
                               output_config={"format": {"type": "json_schema", "schema": {"type": "object"}}})


def test_map_with_a_schema_gives_objects_and_a_dataframe_of_records(models):
    nb = models
    nb.ns["names"] = ["Ada", "Grace"]
    result, captured = nb.run("%%claude --map names --schema point --out points\nWhere is {item}?")
    assert result.error_in_exec is None, error_text(captured)
    assert nb.ns["points"] == [{"x": 1, "y": 1}, {"x": 1, "y": 1}]
    pandas = pytest.importorskip("pandas")
    nb.ns["people"] = pandas.DataFrame({"who": ["Ada", "Grace"]}, index=[10, 20])
    nb.sim.queue(Reply.text('{"x": 2, "y": 3}'), Reply.text('{"x": 4, "y": 5}'))
    nb.run("%config ClaudeMagics.map_concurrency = 1")
    nb.run("%%claude --map people --schema point --out table\n{who}")
    table = nb.ns["table"]
    assert list(table.index) == [10, 20] and list(table.columns) == ["x", "y"]
    assert table.to_dict("records") == [{"x": 2, "y": 3}, {"x": 4, "y": 5}]


def test_map_item_that_does_not_fit_is_a_failed_naming_the_field(models):
    nb = models
    nb.run("%config ClaudeMagics.map_concurrency = 1")
    nb.ns["names"] = ["Ada", "Grace"]
    nb.sim.queue(Reply.text('{"x": 2, "y": 3}'), Reply.text('{"x": "far"}'))
    nb.run("%%claude --map names --schema point --out points\nWhere is {item}?")
    good, bad = nb.ns["points"]
    assert good == {"x": 2, "y": 3} and not bad and "point" in str(bad)


def test_ask_takes_the_schema_itself_and_paths(models, tmp_path):
    import claude_magic

    nb = models
    note = tmp_path / "n.txt"
    note.write_text("Hello there.")
    claude_magic.ask("Where?", schema=nb.ns["point"], file=[note], web=True)
    body = nb.requests[-1]["body"]
    assert body["output_config"]["format"]["type"] == "json_schema"
    assert body["messages"][-1]["content"][0]["title"] == "n.txt" and body["tools"][0]["max_uses"] == 5
    assert nb.ns["last_parsed"] == {"x": 1, "y": 1}


@pytest.mark.parametrize("fault", [Reply.error_event(after=2), Reply.http_error(400, message="bad request"),
                                   Reply.drop(after=2)], ids=["error-event", "400", "drop"])
def test_last_parsed_and_out_are_none_after_a_failed_answer_never_stale(models, fault):
    nb = models
    nb.run("%%claude --schema point --out where\nA point.")
    assert nb.ns["last_parsed"] == {"x": 1, "y": 1} and nb.ns["where"] == {"x": 1, "y": 1}
    nb.sim.queue(fault)
    result, captured = nb.run("%%claude --schema point --out where\nAnother point.")
    assert result.error_in_exec is not None and "Traceback" not in error_text(captured)
    assert nb.ns["last_parsed"] is None and nb.ns["where"] is None  # as the README says: None, not stale


@pytest.mark.parametrize("schema", [
    {"type": "object", "properties": {"a": {"type": "foo"}}},
    {"type": "object", "properties": "not a mapping"},
    {"type": "object", "properties": {"a": 5}},
    {"type": "object", "properties": {"a": {"anyOf": "x"}}},
], ids=["unknown-type", "properties-str", "property-int", "anyof-str"])
def test_a_dict_schema_the_sdk_rejects_is_one_line_before_sending(models, schema):
    nb = models
    nb.ns["odd"] = schema
    result, captured = nb.run("%%claude --schema odd\nq")
    shown = error_text(captured).strip()
    assert shown.startswith("--schema odd: the SDK cannot turn it into a schema the API takes (")
    assert len(shown.splitlines()) == 1 and "Traceback" not in shown and nb.requests == []
    assert type(result.error_in_exec).__name__ == "BadInput" and result.error_in_exec.__cause__ is not None


RECURSIVE = """
from __future__ import annotations
from pydantic import BaseModel

class Node(BaseModel):
    name: str
    children: list[Node]
    parent: Node | None = None
"""


def test_a_recursive_model_with_a_ref_at_the_top_works(nb):
    nb.run(RECURSIVE)
    result, captured = nb.run("%%claude --schema Node --out tree\nThe tree of life.")
    assert result.error_in_exec is None, error_text(captured)
    schema = nb.requests[-1]["body"]["output_config"]["format"]["schema"]
    # pydantic 2.9+ writes the root as {"$ref": …}; 2.7 and 2.8 as {"allOf": [{"$ref": …}]}: both are taken.
    root_ref = schema.get("$ref") or schema["allOf"][0]["$ref"]
    assert root_ref == "#/$defs/Node" and schema["$defs"]["Node"]["additionalProperties"] is False
    tree = nb.ns["tree"]
    assert type(tree).__name__ == "Node" and tree.children == [] and nb.ns["last_parsed"] is tree
    # A dict with its root a $ref (as pydantic writes it) is taken too.
    nb.ns["node_schema"] = nb.ns["Node"].model_json_schema()
    result, captured = nb.run("%%claude --schema node_schema\nA tree.")
    assert result.error_in_exec is None, error_text(captured)
    assert set(nb.ns["last_parsed"]) == {"name", "children"}


def test_a_ref_at_the_top_to_something_not_an_object_is_refused(models):
    nb = models
    nb.ns["listy_ref"] = {"$defs": {"L": {"type": "array", "items": {"type": "string"}}}, "$ref": "#/$defs/L"}
    _, captured = nb.run("%%claude --schema listy_ref\nq")
    assert "must describe an object" in error_text(captured) and nb.requests == []


def test_the_simulator_accepts_a_top_level_ref_as_the_sdk_sends_it(nb):
    """What the SDK itself sends for a recursive model (`output_format=Node`) the simulator answers."""
    nb.run(RECURSIVE)
    client = anthropic.Anthropic(base_url=nb.sim.url, api_key="test", max_retries=0)
    with client.messages.stream(model="claude-sonnet-5-5", max_tokens=200, output_format=nb.ns["Node"],
                                messages=[{"role": "user", "content": "a tree"}]) as stream:
        message = stream.get_final_message()
    assert type(message.parsed_output).__name__ == "Node"
