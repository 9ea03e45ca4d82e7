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
