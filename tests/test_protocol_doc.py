"""docs/protocol.md says what the code does: its example frames decode, its
tables are the ones the code makes.

Conventions the document follows (and this test reads):

- A fenced block tagged ``json`` holds either frames, one a line, each line
  starting with ``→ `` (console to hub) or ``← `` (hub to console), or one
  JSON document (an HTTP body). Every frame must decode.
- A fenced block tagged ``text`` may hold deliberately broken frames, marked
  the same way; each of those must fail to decode.
- ``<!-- generated: NAME -->`` is followed by a table this module makes
  (request catalogue, permissions, the fields of each frame and type). Run
  ``python tests/test_protocol_doc.py`` to print them all.
- The tables of error codes, close codes and limits are written by hand;
  their first column (codes) or their constant column is checked.
"""

from __future__ import annotations

import importlib
import json
import re
import sys
from pathlib import Path
from typing import Any

import msgspec
import msgspec.inspect as mi
import pytest

from agentdesk.api import ErrorCode, Role, Update, wire
from agentdesk.api import requests as rq
from agentdesk.api.codec import decode, decode_request, decode_result
from agentdesk.core.desk.authorize import LEAST_ROLE
from agentdesk.domain.events import Event

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "protocol.md"
METRICS_SOURCE = ROOT / "agentdesk" / "core" / "hub" / "metrics.py"

FENCE = re.compile(r"^```(\w*)[^\n]*\n(.*?)^```[ \t]*$", re.M | re.S)
ARROWS = ("→ ", "← ")
FROM_CONSOLE = {"hello", "subscribe", "call"}
MARKER = re.compile(r"^<!-- generated: (.+?) -->\n((?:\|.*\n)+)", re.M)


# --- what the code says: the generated tables ------------------------------------


def _key(cls: type) -> str:
    """The name a type's table goes by in the document."""
    config = getattr(cls, "__struct_config__", None)
    if config is not None and config.tag is not None:
        if config.tag_field == "type":
            return f"frame {config.tag}"
        if config.tag_field == "kind":
            return f"event {config.tag}"
    return cls.__name__


def _is_event(t: mi.Type) -> bool:
    return isinstance(t, mi.StructType) and issubclass(t.cls, Event)


def _is_request(t: mi.Type) -> bool:
    return isinstance(t, mi.StructType) and issubclass(t.cls, rq.Request)


def type_text(t: mi.Type) -> str:
    """A field's type in the document's words."""
    if isinstance(t, mi.StrType):
        return "string"
    if isinstance(t, mi.IntType):
        return "integer"
    if isinstance(t, mi.FloatType):
        return "number"
    if isinstance(t, mi.BoolType):
        return "boolean"
    if isinstance(t, mi.NoneType):
        return "null"
    if isinstance(t, mi.AnyType):
        return "any"
    if isinstance(t, mi.RawType):
        return "JSON"
    if isinstance(t, mi.EnumType):
        return " \\| ".join(f'"{member.value}"' for member in t.cls)
    if isinstance(t, mi.ListType | mi.VarTupleType | mi.SetType | mi.FrozenSetType):
        return f"array of {type_text(t.item_type)}"
    if isinstance(t, mi.TupleType):
        return "[" + ", ".join(type_text(item) for item in t.item_types) + "]"
    if isinstance(t, mi.DictType):
        return f"object of {type_text(t.value_type)}"
    if isinstance(t, mi.UnionType):
        if all(_is_event(member) for member in t.types):
            return "event"
        if all(_is_request(member) for member in t.types):
            return "request (see the request catalogue)"
        return " or ".join(type_text(member) for member in t.types)
    if isinstance(t, mi.StructType | mi.DataclassType | mi.NamedTupleType):
        return f"`{_key(t.cls)}`"
    raise AssertionError(f"no words for {t!r}")


def _default(field: mi.Field) -> str | None:
    if field.required:
        return None
    value = field.default_factory() if field.default is mi.NODEFAULT else field.default
    return msgspec.json.encode(value).decode()


def _own_fields(cls: type) -> list[mi.Field]:
    info = mi.type_info(cls)
    fields = list(info.fields)  # type: ignore[attr-defined]
    if issubclass(cls, Event) and cls is not Event:
        base = {f.name for f in mi.type_info(Event).fields}  # type: ignore[attr-defined]
        fields = [f for f in fields if f.name not in base]
    return fields


