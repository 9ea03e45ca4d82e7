"""JSON Schema documents of every event type, the alert and the action, for producers and consumers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from events.alert import Action, Alert
from events.models import EVENT_MODELS


def all_schemas() -> dict[str, dict[str, Any]]:
    """File name -> JSON Schema (draft 2020-12, as pydantic writes it)."""
    out = {
        f"{event_type}.schema.json": model.model_json_schema() for event_type, model in EVENT_MODELS.items()
    }
    out["alert.schema.json"] = Alert.model_json_schema()
    out["action.schema.json"] = Action.model_json_schema()
    for name, schema in out.items():
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema.setdefault("$id", name)
    return out


def write_schemas(directory: Path) -> list[Path]:
    """Write every schema into ``directory``; return the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in all_schemas().items():
        path = directory / name
        path.write_bytes(orjson.dumps(schema, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")
        written.append(path)
    return written
