"""The simulated company's people, directory and event envelopes."""

from __future__ import annotations

import itertools
import random
from collections import Counter
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from typing import Any

from simulator.company import COMPANY_DOMAIN, ROLES, TZ


class CompanyTraffic:
    """The company's people and lines, and the envelopes of every event type the cases share.

    Deterministic for a seed: every choice comes from ``self.rng``, in a fixed order."""

    def __init__(self, seed: int = 7, start: date | None = None, employees: int = 200) -> None:
        self.rng = random.Random(seed)
        self.start = start or date(2026, 7, 1)
        self._seq = itertools.count(1)
        self._case = itertools.count(1)
        self.employees = [self._employee(i) for i in range(employees)]
        self.customers = {self._mobile(): self.rng.choice(self.employees)["employee_id"] for _ in range(3000)}
        self.debtors = [
            {"debtor_id": f"D{5000 + i}", "case_id": f"K{5000 + i}", "phone": self._mobile()}
            for i in range(400)
        ]
        self.agents = [f"A{100 + i}" for i in range(12)]
        self._spare_debtors = (
            {"debtor_id": f"D{9000 + i}", "case_id": f"K{9000 + i}", "phone": self._mobile()}
            for i in itertools.count()
        )
        self._money_staff = self.employees[-60:]  # money cases only: no background claims or leave
        self._money_turn = itertools.cycle(self._money_staff)
        self._claims_this_month: Counter[tuple[str, str]] = Counter()
        self._leave_this_month: Counter[tuple[str, str]] = Counter()
        self._contact_pool = list(range(len(self.employees) - len(self._money_staff)))
        self.rng.shuffle(self._contact_pool)

    # -- identities ----------------------------------------------------------------------

    def _mobile(self) -> str:
        prefix = self.rng.choice(["138", "139", "150", "151", "186", "137", "135", "159"])
        return f"+86{prefix}{self.rng.randrange(10**8):08d}"

    def _employee(self, i: int) -> dict[str, Any]:
        return {
            "employee_id": f"E{1000 + i}",
            "name": f"员工{i}",
            "department": ROLES[i % len(ROLES)],
            "role": ROLES[i % len(ROLES)],
            "office_phone": f"+86216000{1000 + i:04d}",
            "mobile_phone": self._mobile(),
            "email": f"e{i}@{COMPANY_DOMAIN}",
            "monthly_salary": 8000 + 500 * (i % 20),
            "status": "active",
        }

    def _written(self, phone: str) -> str:
        """A phone in one of the common written forms."""
        national = phone[3:]
        form = self.rng.randrange(4)
        if form == 0 or not phone.startswith("+86"):
            return phone
        if form == 1 and national.startswith("1"):
            return f"+86 {national[:3]} {national[3:7]} {national[7:]}"
        if form == 2 and national.startswith("1"):
            return national
        if national.startswith("21"):
            return f"021-{national[2:]}"
        return phone

    # -- envelopes -----------------------------------------------------------------------

    def _event(
        self,
        kind: str,
        source: str,
        when: datetime,
        data: dict,
        subject: str | None = None,
        label: str | None = None,
    ) -> tuple[float, int, dict]:
        seq = next(self._seq)
        event = {
            "specversion": "1.0",
            "id": f"{kind[:3]}-{seq:07d}",
            "source": source,
            "type": kind,
            "time": when.isoformat(),
            "datacontenttype": "application/json",
            "data": data,
        }
        if subject:
            event["subject"] = subject
        if label:
            event["cmlabel"] = label
        return when.timestamp(), seq, event

    def _at(self, day: date, hour: float) -> datetime:
        base = datetime(day.year, day.month, day.day, tzinfo=TZ)
        return base + timedelta(hours=hour, seconds=self.rng.randrange(60))

    def _call(
        self,
        when: datetime,
        caller: str,
        callee: str,
        direction: str,
        label: str | None = None,
        answered: bool | None = None,
        callee_employee: str | None = None,
        **extra: Any,
    ) -> tuple:
        answered = self.rng.random() < 0.7 if answered is None else answered
        data = {
            "call_id": f"c{next(self._seq)}",
            "caller": self._written(caller),
            "callee": self._written(callee),
            "direction": direction,
            "started_at": when.isoformat(),
            "duration_s": self.rng.randrange(20, 600) if answered else 0,
            "answered": answered,
            "callee_employee_id": callee_employee,
            **extra,
        }
        source = "pbx/collections" if "collection" in extra else "pbx/acme-hq"
        return self._event("telephony.call.completed", source, when, data, label=label)

    def _sms(
        self,
        when: datetime,
        sender: str,
        recipient: str,
        text: str,
        label: str | None = None,
        recipient_employee: str | None = None,
        **extra: Any,
    ) -> tuple:
        data = {
            "sms_id": f"s{next(self._seq)}",
            "sender": self._written(sender),
            "recipient": self._written(recipient),
            "direction": "outbound" if "collection" in extra else "inbound",
            "recipient_employee_id": recipient_employee,
            "text": text,
            **extra,
        }
        return self._event("telephony.sms.delivered", "smsgw/acme", when, data, label=label)

    # -- traffic -------------------------------------------------------------------------

    def directory(self) -> Iterator[tuple]:
        """Day zero: the HR directory and every employee's emergency contacts."""
        when = datetime(self.start.year, self.start.month, self.start.day, tzinfo=TZ) - timedelta(days=1)
        for emp in self.employees:
            yield self._event("hr.employee.upserted", "hris/acme", when, emp, emp["employee_id"])
        for emp in self.employees:
            for _ in range(self.rng.choice([1, 1, 2])):
                data = {
                    "employee_id": emp["employee_id"],
                    "contact_name": "家属",
                    "contact_phone": self._written(self._mobile()),
                    "relation": self.rng.choice(["spouse", "parent", "sibling", "friend"]),
                    "action": "added",
                }
                yield self._event(
                    "hr.emergency_contact.changed",
                    "hris/acme",
                    when + timedelta(hours=1),
                    data,
                    emp["employee_id"],
                )

    def _fresh_employee(self) -> dict[str, Any]:
        """An employee no earlier contact-list case used (keeps cases apart)."""
        if not self._contact_pool:
            self._contact_pool = list(range(len(self.employees) - len(self._money_staff)))
        return self.employees[self._contact_pool.pop()]

    def _contact_change(
        self, when: datetime, emp: dict, phone: str, relation: str, label: str | None, action: str = "added"
    ) -> tuple:
        data = {
            "employee_id": emp["employee_id"],
            "contact_name": "联系人",
            "contact_phone": self._written(phone),
            "relation": relation,
            "action": action,
        }
        return self._event("hr.emergency_contact.changed", "hris/acme", when, data, emp["employee_id"], label)

    def _mail(
        self, when: datetime, sender: str, emp: dict, subject: str, body: str, label: str | None
    ) -> tuple:
        return self._event(
            "mail.message.received",
            "mailgw/acme",
            when,
            {
                "message_id": f"<m{next(self._seq)}@{sender.rsplit('@', 1)[-1]}>",
                "from_address": sender,
                "to": [emp["email"]],
                "cc": [],
                "subject": subject,
                "body_text": body,
                "recipient_employee_ids": [emp["employee_id"]],
            },
            label=label,
        )

    def _claim(
        self,
        when: datetime,
        emp: dict,
        amount: str,
        merchant: str,
        expense_date: date,
        label: str | None = None,
        category: str = "meals",
        receipt: str | None = None,
    ) -> tuple:
        return self._event(
            "finance.reimbursement.submitted",
            "expense/acme",
            when,
            {
                "claim_id": f"C{next(self._seq)}",
                "employee_id": emp["employee_id"],
                "amount": amount,
                "currency": "CNY",
                "category": category,
                "merchant": merchant,
                "expense_date": expense_date.isoformat(),
                "approval_limit": "5000",
                "receipt_no": receipt or f"R{next(self._seq)}",
            },
            emp["employee_id"],
            label,
        )

    def _leave(self, when: datetime, emp: dict, start: date, days: float, label: str | None = None) -> tuple:
        return self._event(
            "hr.leave.recorded",
            "hris/acme",
            when,
            {
                "employee_id": emp["employee_id"],
                "leave_id": f"L{next(self._seq)}",
                "leave_type": self.rng.choice(["annual", "sick", "personal"]),
                "start_date": start.isoformat(),
                "end_date": (start + timedelta(days=max(0, int(days) - 1))).isoformat(),
                "days": days,
            },
            emp["employee_id"],
            label,
        )