def field_table(cls: type) -> str:
    rows = ["| Field | Type | Default |", "|---|---|---|"]
    for field in _own_fields(cls):
        default = _default(field)
        shown = "required" if default is None else f"`{default}`"
        rows.append(f"| `{field.encode_name}` | {type_text(field.type)} | {shown} |")
    return "\n".join(rows) + "\n"


def _tag(cls: type) -> str:
    return str(cls.__struct_config__.tag)  # type: ignore[attr-defined]


def _result_text(cls: type[rq.Request]) -> str:
    return "null" if cls.result is None else type_text(mi.type_info(cls.result))


def request_table() -> str:
    rows = ["| `op` | Fields | Command | Result |", "|---|---|---|---|"]
    for cls in rq.REQUEST_TYPES:
        fields = []
        for field in _own_fields(cls):
            default = _default(field)
            text = f"`{field.encode_name}`: {type_text(field.type)}"
            fields.append(text if default is None else f"{text} = {default}")
        shown = "; ".join(fields) or "none"
        command = "yes" if cls.command else "no"
        rows.append(f"| `{_tag(cls)}` | {shown} | {command} | {_result_text(cls)} |")
    return "\n".join(rows) + "\n"


def _task_rule(cls: type[rq.Request]) -> str:
    if cls in (rq.Assign, rq.Transfer):
        return "team, reassign"
    if cls.command and "task_id" in cls.__struct_fields__:
        return "team"
    return "—"


def permission_table() -> str:
    rows = ["| `op` | agent | lead | admin | Task rule |", "|---|---|---|---|---|"]
    for cls in rq.REQUEST_TYPES:
        least = LEAST_ROLE.get(cls, Role.ADMIN)
        cells = " | ".join("yes" if role.at_least(least) else "no" for role in Role)
        rows.append(f"| `{_tag(cls)}` | {cells} | {_task_rule(cls)} |")
    return "\n".join(rows) + "\n"


def _walk(t: mi.Type, found: dict[str, type]) -> None:
    if isinstance(t, mi.StructType | mi.DataclassType | mi.NamedTupleType):
        if _key(t.cls) in found:
            return
        found[_key(t.cls)] = t.cls
        for field in t.fields:
            _walk(field.type, found)
    elif isinstance(t, mi.ListType | mi.VarTupleType | mi.SetType | mi.FrozenSetType):
        _walk(t.item_type, found)
    elif isinstance(t, mi.TupleType):
        for item in t.item_types:
            _walk(item, found)
    elif isinstance(t, mi.DictType):
        _walk(t.value_type, found)
    elif isinstance(t, mi.UnionType):
        for member in t.types:
            _walk(member, found)


def documented_types() -> dict[str, type]:
    """Every frame, and every type a request, an answer or an update carries."""
    found: dict[str, type] = {}
    for frame in wire.AnyFrame.__args__:  # type: ignore[attr-defined]
        found[_key(frame)] = frame
    for frame in wire.AnyFrame.__args__:  # type: ignore[attr-defined]
        for field in mi.type_info(frame).fields:  # type: ignore[attr-defined]
            _walk(field.type, found)
    for cls in rq.REQUEST_TYPES:
        for field in mi.type_info(cls).fields:  # type: ignore[attr-defined]
            _walk(field.type, found)
        if cls.result is not None:
            _walk(mi.type_info(cls.result), found)
    _walk(mi.type_info(Update), found)
    found.pop("Request", None)
    found["Event"] = Event
    return {key: cls for key, cls in found.items() if not issubclass(cls, rq.Request)}


def generated() -> dict[str, str]:
    tables = {"requests": request_table(), "permissions": permission_table()}
    for key, cls in documented_types().items():
        tables[key] = field_table(cls)
    return tables


# --- what the document says ---------------------------------------------------------


def _doc() -> str:
    return DOC.read_text(encoding="utf-8")


def _blocks(lang: str) -> list[str]:
    return [body for tag, body in FENCE.findall(_doc()) if tag == lang]


def _frame_lines(block: str) -> list[str]:
    return [line for line in block.splitlines() if line.startswith(ARROWS)]


