"""Pydantic models of the CloudEvents envelope and of every event type in events.md.

Required fields are strict (absent or ``null`` is an error); unknown fields are
ignored. Phone numbers are normalised while validating: the default region comes
from the validation context (``{"region": "CN"}``), see :mod:`events.parse`.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import cached_property
from typing import Annotated, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)

from events.phones import normalize_phone

NonEmpty = Annotated[str, StringConstraints(min_length=1)]
PositiveDecimal = Annotated[Decimal, Field(gt=0, allow_inf_nan=False)]
Relation = Literal["spouse", "parent", "child", "sibling", "relative", "friend", "colleague", "other"]
ContactRole = Literal["debtor", "related_third_party", "third_party", "emergency_contact", "unknown"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


def _phone(value: str | None, info: ValidationInfo) -> str | None:
    if value is None:
        return None
    region = (info.context or {}).get("region", "CN")
    return normalize_phone(value, region)


# --- data payloads -------------------------------------------------------------------


class EmployeeUpserted(_Model):
    """``hr.employee.upserted``: the HR record of one employee (the company directory)."""

    employee_id: NonEmpty
    name: str | None = None
    department: str | None = None
    role: str | None = None
    office_phone: str | None = None
    mobile_phone: str | None = None
    email: str | None = None
    monthly_salary: Decimal | None = None
    status: Literal["active", "left"] = "active"

    _phones = field_validator("office_phone", "mobile_phone")(_phone)

    @field_validator("email")
    @classmethod
    def _lower_email(cls, value: str | None) -> str | None:
        return value.strip().lower() if value else value


class EmergencyContactChanged(_Model):
    """``hr.emergency_contact.changed``: one emergency contact added, updated or removed."""

    employee_id: NonEmpty
    contact_name: str | None = None
    contact_phone: str
    relation: Relation | None = None
    action: Literal["added", "updated", "removed"] = "added"

    _phones = field_validator("contact_phone")(_phone)


class LeaveRecorded(_Model):
    """``hr.leave.recorded``: a leave booking, counted in the month of ``start_date``."""

    employee_id: NonEmpty
    leave_id: NonEmpty
    leave_type: Literal["annual", "sick", "personal", "unpaid", "other"] | None = None
    start_date: date
    end_date: date | None = None
    days: PositiveDecimal


class ReimbursementSubmitted(_Model):
    """``finance.reimbursement.submitted``: one expense claim."""

    claim_id: NonEmpty
    employee_id: NonEmpty
    amount: PositiveDecimal
    currency: str = "CNY"
    category: str | None = None
    merchant: str | None = None
    expense_date: date | None = None
    approval_limit: Decimal | None = None
    receipt_no: str | None = None


class Collection(_Model):
    """The ``collection`` block of a collection agency's own agent call or SMS."""

    agent_id: NonEmpty
    case_id: NonEmpty
    debtor_id: NonEmpty
    contact_role: ContactRole = "unknown"


class Turn(_Model):
    """One speech-to-text turn of a call transcript."""

    speaker: Literal["agent", "customer", "caller", "callee"]
    text: str
    start_s: float = 0.0


class CallCompleted(_Model):
    """``telephony.call.completed``: one call seen by the PBX, with an optional transcript."""

    call_id: NonEmpty
    caller: str
    callee: str
    direction: Literal["inbound", "outbound", "internal"]
    started_at: AwareDatetime | None = None
    duration_s: Annotated[int, Field(ge=0)] = 0
    answered: bool = False
    caller_employee_id: str | None = None
    callee_employee_id: str | None = None
    collection: Collection | None = None
    transcript: list[Turn] | None = None

    _phones = field_validator("caller", "callee")(_phone)


class SmsDelivered(_Model):
    """``telephony.sms.delivered``: one SMS seen by the SMS gateway."""

    sms_id: NonEmpty
    sender: str
    recipient: str
    direction: Literal["inbound", "outbound"]
    recipient_employee_id: str | None = None
    text: str = ""
    collection: Collection | None = None

    _phones = field_validator("sender", "recipient")(_phone)


class MailReceived(_Model):
    """``mail.message.received``: one message seen by the mail gateway."""

    message_id: NonEmpty
    from_address: NonEmpty
    to: list[str] = []
    cc: list[str] = []
    subject: str = ""
    body_text: str = ""
    recipient_employee_ids: list[str] = []

    @field_validator("from_address")
    @classmethod
    def _lower_sender(cls, value: str) -> str:
        return value.strip().lower()


# --- envelopes -------------------------------------------------------------------------


class _Envelope(_Model):
    specversion: Literal["1.0"]
    id: NonEmpty
    source: NonEmpty
    time: AwareDatetime
    subject: str | None = None
    datacontenttype: str | None = None

    @property
    def uid(self) -> str:
        """The event's identity ``source/id``: a repeat of it is a duplicate."""
        return f"{self.source}/{self.id}"

    @cached_property
    def timestamp(self) -> float:
        """Event time as POSIX seconds."""
        return self.time.timestamp()


class EmployeeUpsertedEvent(_Envelope):
    type: Literal["hr.employee.upserted"]
    data: EmployeeUpserted


class EmergencyContactChangedEvent(_Envelope):
    type: Literal["hr.emergency_contact.changed"]
    data: EmergencyContactChanged


class LeaveRecordedEvent(_Envelope):
    type: Literal["hr.leave.recorded"]
    data: LeaveRecorded


class ReimbursementSubmittedEvent(_Envelope):
    type: Literal["finance.reimbursement.submitted"]
    data: ReimbursementSubmitted


class CallCompletedEvent(_Envelope):
    type: Literal["telephony.call.completed"]
    data: CallCompleted


class SmsDeliveredEvent(_Envelope):
    type: Literal["telephony.sms.delivered"]
    data: SmsDelivered


class MailReceivedEvent(_Envelope):
    type: Literal["mail.message.received"]
    data: MailReceived


EVENT_MODELS: dict[str, type[_Envelope]] = {
    "hr.employee.upserted": EmployeeUpsertedEvent,
    "hr.emergency_contact.changed": EmergencyContactChangedEvent,
    "hr.leave.recorded": LeaveRecordedEvent,
    "finance.reimbursement.submitted": ReimbursementSubmittedEvent,
    "telephony.call.completed": CallCompletedEvent,
    "telephony.sms.delivered": SmsDeliveredEvent,
    "mail.message.received": MailReceivedEvent,
}
EVENT_TYPES: tuple[str, ...] = tuple(EVENT_MODELS)

Event = (
    EmployeeUpsertedEvent
    | EmergencyContactChangedEvent
    | LeaveRecordedEvent
    | ReimbursementSubmittedEvent
    | CallCompletedEvent
    | SmsDeliveredEvent
    | MailReceivedEvent
)
"""Any valid input event; ``event.type`` tells which."""

__all__ = [
    "EVENT_MODELS",
    "EVENT_TYPES",
    "CallCompleted",
    "CallCompletedEvent",
    "Collection",
    "EmergencyContactChanged",
    "EmergencyContactChangedEvent",
    "EmployeeUpserted",
    "EmployeeUpsertedEvent",
    "Event",
    "LeaveRecorded",
    "LeaveRecordedEvent",
    "MailReceived",
    "MailReceivedEvent",
    "ReimbursementSubmitted",
    "ReimbursementSubmittedEvent",
    "SmsDelivered",
    "SmsDeliveredEvent",
    "Turn",
]
