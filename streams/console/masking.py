"""Masking for the ``it`` and ``auditor`` roles: employee ids, debtor ids and phone numbers
show only their last four characters, in the API, the page, the event stream and exports alike."""

from __future__ import annotations

import re
from typing import Any

_NUMBER = re.compile(r"\+?\d[\d\- ]{5,}\d")
MASKED_SUBJECTS = frozenset({"phone", "employee", "debtor", "agent"})


def mask_id(value: str) -> str:
    """``E1042`` -> ``•1042``; ``+8613800138000`` -> ``•8000`` (distress pseudonyms stay)."""
    if value.startswith(("p-", "ev-")) or len(value) <= 4:
        return value
    return "•" + value[-4:]


def mask_text(text: str) -> str:
    """Phone-like numbers inside free text, masked to their last four digits."""
    return _NUMBER.sub(lambda m: "•" + re.sub(r"\D", "", m.group())[-4:], text)


def _mask_value(value: Any, ids: set[str]) -> Any:
    if isinstance(value, str):
        return mask_id(value) if value in ids else _mask_free_text(value, ids)
    if isinstance(value, list):
        return [_mask_value(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: _mask_value(v, ids) for k, v in value.items()}
    return value


def masked_ids(alert: dict[str, Any]) -> set[str]:
    """The ids of ``alert`` that masking covers: its employees, and its subject when that is a
    person or a number (a mail sender is not masked)."""
    ids = set(alert.get("employee_ids") or [])
    if alert["subject"]["kind"] in MASKED_SUBJECTS:
        ids.add(alert["subject"]["id"])
    return ids


def mask_alert(alert: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``alert`` (alert shape, with its triage) as ``it`` and ``auditor`` see it."""
    ids = masked_ids(alert)
    subject = dict(alert["subject"])
    if subject["kind"] in MASKED_SUBJECTS:
        subject["id"] = mask_id(subject["id"])
    out = {**alert, "subject": subject}
    out["employee_ids"] = [mask_id(e) for e in alert.get("employee_ids") or []]
    out["summary"] = _mask_value(alert.get("summary", ""), ids)
    out["details"] = _mask_value(alert.get("details", {}), ids)
    return out


def mask_event(event: dict[str, Any], ids: set[str]) -> dict[str, Any]:
    """A stored event with the numbers and ids in its data masked."""
    return {**event, "data": _mask_value(event.get("data", {}), ids)}


def mask_action(action: dict[str, Any]) -> dict[str, Any]:
    """An IT action as ``it`` and ``auditor`` see it: its target in full (IT blocks it), numbers
    in its reason, comment and the alert's summary masked."""
    out = {**action, "reason": mask_text(action["reason"])}
    if action.get("comment"):
        out["comment"] = mask_text(action["comment"])
    if action.get("alert"):
        out["alert"] = {**action["alert"], "summary": mask_text(action["alert"]["summary"])}
    return out


RECORD_TEXTS = ("comment", "reason")
"""The free-text fields of an audit record (people write them; they may name anyone)."""


def mask_record(record: dict[str, Any], ids: set[str]) -> dict[str, Any]:
    """An audit record as ``it`` and ``auditor`` see it: in its comment and reason, the ids of
    its alert (``ids``, also inside longer text) and phone-like numbers are masked."""
    out = dict(record)
    for field in RECORD_TEXTS:
        if isinstance(out.get(field), str):
            out[field] = _mask_free_text(out[field], ids)
    return out


def _mask_free_text(text: str, ids: set[str]) -> str:
    for value in sorted(ids, key=len, reverse=True):  # a longer id before one it contains
        if (masked := mask_id(value)) != value:
            text = text.replace(value, masked)
    return mask_text(text)
