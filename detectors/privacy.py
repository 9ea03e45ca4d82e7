"""Pseudonyms for the sensitive ``distress`` category (PIPL Art. 28-29).

Distress alerts leave the detector with their employee ids replaced by keyed-HMAC
pseudonyms; only the restricted mapping (written by the worker straight to a restricted
table, never to a shared topic) turns them back into employees.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

SENSITIVE_CATEGORIES = frozenset({"distress"})


@dataclass(frozen=True, slots=True)
class PseudonymRecord:
    """One row of the restricted mapping table."""

    pseudonym: str
    employee_id: str


class Pseudonymizer:
    """``employee_id`` -> ``p-<hex>``: stable for one key, unrelated across keys."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the pseudonym key must be at least 16 bytes")
        self._key = key

    def pseudonym(self, employee_id: str) -> str:
        digest = hmac.new(self._key, employee_id.encode(), hashlib.sha256).hexdigest()
        return f"p-{digest[:20]}"

    def event_pseudonym(self, uid: str) -> str:
        """``source/id`` of an evidence event -> ``ev-<hex>``. A distress alert must not share
        an event id with an alert that names the employee in clear (an expense alert about the
        same claims): joined on ``event_ids``, the two would name the person behind the
        pseudonym. Stable for one key, so one event is the same evidence across distress alerts;
        whoever holds the key (HR) can test which event it is."""
        digest = hmac.new(self._key, b"event\x1f" + uid.encode(), hashlib.sha256).hexdigest()
        return f"ev-{digest[:20]}"
