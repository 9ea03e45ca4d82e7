"""Small builders of contract-shaped events for tests (hand-written, independent of the simulator)."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
BASE = datetime(2026, 7, 1, 9, 0, tzinfo=SHANGHAI)
_ids = itertools.count(1)


def at(hours: float = 0.0, minutes: float = 0.0, base: datetime = BASE) -> datetime:
    """``base`` plus an offset."""
    return base + timedelta(hours=hours, minutes=minutes)


def envelope(
    event_type: str,
    data: dict[str, Any],
    when: datetime,
    *,
    event_id: str | None = None,
    source: str = "test/unit",
) -> dict[str, Any]:
    """A CloudEvents 1.0 structured-mode event."""
    return {
        "specversion": "1.0",
        "id": event_id or f"ev-{next(_ids):06d}",
        "source": source,
        "type": event_type,
        "time": when.isoformat(),
        "datacontenttype": "application/json",
        "data": data,
    }


def employee(
    employee_id: str,
    office: str | None = None,
    mobile: str | None = None,
    *,
    role: str = "sales",
    status: str = "active",
    when: datetime = BASE - timedelta(days=1),
    **extra: Any,
) -> dict[str, Any]:
    data = {
        "employee_id": employee_id,
        "name": f"name-{employee_id}",
        "role": role,
        "office_phone": office,
        "mobile_phone": mobile,
        "email": f"{employee_id.lower()}@acme.example.cn",
        "status": status,
        **extra,
    }
    return envelope("hr.employee.upserted", data, when, source="hris/test")


def call(
    caller: str,
    callee: str,
    when: datetime,
    *,
    direction: str = "inbound",
    answered: bool = True,
    callee_employee_id: str | None = None,
    event_id: str | None = None,
    source: str = "pbx/test",
    **extra: Any,
) -> dict[str, Any]:
    data = {
        "call_id": f"c-{next(_ids)}",
        "caller": caller,
        "callee": callee,
        "direction": direction,
        "started_at": when.isoformat(),
        "duration_s": 60 if answered else 0,
        "answered": answered,
        "callee_employee_id": callee_employee_id,
        **extra,
    }
    return envelope("telephony.call.completed", data, when, event_id=event_id, source=source)


def sms(
    sender: str,
    recipient: str,
    when: datetime,
    text: str = "你好",
    *,
    direction: str = "inbound",
    recipient_employee_id: str | None = None,
    event_id: str | None = None,
    **extra: Any,
) -> dict[str, Any]:
    data = {
        "sms_id": f"s-{next(_ids)}",
        "sender": sender,
        "recipient": recipient,
        "direction": direction,
        "recipient_employee_id": recipient_employee_id,
        "text": text,
        **extra,
    }
    return envelope("telephony.sms.delivered", data, when, event_id=event_id, source="smsgw/test")


def collection_call(
    debtor_id: str,
    when: datetime,
    *,
    agent: str = "A1",
    role: str = "debtor",
    callee: str = "+8613900000001",
    answered: bool = True,
    **extra: Any,
) -> dict[str, Any]:
    block = {"agent_id": agent, "case_id": f"K-{debtor_id}", "debtor_id": debtor_id, "contact_role": role}
    return call(
        "+862150000000",
        callee,
        when,
        direction="outbound",
        answered=answered,
        collection=block,
        source="pbx/agency",
        **extra,
    )


def office(n: int) -> str:
    return f"+86216000{n:04d}"


def mobile(n: int) -> str:
    return f"+86138{n:08d}"


def contact(
    employee_id: str,
    phone: str,
    when: datetime,
    *,
    relation: str = "friend",
    action: str = "added",
    **extra: Any,
) -> dict[str, Any]:
    data = {
        "employee_id": employee_id,
        "contact_name": "c",
        "contact_phone": phone,
        "relation": relation,
        "action": action,
        **extra,
    }
    return envelope("hr.emergency_contact.changed", data, when, source="hris/test")


def mail(
    sender: str,
    when: datetime,
    subject: str,
    body: str,
    *,
    to: str = "e1@acme.example.cn",
    employees: tuple[str, ...] = ("E1",),
) -> dict[str, Any]:
    data = {
        "message_id": f"<m{next(_ids)}@x>",
        "from_address": sender,
        "to": [to],
        "cc": [],
        "subject": subject,
        "body_text": body,
        "recipient_employee_ids": list(employees),
    }
    return envelope("mail.message.received", data, when, source="mailgw/test")


def agent_call(
    debtor_id: str,
    when: datetime,
    agent_lines: list[str],
    *,
    role: str = "debtor",
    customer_lines: list[str] = (),
    answered: bool = True,
    callee: str = "+8613900000001",
    agent: str = "A1",
    case_id: str | None = None,
) -> dict[str, Any]:
    """A collection call with a transcript: agent lines, then customer lines."""
    turns = [{"speaker": "agent", "text": t, "start_s": 2.0 * i} for i, t in enumerate(agent_lines)]
    turns += [{"speaker": "customer", "text": t, "start_s": 50.0 + i} for i, t in enumerate(customer_lines)]
    event = collection_call(
        debtor_id,
        when,
        agent=agent,
        role=role,
        callee=callee,
        answered=answered,
        transcript=turns if answered else None,
    )
    if case_id:
        event["data"]["collection"]["case_id"] = case_id
    return event


def claim(
    employee_id: str,
    amount: str,
    when: datetime,
    *,
    merchant: str = "美团",
    expense_date: str | None = None,
    limit: str | None = "5000",
    receipt: str | None = None,
    claim_id: str | None = None,
    currency: str | None = "CNY",
) -> dict[str, Any]:
    """An expense claim; ``currency=None`` leaves the field out (the company's currency)."""
    data = {
        "claim_id": claim_id or f"C{next(_ids)}",
        "employee_id": employee_id,
        "amount": amount,
        "currency": currency,
        "merchant": merchant,
        "expense_date": expense_date or when.date().isoformat(),
        "approval_limit": limit,
        "receipt_no": receipt,
    }
    if currency is None:
        del data["currency"]
    return envelope("finance.reimbursement.submitted", data, when, source="expense/test")


def leave(
    employee_id: str, start: str, days: float, when: datetime, *, leave_id: str | None = None
) -> dict[str, Any]:
    data = {
        "employee_id": employee_id,
        "leave_id": leave_id or f"L{next(_ids)}",
        "leave_type": "sick",
        "start_date": start,
        "end_date": start,
        "days": days,
    }
    return envelope("hr.leave.recorded", data, when, source="hris/test")
