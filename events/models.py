"""Pydantic models of the CloudEvents envelope and of every event type in events.md.

Required fields are strict (absent or ``null`` is an error); unknown fields are
ignored. Phone numbers are normalised while validating: the default region comes
from the validation context (``{"region": "CN"}``), and so does the currency of a claim
without one (``{"currency": "CNY"}``, the company's), see :mod:`events.parse`.

Impossible values are rejected, not passed on to the detectors: ids with control
characters, amounts that are not positive, not finite or above the context's
``max_amount``, event times before 2000 or more than ``max_skew`` seconds ahead of the
context's clock ``now``, dates before 2000 or over 400 days past that bound, call durations
over a week.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import cached_property
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
    model_validator,
)

from events.phones import normalize_phone

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
"""No event, call or date of the monitored systems is older than this."""
_EARLIEST_TS = EARLIEST.timestamp()
_NO_CONTEXT: dict[str, Any] = {}
DEFAULT_MAX_AMOUNT = Decimal(10_000_000)
DEFAULT_MAX_SKEW = 900.0
"""Seconds an event time may be ahead of the clock of the process that reads it."""
MAX_DURATION_S = 7 * 86_400
_NO_CONTROL = r"^[^\x00-\x1f\x7f-\x9f]*$"

NonEmpty = Annotated[str, StringConstraints(min_length=1, max_length=512, pattern=_NO_CONTROL)]
"""An identifier: 1-512 characters, none of them a control character (NUL, newline, ESC, ...)."""
OptionalId = Annotated[str, StringConstraints(max_length=512, pattern=_NO_CONTROL)] | None


def _context(info: ValidationInfo, key: str, default: Any) -> Any:
    context = info.context or {}
    value = context.get(key)
    return default if value is None else value


def _bounded_amount(value: Decimal, info: ValidationInfo) -> Decimal:
    limit = _context(info, "max_amount", DEFAULT_MAX_AMOUNT)
    if value > limit:
        raise ValueError(f"must be at most {limit} (the policy's input.max_amount)")
    return value


def _bounded_time(value: datetime, info: ValidationInfo) -> datetime:
    # The hottest validator (every envelope, every call): one timestamp, no helper calls.
    context = info.context or _NO_CONTEXT
    ts = value.timestamp()
    if ts < _EARLIEST_TS:
        raise ValueError(f"{value.isoformat()} is before {EARLIEST.date()}")
    clock = context.get("now") or time.time
    skew = context.get("max_skew")
    if skew is None:
        skew = DEFAULT_MAX_SKEW
    if ts > clock() + skew:
        raise ValueError(
            f"{value.isoformat()} is more than {skew:.0f} s ahead of this process' clock "
            "(the policy's input.max_clock_skew)"
        )
    return value


def _bounded_date(value: date, info: ValidationInfo) -> date:
    clock = _context(info, "now", time.time)
    skew = _context(info, "max_skew", DEFAULT_MAX_SKEW)
    latest = (datetime.fromtimestamp(clock() + skew, UTC) + timedelta(days=400)).date()
    if not EARLIEST.date() <= value <= latest:
        raise ValueError(f"{value.isoformat()} is outside {EARLIEST.date()} .. {latest}")
    return value


def _without_default(schema: dict[str, Any]) -> None:
    """The default depends on the policy (``company.currency``), so the schema names none."""
    schema.pop("default", None)
    schema["description"] = "ISO 4217 code; without it, the company's currency (policy company.currency)"


Amount = Annotated[Decimal, Field(gt=0, allow_inf_nan=False), AfterValidator(_bounded_amount)]
OptionalAmount = Annotated[Decimal, Field(ge=0, allow_inf_nan=False), AfterValidator(_bounded_amount)] | None
PositiveDecimal = Annotated[Decimal, Field(gt=0, le=366, allow_inf_nan=False)]
EventTime = Annotated[AwareDatetime, AfterValidator(_bounded_time)]
EventDate = Annotated[date, AfterValidator(_bounded_date)]
Relation = Literal["spouse", "parent", "child", "sibling", "relative", "friend", "colleague", "other"]
ContactRole = Literal["debtor", "related_third_party", "third_party", "emergency_contact", "unknown"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


def _phone(value: str | None, info: ValidationInfo) -> str | None:
    if value is None:
        return None
    return normalize_phone(value, (info.context or _NO_CONTEXT).get("region", "CN"))


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
    monthly_salary: OptionalAmount = None
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
    start_date: EventDate
    end_date: EventDate | None = None
    days: PositiveDecimal


class ReimbursementSubmitted(_Model):
    """``finance.reimbursement.submitted``: one expense claim."""

    claim_id: NonEmpty
    employee_id: NonEmpty
    amount: Amount
    currency: str = Field("CNY", json_schema_extra=_without_default)
    category: str | None = None
    merchant: str | None = None
    expense_date: EventDate | None = None
    approval_limit: OptionalAmount = None
    receipt_no: OptionalId = None

    @model_validator(mode="before")
    @classmethod
    def _company_currency(cls, data: Any, info: ValidationInfo) -> Any:
        """A claim without ``currency`` is in the company's: the context's ``currency``."""
        if isinstance(data, dict) and "currency" not in data:
            return {**data, "currency": _context(info, "currency", "CNY")}
        return data


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
    start_s: Annotated[float, Field(ge=0, le=MAX_DURATION_S, allow_inf_nan=False)] = 0.0


class CallCompleted(_Model):
    """``telephony.call.completed``: one call seen by the PBX, with an optional transcript."""

    call_id: NonEmpty
    caller: str
    callee: str
    direction: Literal["inbound", "outbound", "internal"]
    started_at: EventTime | None = None
    duration_s: Annotated[int, Field(ge=0, le=MAX_DURATION_S)] = 0
    answered: bool = False
    caller_employee_id: OptionalId = None
    callee_employee_id: OptionalId = None
    collection: Collection | None = None
    transcript: list[Turn] | None = None

    _phones = field_validator("caller", "callee")(_phone)


class SmsDelivered(_Model):
    """``telephony.sms.delivered``: one SMS seen by the SMS gateway."""

    sms_id: NonEmpty
    sender: str
    recipient: str
    direction: Literal["inbound", "outbound"]
    recipient_employee_id: OptionalId = None
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
    recipient_employee_ids: list[NonEmpty] = []

    @field_validator("from_address")
    @classmethod
    def _lower_sender(cls, value: str) -> str:
        return value.strip().lower()


# --- envelopes -------------------------------------------------------------------------


class _Envelope(_Model):
    specversion: Literal["1.0"]
    id: NonEmpty
    source: NonEmpty
    time: EventTime
    subject: str | None = None
    datacontenttype: str | None = None

    @cached_property
    def uid(self) -> str:
        """The event's identity ``source/id``: a repeat of it is a duplicate (built once: the
        engine and most rules read it)."""
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

    @cached_property
    def started(self) -> float:
        """When the call started as POSIX seconds: ``data.started_at``, else the event time."""
        started_at = self.data.started_at
        return started_at.timestamp() if started_at is not None else self.timestamp


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
