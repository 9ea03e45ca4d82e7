"""Kafka records for alerts (``compliance.alerts``, keyed by alert_id) and dead letters."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import orjson

from events import Action, Alert, Rejection

MAX_ORIGINAL_BYTES = 64 * 1024
"""Bytes of a rejected input a dead-letter record keeps (the rest is described by size and hash)."""
MAX_REASON_CHARS = 2000


def alert_record(alert: Alert) -> tuple[bytes, bytes]:
    """(key, value) of an alert on the alerts topic."""
    return alert.alert_id.encode(), alert.model_dump_json().encode()


def action_record(action: Action) -> tuple[bytes, bytes]:
    """(key, value) of an IT action request on the actions topic, keyed by action_id."""
    return action.action_id.encode(), action.model_dump_json().encode()


def _as_text(kept: bytes, truncated: bool) -> str | None:
    """``kept`` as text if it is UTF-8; where the input was cut, a character split by the cut is dropped."""
    for cut in range(4 if truncated else 1):
        try:
            return kept[: len(kept) - cut].decode("utf-8")
        except UnicodeDecodeError:
            continue
    return None


def deadletter_record(
    rejection: Rejection,
    raw: bytes | None,
    topic: str,
    partition: int,
    offset: int,
    keep_bytes: int = MAX_ORIGINAL_BYTES,
) -> bytes:
    """The dead-letter value: reason, where the input came from, and its original bytes once.

    The original is kept as text when it is UTF-8 (``original``), else as base64
    (``original_base64``), cut to its first ``keep_bytes`` bytes; ``original_size`` and
    ``original_sha256`` describe the whole input, so the record stays far below the broker's
    message size whatever arrived.
    """
    raw = raw or b""
    kept = raw[:keep_bytes]
    text = _as_text(kept, truncated=len(raw) > keep_bytes)
    record: dict[str, Any] = {
        "reason": rejection.reason,
        "message": rejection.message[:MAX_REASON_CHARS],
        "field": rejection.field,
        "topic": topic,
        "partition": partition,
        "offset": offset,
        "original": text,
        "original_base64": None if text is not None else base64.b64encode(kept).decode(),
        "original_size": len(raw),
        "original_sha256": hashlib.sha256(raw).hexdigest(),
        "original_truncated": len(raw) > keep_bytes,
    }
    return orjson.dumps(record)
