"""``contacts.colleague_as_emergency_contact`` and ``contacts.office_number_as_contact``.

Collectors call the emergency contacts a borrower gave; a colleague or an office line in
that list brings the collection into the workplace.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from detectors.base import Detector, Finding, Routed, RuleConfig, State
from detectors.durations import Duration
from events import Subject
from events.alert import Severity
from events.models import EmergencyContactChangedEvent

if TYPE_CHECKING:
    from detectors.directory import Directory


class ContactRuleConfig(RuleConfig):
    window: Duration = timedelta(days=30)
    """Suppression: such contacts of one employee in one period of this length update one alert."""


class ColleagueContactConfig(ContactRuleConfig):
    severity: Severity = "low"


class OfficeNumberContactConfig(ContactRuleConfig):
    severity: Severity = "medium"


@dataclass(frozen=True, slots=True)
class Listing:
    """One employee's emergency contact: whose, which phone, and the change that listed it."""

    employee_id: str
    phone: str
    relation: str | None
    ts: float
    uid: str


def _listing(item: Routed, directory: Directory) -> Listing | None:
    """The contact an added change lists, or (an HR record made the phone a colleague's, see
    ``detectors.routing``) the listing, still in force, that the change made earlier."""
    event = item.event
    if isinstance(event, EmergencyContactChangedEvent):
        data = event.data
        if data.action == "removed":
            return None
        return Listing(data.employee_id, data.contact_phone, data.relation, event.timestamp, event.uid)
    phone = item.facts.get("listed_phone")
    entry = directory.contact(item.key, phone) if phone else None
    if entry is None:
        return None
    return Listing(item.key, phone, entry["relation"], entry["ts"], entry["uid"])


class ColleagueAsEmergencyContact(Detector[ColleagueContactConfig]):
    """Fires when a contact's phone is another active employee's, or its relation is ``colleague``."""

    rule_id = "contacts.colleague_as_emergency_contact"
    category = "contacts"
    family = "contacts"
    config_model = ColleagueContactConfig
    reads_hr_records = True

    def observe(self, item: Routed, state: State) -> Finding | None:
        if self.directory is None or (listing := _listing(item, self.directory)) is None:
            return None
        colleague = self.directory.employee_for_phone(listing.phone)
        if colleague == listing.employee_id:
            colleague = None
        if colleague is None and listing.relation != "colleague":
            return None
        who = f"employee {colleague}" if colleague else "a colleague"
        return Finding(
            subject=Subject(kind="employee", id=listing.employee_id),
            severity=self.config.severity,
            evidence=[(listing.ts, listing.uid)],
            trigger_ts=listing.ts,
            summary=f"Employee {listing.employee_id} lists {who} as an emergency contact",
            details={"contact_phone": listing.phone, "colleague": colleague, "relation": listing.relation},
            employee_ids=sorted({listing.employee_id} | ({colleague} if colleague else set())),
        )


class OfficeNumberAsContact(Detector[OfficeNumberContactConfig]):
    """Fires when a contact's phone is a switchboard number or any employee's office phone."""

    rule_id = "contacts.office_number_as_contact"
    category = "contacts"
    family = "contacts"
    config_model = OfficeNumberContactConfig
    reads_hr_records = True

    def observe(self, item: Routed, state: State) -> Finding | None:
        if self.directory is None or (listing := _listing(item, self.directory)) is None:
            return None
        if not self.directory.is_office_phone(listing.phone):
            return None
        switchboard = listing.phone in self.policy.switchboard
        line = "the switchboard" if switchboard else f"office line {listing.phone}"
        return Finding(
            subject=Subject(kind="employee", id=listing.employee_id),
            severity=self.config.severity,
            evidence=[(listing.ts, listing.uid)],
            trigger_ts=listing.ts,
            summary=f"Employee {listing.employee_id} lists {line} as an emergency contact",
            details={
                "contact_phone": listing.phone,
                "switchboard": switchboard,
                "line_owner": self.directory.employee_for_phone(listing.phone),
            },
            employee_ids=[listing.employee_id],
        )
