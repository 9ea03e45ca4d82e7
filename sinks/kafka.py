"""Kafka records for alerts (``compliance.alerts``, keyed by alert_id) and dead letters."""

from __future__ import annotations

import base64
from typing import Any

import orjson

from events import Action, Alert, Rejection


def alert_record(alert: Alert) -> tuple[bytes, bytes]:
    """(key, value) of an alert on the alerts topic."""
    return alert.alert_id.encode(), alert.model_dump_json().encode()


def action_record(action: Action) -> tuple[bytes, bytes]:
    """(key, value) of an IT action request on the actions topic, keyed by action_id."""
    return action.action_id.encode(), action.model_dump_json().encode()


def deadletter_record(
    rejection: Rejection, raw: bytes | None, topic: str, partition: int, offset: int
) -> bytes:
    """The dead-letter value: reason, where the input came from, and its original bytes."""
    record: dict[str, Any] = {
        "reason": rejection.reason,
        "message": rejection.message,
        "field": rejection.field,
        "topic": topic,
        "partition": partition,
        "offset": offset,
        "original_base64": base64.b64encode(raw or b"").decode(),
    }
    try:
        record["original"] = (raw or b"").decode("utf-8")
    except UnicodeDecodeError:
        record["original"] = None
    return orjson.dumps(record)
