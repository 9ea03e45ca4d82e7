"""``harassment.collection_content``: a collector's words reach an employee by call or SMS."""

from __future__ import annotations

from datetime import timedelta
from typing import NamedTuple

from pydantic import Field

from detectors.base import Detector, Finding, Routed, RuleConfig, State
from detectors.durations import Duration
from detectors.text import MatchKind, default_matcher, matched_as
from detectors.text.speech import outside_party_text
from events import Subject
from events.alert import Severity

COLLECTION = frozenset({"collection"})


class TermsFound(NamedTuple):
    """Distinct collection terms in a text, the sentences they stand in, and how each matched."""

    terms: list[str]
    sentences: list[str]
    matched_as: dict[str, list[MatchKind]]


def collection_terms(text: str) -> TermsFound:
    """The collection terms of ``text``."""
    matches = default_matcher().find(text, COLLECTION)
    terms = sorted({m.term for m in matches})
    return TermsFound(terms, list(dict.fromkeys(m.sentence for m in matches)), matched_as(matches))


class CollectionContentConfig(RuleConfig):
    severity: Severity = "medium"
    min_terms: int = Field(default=2, ge=1)
    """Distinct collection terms in one transcript or SMS."""
    window: Duration = timedelta(hours=24)
    """Suppression: messages of one number in one period of this length update one alert."""


class CollectionContent(Detector[CollectionContentConfig]):
    """Fires when an inbound transcript or SMS to an employee holds ``min_terms`` collection terms."""

    rule_id = "harassment.collection_content"
    category = "harassment"
    family = "harassment"
    config_model = CollectionContentConfig
    reads_hr_records = True

    def observe(self, item: Routed, state: State) -> Finding | None:
        employee = item.facts.get("employee_id")
        if not employee:
            return None
        terms, sentences, how = collection_terms(outside_party_text(item.event))
        if len(terms) < self.config.min_terms:
            return None
        ts = item.event.timestamp
        return Finding(
            subject=Subject(kind="phone", id=item.key),
            severity=self.config.severity,
            evidence=[(ts, item.event.uid)],
            trigger_ts=ts,
            summary=f"Collection message from {item.key} to employee {employee} ({', '.join(terms)})",
            details={
                "external_number": item.key,
                "employee_id": employee,
                "channel": item.facts.get("channel"),
                "terms": terms,
                "matched_as": how,
                "sentences": sentences[:5],
                "min_terms": self.config.min_terms,
            },
            employee_ids=[employee],
        )
