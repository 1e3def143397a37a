"""`--schema NAME`: answers as Python objects, validated against a pydantic model or a JSON Schema.

The request carries the schema as `output_config.format` (a json_schema, made API-ready by the SDK's
own `transform_schema`, as `messages.stream(output_format=…)` does). The SDK's `output_format` is not
used itself: it parses the text at `content_block_stop`, and an answer that does not validate (cut at
max_tokens, say) would then raise mid-stream and lose the rest of the stream, usage included. Here the
whole answer is received first and validated after, by pydantic (or `jsonschema` for a dict).

A schema whose root is a `$ref` into its `$defs` (what pydantic makes of a recursive model) is sent as
it is, which `transform_schema` keeps; only the check that the answer is an object looks through it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import BadInput, ClaudeMagicError


@dataclass(frozen=True)
class Schema:
    name: str
    json_schema: dict[str, Any]
    model: Any = None  # a type pydantic can validate; None for a JSON Schema dict

    def output_format(self) -> dict[str, Any]:
        from anthropic import transform_schema

        return {"type": "json_schema", "schema": transform_schema(self.json_schema)}

    def parse(self, text: str) -> Any:
        """The validated object, or a `ClaudeMagicError` naming the first field that does not fit."""
        if self.model is not None:
            import pydantic

            try:
                return pydantic.TypeAdapter(self.model).validate_json(text)
            except pydantic.ValidationError as exc:
                error = exc.errors()[0]
                raise self._misfit(error["loc"], error["msg"]) from exc
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise self._misfit((), f"not JSON ({exc})") from exc
        import jsonschema

        error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(self.json_schema).iter_errors(value))
        if error is not None:
            raise self._misfit(tuple(error.absolute_path), error.message) from None
        return value

    def _misfit(self, location: tuple[Any, ...], message: str) -> ClaudeMagicError:
        field = ".".join(map(str, location))
        where = f" at `{field}`" if field else ""
        return ClaudeMagicError(f"The answer does not fit the schema {self.name}{where}: {message}. "
                                "The raw answer is in `last_message`.")


def schema_from(spec: Any, namespace: Mapping[str, Any]) -> Schema:
    """The schema a notebook variable holds (or, from `ask(schema=…)`, the schema itself):
    a pydantic model (or another type pydantic knows), or a JSON Schema dict."""
    if isinstance(spec, str):
        name = spec
        if name not in namespace:
            raise BadInput(f"--schema {name}: there is no variable {name!r} in the notebook.")
        value = namespace[name]
    else:
        name, value = getattr(spec, "__name__", "schema"), spec
    if isinstance(value, Mapping):
        if _root(value).get("type") != "object":
            raise BadInput(f"--schema {name}: a JSON Schema for an answer must describe an object "
                           '({"type": "object", "properties": …}).')
        return _sendable(Schema(name, dict(value)))
    if isinstance(value, type):
        import pydantic

        try:
            json_schema = pydantic.TypeAdapter(value).json_schema()
        except pydantic.PydanticUserError as exc:
            raise BadInput(f"--schema {name}: pydantic cannot make a JSON Schema of it ({exc.message})") from exc
        if _root(json_schema).get("type") != "object":
            raise BadInput(f"--schema {name}: an answer must be an object; use a pydantic model with fields.")
        return _sendable(Schema(name, json_schema, value))
    raise BadInput(f"--schema {name}: give a pydantic model class or a JSON Schema dict, "
                   f"not a {type(value).__name__}.")


def _root(json_schema: Mapping[str, Any]) -> Mapping[str, Any]:
    """The schema the answer itself must fit: the root, or the definition a root `$ref` points to
    (`#/$defs/Name`, as pydantic writes a recursive model; before 2.9 as `allOf: [{"$ref": …}]`) — as
    `transform_schema` keeps it."""
    all_of = json_schema.get("allOf")
    if "$ref" not in json_schema and isinstance(all_of, list) and len(all_of) == 1 and isinstance(all_of[0], Mapping):
        json_schema = {**json_schema, **all_of[0]}
    ref = json_schema.get("$ref")
    if not isinstance(ref, str) or not ref.startswith("#/"):
        return json_schema
    target: Any = json_schema
    for part in ref[2:].split("/"):
        target = target.get(part) if isinstance(target, Mapping) else None
    return target if isinstance(target, Mapping) else {}


def _sendable(schema: Schema) -> Schema:
    """The schema, once the SDK's `transform_schema` has taken it: what it rejects is one line, before sending."""
    try:
        schema.output_format()
    except Exception as exc:  # it raises AssertionError, AttributeError, TypeError, ValueError…
        detail = str(exc) or type(exc).__name__
        raise BadInput(f"--schema {schema.name}: the SDK cannot turn it into a schema the API takes ({detail}). "
                       "Check its `type`s and `properties`.") from exc
    return schema


def answer_text(message: Any) -> str:
    return "".join(block.text for block in message.content if block.type == "text")


def deliver(message: Any, schema: Schema, namespace: dict[str, Any], out: str | None) -> Any:
    """Validate a finished answer into `last_parsed` (and `out`), or raise one line saying what does not fit.

    Until it validates both hold None: never a stale object, nor the Message (`last_message` has that).
    """
    forget(namespace, out)
    if message.stop_reason == "max_tokens":
        raise ClaudeMagicError("The structured answer was cut at max_tokens, so it is not complete JSON: "
                               "raise `--max-tokens`. The raw answer is in `last_message`.")
    if message.stop_reason == "refusal":
        raise ClaudeMagicError("Claude declined to answer, so there is no object. See `last_message`.")
    value = schema.parse(answer_text(message))
    namespace["last_parsed"] = value
    if out:
        namespace[out] = value
    return value


def forget(namespace: dict[str, Any], out: str | None) -> None:
    """`last_parsed` (and `out`) hold None until an answer validates: never a stale object after a failure."""
    for name in ("last_parsed", out):
        if name:
            namespace[name] = None


def parse_each(schema: Schema, results: list[Any], failed: type) -> list[Any]:
    """`--map --schema`: each answered item's object, or a `failed` (a `Failed`) saying what does not fit."""
    parsed = []
    for result in results:
        if isinstance(result, failed):
            parsed.append(result)
            continue
        try:
            parsed.append(deliver(result, schema, {}, None))
        except ClaudeMagicError as exc:
            parsed.append(failed(str(exc).split(". The raw answer")[0]))
    return parsed


def records(value: Any, parsed: list[Any]) -> Any:
    """A DataFrame of the objects, one row per item on the input's index, when the input was a DataFrame
    and every item fitted; else None."""
    if not hasattr(value, "iterrows") or not all(isinstance(item, dict) or hasattr(item, "model_dump")
                                                 for item in parsed):
        return None
    import pandas

    rows = [item if isinstance(item, dict) else item.model_dump() for item in parsed]
    return pandas.DataFrame(rows, index=value.index)