def _frame_blocks() -> list[list[str]]:
    found = []
    for block in _blocks("json"):
        lines = [line for line in block.splitlines() if line.strip()]
        if any(line.startswith(ARROWS) for line in lines):
            assert all(line.startswith(ARROWS) for line in lines), (
                f"a json block mixes frames and other lines:\n{block}"
            )
            found.append(lines)
        else:
            json.loads(block)  # an HTTP body: plain JSON
    assert found, "docs/protocol.md has no example frames"
    return found


def _section_rows(heading: str) -> list[list[str]]:
    """The table rows (cells) of the section under ``heading``, header excluded."""
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", _doc(), re.M | re.S)
    assert match, f"docs/protocol.md lost its section {heading!r}"
    rows = []
    for line in match.group(1).splitlines():
        if line.startswith("|") and not re.match(r"^\|[-| ]+\|$", line):
            rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows[1:]


# --- the tests -------------------------------------------------------------------------


def test_every_example_frame_decodes() -> None:
    for lines in _frame_blocks():
        calls: dict[str, rq.Request] = {}
        for line in lines:
            arrow, text = line[:2], line[2:]
            frame = wire.decode_frame(text)
            tag = _tag(type(frame))
            expected = "→ " if tag in FROM_CONSOLE else "← "
            assert arrow == expected, f"{tag} goes the other way: {line}"
            raw = json.loads(text)
            if isinstance(frame, wire.Call):
                request = decode_request(json.dumps(raw["request"]))
                assert request == frame.request
                calls[frame.id] = request
            elif isinstance(frame, wire.Result):
                assert frame.id in calls, f"a result with no call before it: {line}"
                decode_result(calls[frame.id], bytes(frame.value))
            elif isinstance(frame, wire.UpdateFrame):
                decode(bytes(frame.update), Update)


def test_every_frame_type_has_an_example() -> None:
    seen = {_tag(type(wire.decode_frame(line[2:]))) for lines in _frame_blocks() for line in lines}
    tags = {_tag(frame) for frame in wire.AnyFrame.__args__}  # type: ignore[attr-defined]
    assert tags - seen == set(), "frame types without an example"


def test_the_deliberately_broken_frames_do_not_decode() -> None:
    broken = [line for block in _blocks("text") for line in _frame_lines(block)]
    assert broken, "docs/protocol.md shows no broken frame"
    for line in broken:
        with pytest.raises(ValueError):
            wire.decode_frame(line[2:])


def test_the_request_catalogue_lists_exactly_the_requests() -> None:
    rows = _section_rows("Request catalogue")
    listed = [row[0].strip("`") for row in rows]
    assert sorted(listed) == sorted(_tag(cls) for cls in rq.REQUEST_TYPES)


def test_the_generated_tables_match_the_code() -> None:
    written = dict(MARKER.findall(_doc()))
    for name, table in generated().items():
        assert name in written, f"docs/protocol.md has no table for {name!r}:\n{table}"
        assert written[name] == table, f"the table {name!r} is out of date; it is now:\n{table}"
    assert set(written) <= set(generated()), "tables for names the code does not have"


def test_every_error_code_is_explained() -> None:
    listed = {row[0].strip("`") for row in _section_rows("Error codes")}
    assert listed == {code.value for code in ErrorCode}


def test_every_close_code_is_explained() -> None:
    codes = {int(row[0]) for row in _section_rows("Close codes") if row[0].isdigit()}
    ours = {value for name, value in vars(wire).items() if name.startswith("CLOSE_")}
    assert ours <= codes
    assert {code for code in codes if 4000 <= code < 5000} == ours


def test_the_limits_are_the_constants() -> None:
    rows = _section_rows("Limits")
    assert rows
    for row in rows:
        path = re.search(r"`([\w.]+)`", row[2])
        assert path, f"a limit without its constant: {row}"
        module, _, name = path.group(1).rpartition(".")
        value = getattr(importlib.import_module(module), name)
        number = re.search(r"\d+(?:\.\d+)?", row[1].replace(",", ""))
        assert number and float(number.group()) == value, f"{path.group(1)} is {value}: {row}"


def test_every_metric_is_named() -> None:
    names = set(re.findall(r'"(agentdesk_\w+)"', METRICS_SOURCE.read_text(encoding="utf-8")))
    assert names
    missing = {name for name in names if f"`{name}" not in _doc()}
    assert missing == set()


def _print_tables(out: Any = sys.stdout) -> None:
    for name, table in generated().items():
        print(f"<!-- generated: {name} -->\n{table}", file=out)


if __name__ == "__main__":
    _print_tables()
