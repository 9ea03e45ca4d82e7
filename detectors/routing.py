"""Which key family an event belongs to, its partition key there, and the facts routing finds.

Routing runs where the event is first read (the worker's input agents, or ``backtest``)
and may consult the company directory; the detectors then only see the routed event.

| family | key | events |
| --- | --- | --- |
| ``harassment`` | the external phone | inbound calls and SMS from an external number |
| ``conduct`` | the debtor | a collection agency's own calls and SMS (``collection`` block) |
| ``contacts`` | the employee | ``hr.emergency_contact.changed``; ``hr.employee.upserted``, see below |
| ``mail`` | the sender's domain | mail from outside the company's own domains |
| ``employee`` | the employee | expense claims and leave records |
| ``cohort`` | the employee's role | expense claims (monthly totals per role) |

An HR record that gives an employee a phone some other employees already list as an
emergency contact goes to each of them (``contacts``), so a listing is judged against the
colleague whichever of the two records arrives first.

An event goes to a family only if an enabled rule there reads its type
(``Detector.event_types``): with ``distress.frequent_leave`` off, leave records go nowhere.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING

from detectors.base import Routed
from events import Event
from events.models import (
    CallCompletedEvent,
    EmergencyContactChangedEvent,
    EmployeeUpsertedEvent,
    LeaveRecordedEvent,
    MailReceivedEvent,
    ReimbursementSubmittedEvent,
    SmsDeliveredEvent,
)

if TYPE_CHECKING:
    from detectors.directory import Directory

HARASSMENT = "harassment"
CONDUCT = "conduct"
CONTACTS = "contacts"
MAIL = "mail"
EMPLOYEE = "employee"
COHORT = "cohort"


def route(event: Event, directory: Directory, wanted: frozenset[tuple[str, str]]) -> list[Routed]:
    """The routed copies of ``event``, one per key family with an enabled detector that reads
    its type: ``wanted`` holds those ``(family, event type)`` pairs."""
    out: list[Routed] = []
    for router in _plan(wanted).get(event.type, ()):
        if routed := router(event, directory):
            out.extend(routed if isinstance(routed, list) else [routed])
    return out


@lru_cache(maxsize=64)
def _plan(wanted: frozenset[tuple[str, str]]) -> dict[str, tuple[Router, ...]]:
    """Event type -> the routers of the families in ``wanted`` that read it, in routing order
    (worked out once per set of enabled rules, not on every event)."""
    return {
        event_type: tuple(router for family, router in routers if (family, event_type) in wanted)
        for event_type, routers in _ROUTERS_BY_TYPE.items()
    }


def _harassment(event: Event, directory: Directory) -> Routed | None:
    if isinstance(event, CallCompletedEvent):
        data = event.data
        if data.direction != "inbound" or data.collection is not None:
            return None
        external, line, employee, channel = data.caller, data.callee, data.callee_employee_id, "call"
    elif isinstance(event, SmsDeliveredEvent):
        sms = event.data
        if sms.direction != "inbound" or sms.collection is not None:
            return None
        external, line, employee, channel = sms.sender, sms.recipient, sms.recipient_employee_id, "sms"
    else:
        return None
    if not directory.is_external(external):
        return None
    return Routed(HARASSMENT, external, event, {"channel": channel, "employee_id": employee, "line": line})


def _conduct(event: Event, directory: Directory) -> Routed | None:
    if isinstance(event, CallCompletedEvent | SmsDeliveredEvent) and event.data.collection:
        return Routed(CONDUCT, event.data.collection.debtor_id, event)
    return None


def _contacts(event: Event, directory: Directory) -> Routed | None:
    if isinstance(event, EmergencyContactChangedEvent):
        return Routed(CONTACTS, event.data.employee_id, event)
    return None


def _new_colleague(event: Event, directory: Directory) -> list[Routed]:
    """An active employee's phone that is new to the directory: one copy per employee who
    already lists it as an emergency contact, so the contacts rules judge that listing again
    now that it is a colleague's (whichever of the two records arrived first)."""
    if not isinstance(event, EmployeeUpsertedEvent) or event.data.status != "active":
        return []
    data = event.data
    phones = sorted({p for p in (data.office_phone, data.mobile_phone) if p})
    return [
        Routed(CONTACTS, lister, event, {"listed_phone": phone})
        for phone in phones
        if directory.employee_for_phone(phone) != data.employee_id
        for lister in directory.listers_of(phone)
        if lister != data.employee_id
    ]


def sender_domain(address: str) -> str:
    """``Collector <a@b.example>`` or ``a@B.example`` -> ``b.example``."""
    return address.rsplit("@", 1)[-1].strip(" >").lower()


def domain_in(domain: str, domains: list[str]) -> bool:
    """``domain`` is one of ``domains`` or a subdomain of one."""
    return any(domain == d.lower() or domain.endswith("." + d.lower()) for d in domains)


def _mail(event: Event, directory: Directory) -> Routed | None:
    if not isinstance(event, MailReceivedEvent):
        return None
    domain = sender_domain(event.data.from_address)
    if domain_in(domain, directory.policy.company.mail_domains):
        return None
    return Routed(MAIL, domain, event)


def _employee(event: Event, directory: Directory) -> Routed | None:
    if isinstance(event, ReimbursementSubmittedEvent | LeaveRecordedEvent):
        return Routed(EMPLOYEE, event.data.employee_id, event)
    return None


def _cohort(event: Event, directory: Directory) -> Routed | None:
    if not isinstance(event, ReimbursementSubmittedEvent):
        return None
    record = directory.employee(event.data.employee_id)
    role = record.get("role") if record else None
    return Routed(COHORT, role, event, {"employee_id": event.data.employee_id}) if role else None


Router = Callable[[Event, "Directory"], Routed | list[Routed] | None]

# which families can want each event type (``_plan`` keeps those an engine's rules read)
_ROUTERS_BY_TYPE: dict[str, tuple[tuple[str, Router], ...]] = {
    "telephony.call.completed": ((HARASSMENT, _harassment), (CONDUCT, _conduct)),
    "telephony.sms.delivered": ((HARASSMENT, _harassment), (CONDUCT, _conduct)),
    "hr.emergency_contact.changed": ((CONTACTS, _contacts),),
    "hr.employee.upserted": ((CONTACTS, _new_colleague),),
    "mail.message.received": ((MAIL, _mail),),
    "finance.reimbursement.submitted": ((EMPLOYEE, _employee), (COHORT, _cohort)),
    "hr.leave.recorded": ((EMPLOYEE, _employee),),
}


def routed_types(family: str) -> frozenset[str]:
    """The event types routing can send to ``family``."""
    return frozenset(t for t, routers in _ROUTERS_BY_TYPE.items() for f, _ in routers if f == family)


def resolve(item: Routed, directory: Directory) -> Routed:
    """Fill in what the directory knows at detection time (the employee behind the line).

    Done when the event reaches its key's detectors rather than when it is routed, so an
    HR record that arrives just before a call (on another topic) is still seen.
    """
    if item.family != HARASSMENT or item.facts.get("employee_id"):
        return item
    employee = directory.employee_for_phone(item.facts["line"])
    return Routed(item.family, item.key, item.event, {**item.facts, "employee_id": employee})
