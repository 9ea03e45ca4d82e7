"""docs/events.md names every event type and every field of the models it describes."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel

from events import EVENT_TYPES
from events.alert import Action, Alert
from events.models import EVENT_MODELS

DOC_DIR = Path(__file__).resolve().parents[2] / "docs"
DOC = (DOC_DIR / "events.md").read_text(encoding="utf-8")


def fields_of(model: type[BaseModel]) -> set[str]:
    names = set()
    for name, info in model.model_fields.items():
        names.add(name)
        for arg in getattr(info.annotation, "__args__", ()) or ():
            inner = getattr(arg, "__args__", (arg,))[0] if getattr(arg, "__origin__", None) is list else arg
            if isinstance(inner, type) and issubclass(inner, BaseModel):
                names |= fields_of(inner)
    return names


def test_every_event_type_and_field_is_documented():
    named = set(re.findall(r"`([a-z_.]+)`", DOC))
    for event_type in EVENT_TYPES:
        assert event_type in named, event_type
        model = EVENT_MODELS[event_type]
        missing = fields_of(model.model_fields["data"].annotation) - named
        assert not missing, (event_type, missing)
    envelope = {name for name in fields_of(EVENT_MODELS[EVENT_TYPES[0]]) if name not in ("type", "data")}
    assert not envelope - named, envelope - named


def test_every_alert_and_action_field_is_documented():
    for model in (Alert, Action):
        missing = {name for name in model.model_fields if f'"{name}"' not in DOC and f"`{name}`" not in DOC}
        assert not missing, (model.__name__, missing)


def topic_table() -> dict[str, list[str]]:
    """The *Topics* table of events.md: topic name -> the event types it carries."""
    section = DOC.split("## Topics", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|")[1:3] for line in section.splitlines() if line.startswith("| `")]
    return {re.findall(r"`([^`]+)`", topic)[0]: re.findall(r"`([^`]+)`", carries) for topic, carries in rows}


def test_the_topic_table_is_the_default_names_and_where_each_type_goes():
    from streams.settings import Topics

    defaults = Topics()
    table = topic_table()
    # compliance.triage is the console's audit log, documented in console.md
    assert set(table) == set(defaults.model_dump().values()) - {defaults.triage}
    assert f"`{defaults.triage}`" in (DOC_DIR / "console.md").read_text(encoding="utf-8")
    assert set(defaults.inputs()) == {topic for topic, types in table.items() if types}
    carried = {event_type: topic for topic, types in table.items() for event_type in types}
    assert set(carried) == set(EVENT_TYPES)
    assert {event_type: defaults.for_event(event_type) for event_type in EVENT_TYPES} == carried


def test_the_severity_and_subject_kind_lists_are_the_alert_schema_s():
    """What producers validate against (``schemas``) is what events.md lists, value for value."""
    said = re.search(r"`severity` is (.*?); `subject.kind` is (.*?)\.", " ".join(DOC.split()))
    assert said, "events.md no longer lists them"
    severity, kind = (re.findall(r"`([a-z_]+)`", values) for values in said.groups())
    schema = Alert.model_json_schema()
    assert severity == schema["properties"]["severity"]["enum"]
    assert kind == schema["$defs"]["Subject"]["properties"]["kind"]["enum"]


def test_every_test_docs_promises_md_names_exists():
    """Each row's tests are `file.py::name` or `::name` (same file as the reference before it)."""
    tests = Path(__file__).resolve().parents[1]
    defined = {}
    for path in tests.rglob("test_*.py"):
        defined.setdefault(path.name, set()).update(
            re.findall(r"^def (test_\w+)", path.read_text("utf-8"), re.M)
        )
    table = (DOC_DIR / "promises.md").read_text(encoding="utf-8")
    named, missing = 0, []
    for row in (line for line in table.splitlines() if line.startswith("| ")):
        current = None
        for file, name in re.findall(r"([\w]+\.py)?::(test_\w+)", row):
            current = file or current
            named += 1
            if current is None or name not in defined.get(current, set()):
                missing.append(f"{current}::{name}")
    assert named > 500 and not missing, missing
