"""Which key family an event belongs to, its partition key there, and the facts routing finds.

Routing runs where the event is first read (the worker's input agents, or ``backtest``)
and may consult the company directory; the detectors then only see the routed event.
"""

from __future__ import annotations

from detectors.base import Routed
from detectors.directory import Directory
from events import Event
from events.models import CallCompletedEvent, SmsDeliveredEvent

HARASSMENT = "harassment"
"""Inbound calls/SMS from an external number, keyed by that number."""
CONDUCT = "conduct"
"""A collection agency's own calls/SMS (with a ``collection`` block), keyed by debtor."""


def route(event: Event, directory: Directory, families: frozenset[str]) -> list[Routed]:
    """The routed copies of ``event``, one per key family that has enabled detectors."""
    out: list[Routed] = []
    if HARASSMENT in families and (item := _harassment(event, directory)):
        out.append(item)
    if CONDUCT in families and (item := _conduct(event)):
        out.append(item)
    return out


def _harassment(event: Event, directory: Directory) -> Routed | None:
    if isinstance(event, CallCompletedEvent):
        data = event.data
        if data.direction != "inbound" or data.collection is not None:
            return None
        external, line, employee, channel = (
            data.caller,
            data.callee,
            data.callee_employee_id,
            "call",
        )
    elif isinstance(event, SmsDeliveredEvent):
        sms = event.data
        if sms.direction != "inbound" or sms.collection is not None:
            return None
        external, line, employee, channel = (
            sms.sender,
            sms.recipient,
            sms.recipient_employee_id,
            "sms",
        )
    else:
        return None
    if not directory.is_external(external):
        return None
    return Routed(HARASSMENT, external, event, {"channel": channel, "employee_id": employee, "line": line})


def resolve(item: Routed, directory: Directory) -> Routed:
    """Fill in what the directory knows at detection time (the employee behind the line).

    Done when the event reaches its key's detectors rather than when it is routed, so an
    HR record that arrives just before a call (on another topic) is still seen.
    """
    if item.family != HARASSMENT or item.facts.get("employee_id"):
        return item
    employee = directory.employee_for_phone(item.facts["line"])
    return Routed(item.family, item.key, item.event, {**item.facts, "employee_id": employee})


def _conduct(event: Event) -> Routed | None:
    if isinstance(event, CallCompletedEvent | SmsDeliveredEvent) and event.data.collection:
        return Routed(CONDUCT, event.data.collection.debtor_id, event)
    return None
