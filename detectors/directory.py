"""The company directory: phone / e-mail -> employee, built from ``hr.employee.upserted``.

Backed by any mutable mapping: a dict in ``backtest``, a global Faust table in the worker
(every worker needs every employee, whatever partition an event arrives on).
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import TYPE_CHECKING, Any

from events.models import EmergencyContactChangedEvent, EmployeeUpserted

if TYPE_CHECKING:
    from detectors.policy import Policy


class Directory:
    """Who works here, by phone number and e-mail address."""

    def __init__(self, store: MutableMapping[str, Any], policy: Policy) -> None:
        self.store = store
        self.policy = policy

    def upsert(self, record: EmployeeUpserted) -> None:
        """Apply one HR record; a ``left`` employee's phones and address stop resolving."""
        key = f"emp:{record.employee_id}"
        previous = self.store.get(key)
        if previous:
            for phone in previous.get("phones", []):
                if self.store.get(f"phone:{phone}") == record.employee_id:
                    del self.store[f"phone:{phone}"]
            if previous.get("email") and self.store.get(f"mail:{previous['email']}") == record.employee_id:
                del self.store[f"mail:{previous['email']}"]
        phones = [p for p in (record.office_phone, record.mobile_phone) if p]
        self.store[key] = {
            "role": record.role,
            "status": record.status,
            "office_phone": record.office_phone,
            "phones": phones,
            "email": record.email,
        }
        if record.status == "active":
            for phone in phones:
                self.store[f"phone:{phone}"] = record.employee_id
            if record.email:
                self.store[f"mail:{record.email}"] = record.employee_id

    def change_contact(self, event: EmergencyContactChangedEvent) -> None:
        """Apply one emergency-contact change to the index phone -> employees who list it."""
        change = event.data
        key = f"contacts:{change.employee_id}"
        contacts: dict[str, Any] = dict(self.store.get(key) or {})
        phone = change.contact_phone
        if change.action == "removed":
            contacts.pop(phone, None)
        else:
            contacts[phone] = {"relation": change.relation, "ts": event.timestamp, "uid": event.uid}
        self.store[key] = contacts
        listers = set(self.store.get(f"listed:{phone}") or [])
        if phone in contacts:
            listers.add(change.employee_id)
        else:
            listers.discard(change.employee_id)
        if listers:
            self.store[f"listed:{phone}"] = sorted(listers)
        elif f"listed:{phone}" in self.store:
            del self.store[f"listed:{phone}"]

    def contact(self, employee_id: str, phone: str) -> dict[str, Any] | None:
        """How ``employee_id`` lists ``phone`` (relation, and the time and uid of the change), if so."""
        entry = (self.store.get(f"contacts:{employee_id}") or {}).get(phone)
        return entry if isinstance(entry, dict) else None

    def listers_of(self, phone: str) -> list[str]:
        """Employees who list ``phone`` as an emergency contact."""
        return list(self.store.get(f"listed:{phone}") or [])

    def phones_of(self, employee_id: str) -> list[str]:
        """An active employee's office and mobile phones."""
        record = self.employee(employee_id)
        return list(record.get("phones", [])) if record and record.get("status") == "active" else []

    def is_office_phone(self, phone: str) -> bool:
        """A switchboard number or some active employee's office phone."""
        if phone in self.policy.switchboard:
            return True
        owner = self.employee_for_phone(phone)
        record = self.employee(owner) if owner else None
        return bool(record and record.get("office_phone") == phone)

    def employee_for_phone(self, phone: str) -> str | None:
        """The active employee whose office or mobile phone this is."""
        return self.store.get(f"phone:{phone}")

    def employee(self, employee_id: str) -> dict[str, Any] | None:
        """The stored record of one employee."""
        return self.store.get(f"emp:{employee_id}")

    def is_company_line(self, phone: str) -> bool:
        """A switchboard number or an employee's phone."""
        return phone in self.policy.switchboard or self.employee_for_phone(phone) is not None

    def is_external(self, phone: str) -> bool:
        """Not an employee's phone, not a switchboard number, not allow-listed."""
        return not self.is_company_line(phone) and phone not in self.policy.allow_numbers
