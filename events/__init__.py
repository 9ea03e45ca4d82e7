"""Event contract: CloudEvents envelopes, typed event data, alerts and actions.

This package imports nothing else of the project; every other package builds on it.
"""

from events.alert import Action, Alert, Subject
from events.models import (
    EVENT_TYPES,
    CallCompleted,
    EmergencyContactChanged,
    EmployeeUpserted,
    Event,
    LeaveRecorded,
    MailReceived,
    ReimbursementSubmitted,
    SmsDelivered,
)
from events.parse import ParseContext, Rejection, parse_event, parse_event_dict
from events.phones import normalize_phone

__all__ = [
    "EVENT_TYPES",
    "Action",
    "Alert",
    "CallCompleted",
    "EmergencyContactChanged",
    "EmployeeUpserted",
    "Event",
    "LeaveRecorded",
    "MailReceived",
    "ParseContext",
    "ReimbursementSubmitted",
    "Rejection",
    "SmsDelivered",
    "Subject",
    "normalize_phone",
    "parse_event",
    "parse_event_dict",
]
