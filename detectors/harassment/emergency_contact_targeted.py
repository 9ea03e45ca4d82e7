"""``harassment.emergency_contact_targeted``: a collector works through one employee's emergency contacts.

Colleagues listed as emergency contacts of employee X are called or texted by one
external number: X is the likely debtor and the alert's subject.
"""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field

from detectors.base import Detector, Finding, Routed, RuleConfig, State
from detectors.durations import Duration, format_duration
from detectors.harassment.collection_content import collection_terms
from detectors.text.speech import outside_party_text
from detectors.windows import record
from events import Subject
from events.alert import Severity


class EmergencyContactTargetedConfig(RuleConfig):
    severity: Severity = "high"
    min_contacts: int = Field(default=2, ge=1)
    """Emergency contacts of one employee that one external number reaches within ``window``."""
    window: Duration = timedelta(hours=72)
    """Sliding window of the contacts counted; also the alert's suppression period."""
    min_terms: int = Field(default=2, ge=1)
    """Collection terms that make one reached contact enough."""


class EmergencyContactTargeted(Detector[EmergencyContactTargetedConfig]):
    """Fires per employee X whose listed emergency contacts one external number reaches."""

    rule_id = "harassment.emergency_contact_targeted"
    category = "harassment"
    family = "harassment"
    config_model = EmergencyContactTargetedConfig
    reads_hr_records = True

    def _listers(self, employee: str, line: str) -> list[str]:
        if self.directory is None:
            return []
        phones = {line, *self.directory.phones_of(employee)}
        return sorted({x for p in phones for x in self.directory.listers_of(p)} - {employee})

    def observe(self, item: Routed, state: State) -> list[Finding] | None:
        employee = item.facts.get("employee_id")
        if not employee or self.directory is None:
            return None
        listers = self._listers(employee, item.facts["line"])
        if not listers:
            return None
        terms, sentences, how = collection_terms(outside_party_text(item.event))
        content = len(terms) >= self.config.min_terms
        width = self.config.window.total_seconds()
        ts = item.event.timestamp
        log = record(state, self.state_key(item.key), [ts, item.event.uid, employee, listers], width)
        findings = []
        for debtor in listers:
            reached = [e for e in log if debtor in e[3] and abs(e[0] - ts) <= width]
            contacts = sorted({e[2] for e in reached})
            if len(contacts) < self.config.min_contacts and not content:
                continue
            findings.append(
                Finding(
                    subject=Subject(kind="employee", id=debtor),
                    severity=self.config.severity,
                    evidence=[(e[0], e[1]) for e in reached],
                    trigger_ts=ts,
                    summary=(
                        f"External number {item.key} reached {len(contacts)} of employee {debtor}'s "
                        f"emergency contacts within {format_duration(self.config.window)}"
                        + (" with collection content" if content else "")
                    ),
                    details={
                        "external_number": item.key,
                        "likely_debtor": debtor,
                        "contacts_reached": contacts,
                        "min_contacts": self.config.min_contacts,
                        "window": format_duration(self.config.window),
                        "collection_terms": terms,
                        "matched_as": how,
                        "sentences": sentences[:5],
                    },
                    employee_ids=sorted({debtor, *contacts}),
                )
            )
        return findings
