"""``contacts.colleague_as_emergency_contact`` and ``contacts.office_number_as_contact``.

Collectors call the emergency contacts a borrower gave; a colleague or an office line in
that list brings the collection into the workplace.
"""

from __future__ import annotations

from datetime import timedelta

from detectors.base import Detector, Finding, Routed, RuleConfig, State
from detectors.durations import Duration
from events import Subject
from events.alert import Severity
from events.models import EmergencyContactChangedEvent


class ContactRuleConfig(RuleConfig):
    window: Duration = timedelta(days=30)
    """Suppression: further such contacts of the same employee within this window update one alert."""


class ColleagueContactConfig(ContactRuleConfig):
    severity: Severity = "low"


class OfficeNumberContactConfig(ContactRuleConfig):
    severity: Severity = "medium"


def _added(item: Routed) -> EmergencyContactChangedEvent | None:
    event = item.event
    if isinstance(event, EmergencyContactChangedEvent) and event.data.action != "removed":
        return event
    return None


class ColleagueAsEmergencyContact(Detector[ColleagueContactConfig]):
    """Fires when a contact's phone is another active employee's, or its relation is ``colleague``."""

    rule_id = "contacts.colleague_as_emergency_contact"
    category = "contacts"
    family = "contacts"
    config_model = ColleagueContactConfig
    reads_hr_records = True

    def observe(self, item: Routed, state: State) -> Finding | None:
        event = _added(item)
        if event is None or self.directory is None:
            return None
        data = event.data
        colleague = self.directory.employee_for_phone(data.contact_phone)
        if colleague == data.employee_id:
            colleague = None
        if colleague is None and data.relation != "colleague":
            return None
        ts = event.timestamp
        who = f"employee {colleague}" if colleague else "a colleague"
        return Finding(
            subject=Subject(kind="employee", id=data.employee_id),
            severity=self.config.severity,
            evidence=[(ts, event.uid)],
            trigger_ts=ts,
            summary=f"Employee {data.employee_id} lists {who} as an emergency contact",
            details={"contact_phone": data.contact_phone, "colleague": colleague, "relation": data.relation},
            employee_ids=sorted({data.employee_id} | ({colleague} if colleague else set())),
        )


class OfficeNumberAsContact(Detector[OfficeNumberContactConfig]):
    """Fires when a contact's phone is a switchboard number or any employee's office phone."""

    rule_id = "contacts.office_number_as_contact"
    category = "contacts"
    family = "contacts"
    config_model = OfficeNumberContactConfig
    reads_hr_records = True

    def observe(self, item: Routed, state: State) -> Finding | None:
        event = _added(item)
        if event is None or self.directory is None:
            return None
        data = event.data
        if not self.directory.is_office_phone(data.contact_phone):
            return None
        ts = event.timestamp
        switchboard = data.contact_phone in self.policy.switchboard
        line = "the switchboard" if switchboard else f"office line {data.contact_phone}"
        return Finding(
            subject=Subject(kind="employee", id=data.employee_id),
            severity=self.config.severity,
            evidence=[(ts, event.uid)],
            trigger_ts=ts,
            summary=f"Employee {data.employee_id} lists {line} as an emergency contact",
            details={
                "contact_phone": data.contact_phone,
                "switchboard": switchboard,
                "line_owner": self.directory.employee_for_phone(data.contact_phone),
            },
            employee_ids=[data.employee_id],
        )
