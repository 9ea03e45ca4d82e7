"""Synthetic traffic of every event type, with labelled violations and near misses mixed in.

Each injected case marks its events with the CloudEvents extension attribute
``cmlabel`` (``<rule_id>#<case>``, or ``near_miss:<rule_id>#<case>``) so that a run can
be scored; the monitor itself ignores the attribute. Event time is simulated: one
simulated day is about ``DAY_VOLUME`` events, whatever the wall-clock rate.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import random
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson

TZ = ZoneInfo("Asia/Shanghai")
COMPANY_DOMAIN = "acme.example.cn"
SWITCHBOARD = "+862160000000"
AGENCY_PBX = "+862150000000"
AGENCY_NAME = "华信资产管理有限公司"
SERVICE_SENDERS = ["95588", "95555", "1069012345678", "10690000888"]
COLLECTOR_NUMBER = "+8657188886666"
COLLECTOR_DOMAIN = "jieju-collect.example.com"
BANK_DOMAIN = "icbc.com.cn"
COLLECTION_SMS = [
    "您的网贷已逾期，请尽快还款，否则影响征信。",
    "您的欠款已逾期30天，请今日内结清本金和罚息。",
    "【贷后通知】您的账单已逾期，请尽快还款。",
]
LAWFUL_THIRD_PARTY = "您好，我是华信资产管理有限公司的工作人员，工号{agent}，麻烦您请他回个电话，谢谢。"
DISCLOSING_THIRD_PARTY = (
    "您好，我是华信资产管理有限公司的，工号{agent}，他欠我们{amount}元已经逾期，请转告他尽快还款。"
)
THREATS = [
    "你再不还钱，我们就上门去你单位，让你坐牢！",
    "我是法院的，你已经被立案了，配合调查。",
    "你这个老赖，不要脸，我们要爆通讯录，联系你同事。",
]
ROLES = [
    "sales",
    "sales",
    "sales",
    "engineering",
    "engineering",
    "finance",
    "admin",
    "support",
    "support",
    "hr",
]
CLAIM_KINDS = {  # category: (lowest, highest amount, merchants)
    "meals": (20, 200, ["美团", "星巴克", "全家便利店"]),
    "taxi": (15, 120, ["滴滴出行"]),
    "office": (30, 800, ["京东"]),
    "travel": (300, 2400, ["中国国航", "如家酒店"]),
}


HELLO = f"您好，我是{AGENCY_NAME}的催收专员，工号{{agent}}，本次通话将被录音。"
COMPLIANT_AGENT_LINES = [
    "请您尽快结清本金，避免产生更多罚息。",
    "我们可以为您申请协商还款方案。",
    "如果有困难可以告诉我，我们一起想办法。",
    "您的账单已经逾期，请安排还款。",
]
CUSTOMER_LINES = ["能不能少还一点？", "你们别再打了。", "我下个月发工资再还。", "好的，我知道了。"]


class Simulator:
    """A deterministic generator of one company's traffic, day by day."""

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

    def background(self, day: date) -> Iterator[tuple]:
        """An ordinary day: customers, colleagues, couriers, mail, claims, leave, lawful collection."""
        rng = self.rng
        customers = rng.sample(list(self.customers.items()), 700)
        for number, employee_id in customers:
            emp = self.employees[int(employee_id[1:]) - 1000]
            for _ in range(rng.choice([1, 1, 1, 2])):  # at most 4 in any 24 h: below the rule
                yield self._call(
                    self._at(day, rng.uniform(8.5, 19)),
                    number,
                    emp["office_phone"],
                    "inbound",
                    callee_employee=employee_id if rng.random() < 0.8 else None,
                )
        for _ in range(300):
            a, b = rng.sample(self.employees, 2)
            yield self._call(
                self._at(day, rng.uniform(9, 18)),
                a["office_phone"],
                b["office_phone"],
                "internal",
                answered=True,
                caller_employee_id=a["employee_id"],
                callee_employee=b["employee_id"],
            )
        for _ in range(200):
            emp = rng.choice(self.employees)
            yield self._call(
                self._at(day, rng.uniform(9, 18)),
                emp["office_phone"],
                self._mobile(),
                "outbound",
                caller_employee_id=emp["employee_id"],
            )
        for _ in range(150):
            emp = rng.choice(self.employees)
            yield self._sms(
                self._at(day, rng.uniform(9, 20)),
                self._mobile(),
                emp["mobile_phone"],
                rng.choice(["您的快递已到达前台，取件码 1404。", "会议改到下午三点。", "晚上一起吃饭吗？"]),
                recipient_employee=emp["employee_id"],
            )
        for _ in range(120):
            emp = rng.choice(self.employees)
            yield self._sms(
                self._at(day, rng.uniform(7, 22)),
                rng.choice(SERVICE_SENDERS),
                emp["mobile_phone"],
                "【银行】您尾号1234的账户消费入账。",
                recipient_employee=emp["employee_id"],
            )
        for _ in range(250):
            emp, other = rng.sample(self.employees, 2)
            yield self._event(
                "mail.message.received",
                "mailgw/acme",
                self._at(day, rng.uniform(8, 20)),
                {
                    "message_id": f"<m{next(self._seq)}@{COMPANY_DOMAIN}>",
                    "from_address": other["email"],
                    "to": [emp["email"]],
                    "cc": [],
                    "subject": "会议纪要",
                    "body_text": "请查收附件，谢谢。",
                    "recipient_employee_ids": [emp["employee_id"]],
                },
            )
        background_staff = self.employees[: -len(self._money_staff)]
        for _ in range(30):  # about five claims per employee a month, at most eight
            emp = rng.choice(background_staff)
            month_key = (emp["employee_id"], day.strftime("%Y-%m"))
            if self._claims_this_month[month_key] >= 8:
                continue
            self._claims_this_month[month_key] += 1
            category = rng.choice(["meals", "meals", "taxi", "taxi", "office", "travel"])
            low, high, merchants = CLAIM_KINDS[category]
            yield self._claim(
                self._at(day, rng.uniform(9, 18)),
                emp,
                f"{rng.uniform(low, high):.2f}",
                rng.choice(merchants),
                day,
                category=category,
            )
        for _ in range(4):  # leave: at most three days a month per employee
            emp = rng.choice(background_staff)
            start = day + timedelta(days=rng.randrange(1, 20))
            month_key = (emp["employee_id"], start.strftime("%Y-%m"))
            if self._leave_this_month[month_key] >= 3:
                continue
            self._leave_this_month[month_key] += 1
            yield self._leave(self._at(day, 9), emp, start, 1)
        for debtor in rng.sample(self.debtors, 150):
            for _ in range(rng.choice([1, 1, 2])):
                yield self._collection_call(self._at(day, rng.uniform(8.2, 21.5)), debtor)

    def _collection_call(self, when: datetime, debtor: dict, label: str | None = None) -> tuple:
        """An ordinary, lawful collection call: self-identification, then a short exchange."""
        answered = self.rng.random() < 0.5
        exchanges = self.rng.randrange(1, 4)
        agent_lines = [HELLO, *(self.rng.choice(COMPLIANT_AGENT_LINES) for _ in range(exchanges))]
        replies = [self.rng.choice(CUSTOMER_LINES) for _ in range(exchanges)]
        return self._agent_call(when, debtor, agent_lines, label, answered=answered, replies=replies)

    def injected(self, day: date) -> Iterator[tuple]:
        """Labelled violations of the implemented rules, and near misses that must stay silent."""
        rng = self.rng
        for _ in range(2):  # 爆通讯录: one number reaches several employees within hours
            label = f"harassment.contact_blast#{next(self._case)}"
            number, start = self._mobile(), rng.uniform(9, 16)
            for k, emp in enumerate(rng.sample(self.employees, rng.randint(3, 6))):
                when = self._at(day, start + 0.3 * k)
                if rng.random() < 0.5:
                    yield self._sms(
                        when,
                        number,
                        emp["mobile_phone"],
                        "请转告你的同事尽快处理欠款。",
                        label,
                        recipient_employee=emp["employee_id"],
                    )
                else:
                    yield self._call(
                        when,
                        number,
                        emp["office_phone"],
                        "inbound",
                        label,
                        callee_employee=emp["employee_id"],
                    )
        for _ in range(2):  # repeated calls to one employee or the switchboard
            label = f"harassment.repeated_calls#{next(self._case)}"
            number, start = self._mobile(), rng.uniform(9, 12)
            emp = rng.choice(self.employees)
            target = SWITCHBOARD if rng.random() < 0.3 else emp["office_phone"]
            for k in range(rng.randint(5, 12)):
                yield self._call(self._at(day, start + 0.7 * k), number, target, "inbound", label)
        for _ in range(2):  # collection contact in quiet hours
            label = f"conduct.quiet_hours#{next(self._case)}"
            hour = rng.choice([rng.uniform(22.05, 23.9), rng.uniform(0.1, 7.8)])
            yield self._collection_call(self._at(day, hour), rng.choice(self.debtors), label)
        yield from self._harassment_cases(day)
        yield from self._contact_cases(day)
        yield from self._conduct_cases(day)
        yield from self._distress_cases(day)
        # near misses: two employees reached; four calls; 21:50 and 08:05 collection calls
        label = f"near_miss:harassment.contact_blast#{next(self._case)}"
        number = self._mobile()
        for emp in rng.sample(self.employees, 2):
            yield self._call(
                self._at(day, 10),
                number,
                emp["office_phone"],
                "inbound",
                label,
                callee_employee=emp["employee_id"],
            )
        label = f"near_miss:harassment.repeated_calls#{next(self._case)}"
        number, emp = self._mobile(), rng.choice(self.employees)
        for k in range(4):
            yield self._call(self._at(day, 9 + k), number, emp["office_phone"], "inbound", label)
        for hour in (21 + 50 / 60 - 0.02, 8 + 5 / 60):
            label = f"near_miss:conduct.quiet_hours#{next(self._case)}"
            when = datetime(day.year, day.month, day.day, tzinfo=TZ) + timedelta(hours=hour)
            yield self._collection_call(when, rng.choice(self.debtors), label)

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

    def _distress_cases(self, day: date) -> Iterator[tuple]:
        """One kind of money case a day, in turn, each with its near miss."""
        rng, kind = self.rng, (day - self.start).days % 6
        emp, other = next(self._money_turn), next(self._money_turn)
        if kind == 0:  # eleven or more small claims this month; near miss: ten, and a 500.00 one
            label = f"distress.frequent_small_claims#{next(self._case)}"
            for k in range(rng.randint(11, 13)):
                yield self._claim(
                    self._at(day, 9 + k * 0.5), emp, f"{rng.uniform(20, 480):.2f}", "美团", day, label
                )
            label = f"near_miss:distress.frequent_small_claims#{next(self._case)}"
            for k in range(10):
                yield self._claim(
                    self._at(day, 9 + k * 0.5), other, f"{rng.uniform(20, 480):.2f}", "美团", day, label
                )
            yield self._claim(self._at(day, 17), other, "500.00", "美团", day, label)
        elif kind == 1:  # six leave days this month; near miss: exactly five
            label = f"distress.frequent_leave#{next(self._case)}"
            yield self._leave(self._at(day, 9), emp, day + timedelta(days=2), 3, label)
            yield self._leave(self._at(day, 10), emp, day + timedelta(days=9), 3, label)
            label = f"near_miss:distress.frequent_leave#{next(self._case)}"
            yield self._leave(self._at(day, 9), other, day + timedelta(days=2), 2, label)
            yield self._leave(self._at(day, 10), other, day + timedelta(days=9), 3, label)
        elif kind == 2:  # one hotel bill split in two; near miss: the sum stays under the limit
            label = f"expense.split_claims#{next(self._case)}"
            for part in ("2800.00", "2600.00"):
                yield self._claim(self._at(day, 19), emp, part, "如家酒店", day, label, "travel")
            label = f"near_miss:expense.split_claims#{next(self._case)}"
            for part in ("2400.00", "2500.00"):
                yield self._claim(self._at(day, 19), other, part, "如家酒店", day, label, "travel")
        elif kind == 3:  # the same receipt twice; near miss: same amount and merchant, other day
            label = f"expense.duplicate_claim#{next(self._case)}"
            receipt = f"R-dup-{next(self._seq)}"
            yield self._claim(self._at(day, 10), emp, "356.00", "京东", day, label, "office", receipt)
            yield self._claim(self._at(day, 15), emp, "356.00", "京东", day, label, "office", receipt)
            label = f"near_miss:expense.duplicate_claim#{next(self._case)}"
            yield self._claim(self._at(day, 10), other, "356.00", "京东", day, label, "office")
            yield self._claim(
                self._at(day, 15), other, "356.00", "京东", day + timedelta(days=1), label, "office"
            )
        elif kind == 4:  # three claims just under the limit; near miss: two
            # three claims near the limit usually make a cohort outlier too (statistical: not scored)
            label = f"expense.near_limit_cluster#{next(self._case)},expense.cohort_outlier#{next(self._case)}"
            for k, merchant in enumerate(["中国国航", "如家酒店", "京东"]):
                yield self._claim(
                    self._at(day, 9 + k),
                    emp,
                    f"{rng.uniform(4550, 4990):.2f}",
                    merchant,
                    day + timedelta(days=k * 3),
                    label,
                    "travel",
                )
            label = f"near_miss:expense.near_limit_cluster#{next(self._case)}"
            for k, merchant in enumerate(["中国国航", "京东"]):
                yield self._claim(
                    self._at(day, 9 + k),
                    other,
                    f"{rng.uniform(4550, 4990):.2f}",
                    merchant,
                    day + timedelta(days=k * 3),
                    label,
                    "travel",
                )
        else:  # two distress signals of different rules: the risk score
            risk = f"distress.risk_score#{next(self._case)}"
            label = f"distress.frequent_small_claims#{next(self._case)},{risk}"
            for k in range(11):
                yield self._claim(
                    self._at(day, 9 + k * 0.5),
                    emp,
                    f"{rng.uniform(20, 300):.2f}",
                    "滴滴出行",
                    day,
                    label,
                    "taxi",
                )
            label = f"distress.frequent_leave#{next(self._case)},{risk}"
            yield self._leave(self._at(day, 11), emp, day + timedelta(days=1), 6, label)
            label = f"distress.frequent_leave#{next(self._case)}"  # near miss of the score: one signal alone
            yield self._leave(self._at(day, 11), other, day + timedelta(days=1), 6, label)

    def _harassment_cases(self, day: date) -> Iterator[tuple]:
        rng = self.rng
        # colleagues listed as emergency contacts, then reached by one collector
        x, y1, y2 = self._fresh_employee(), self._fresh_employee(), self._fresh_employee()
        label = f"contacts.colleague_as_emergency_contact#{next(self._case)}"
        for y in (y1, y2):
            yield self._contact_change(self._at(day, 7.5), x, y["mobile_phone"], "friend", label)
        label = f"harassment.emergency_contact_targeted#{next(self._case)}"
        number = self._mobile()
        for k, y in enumerate((y1, y2)):
            yield self._call(
                self._at(day, 13 + k),
                number,
                y["mobile_phone"],
                "inbound",
                label,
                callee_employee=y["employee_id"],
            )
        # collection SMS to one employee (nobody's emergency contact); near miss: a single term
        emp = self._fresh_employee()
        yield self._sms(
            self._at(day, rng.uniform(9, 18)),
            self._mobile(),
            emp["mobile_phone"],
            rng.choice(COLLECTION_SMS),
            f"harassment.collection_content#{next(self._case)}",
            recipient_employee=emp["employee_id"],
        )
        yield self._sms(
            self._at(day, 12),
            self._mobile(),
            emp["mobile_phone"],
            "您的话费账单已出，详情见App。",
            f"near_miss:harassment.collection_content#{next(self._case)}",
            recipient_employee=emp["employee_id"],
        )
        # collection e-mail; every third day three senders of one agency domain
        label = f"harassment.collection_email#{next(self._case)}"
        senders = 3 if (day - self.start).days % 3 == 0 else 1
        domain = f"agency{(day - self.start).days}.example.net"
        for k in range(senders):
            yield self._mail(
                self._at(day, 10 + k),
                f"notice{k}@{domain}",
                rng.choice(self.employees),
                "催收函：关于您同事的欠款",
                "您的同事在我司网贷逾期，请转告其尽快还款，结清欠款。",
                label,
            )
        yield self._mail(
            self._at(day, 8),
            f"statement@{BANK_DOMAIN}",
            rng.choice(self.employees),
            "信用卡电子账单",
            "您本期账单应还款金额3200元，最低还款320元。",
            f"near_miss:harassment.collection_email#{next(self._case)}",
        )
        # a watch-listed collection agency
        emp = rng.choice(self.employees)
        yield self._call(
            self._at(day, 15),
            COLLECTOR_NUMBER,
            emp["office_phone"],
            "inbound",
            f"harassment.known_collector#{next(self._case)}",
            callee_employee=emp["employee_id"],
        )
        yield self._mail(
            self._at(day, 16),
            f"service@{COLLECTOR_DOMAIN}",
            rng.choice(self.employees),
            "通知",
            "请联系我们。",
            f"harassment.known_collector#{next(self._case)}",
        )

    def _contact_cases(self, day: date) -> Iterator[tuple]:
        emp = self._fresh_employee()
        yield self._contact_change(
            self._at(day, 9),
            emp,
            SWITCHBOARD,
            "other",
            f"contacts.office_number_as_contact#{next(self._case)}",
        )
        if (day - self.start).days % 5 == 0:  # changes on three days within the quarter
            emp, label = self._fresh_employee(), f"contacts.frequent_changes#{next(self._case)}"
            for offset in range(3):
                when = self._at(day + timedelta(days=offset), 11)
                yield self._contact_change(when, emp, self._mobile(), "parent", label, "updated")
        emp = self._fresh_employee()  # near miss: one change this quarter
        yield self._contact_change(
            self._at(day, 11),
            emp,
            self._mobile(),
            "sibling",
            f"near_miss:contacts.frequent_changes#{next(self._case)}",
            "updated",
        )

    def _agent_call(
        self,
        when: datetime,
        debtor: dict,
        lines: list[str],
        label: str | None,
        role: str = "debtor",
        answered: bool = True,
        number: str | None = None,
        replies: list[str] | None = None,
    ) -> tuple:
        """A collection agent's call: ``lines`` said by the agent, each after the next reply."""
        agent = self.rng.choice(self.agents)
        turns: list[tuple[str, str]] = []
        for i, text in enumerate(lines):
            if i and replies and i - 1 < len(replies):
                turns.append(("customer", replies[i - 1]))
            turns.append(("agent", text.format(agent=agent, amount=5000)))
        transcript = (
            [{"speaker": who, "text": text, "start_s": 1.0 + 6 * k} for k, (who, text) in enumerate(turns)]
            if answered
            else None
        )
        collection = {
            "agent_id": agent,
            "case_id": debtor["case_id"],
            "debtor_id": debtor["debtor_id"],
            "contact_role": role,
        }
        return self._call(
            when,
            AGENCY_PBX,
            number or debtor["phone"],
            "outbound",
            label=label,
            answered=answered,
            collection=collection,
            transcript=transcript,
        )

    def _conduct_cases(self, day: date) -> Iterator[tuple]:
        rng = self.rng
        hello = HELLO
        debtor, label = next(self._spare_debtors), f"conduct.daily_conversation_cap#{next(self._case)}"
        for k in range(4):
            yield self._agent_call(self._at(day, 9 + 2 * k), debtor, [hello, COMPLIANT_AGENT_LINES[k]], label)
        debtor, label = (
            next(self._spare_debtors),
            f"near_miss:conduct.daily_conversation_cap#{next(self._case)}",
        )
        for k in range(3):
            yield self._agent_call(self._at(day, 9 + 2 * k), debtor, [hello, COMPLIANT_AGENT_LINES[k]], label)
        debtor, label = next(self._spare_debtors), f"conduct.daily_attempt_cap#{next(self._case)}"
        for k in range(7):
            yield self._agent_call(self._at(day, 9 + 1.5 * k), debtor, [], label, answered=False)
        debtor, label = next(self._spare_debtors), f"near_miss:conduct.daily_attempt_cap#{next(self._case)}"
        for k in range(6):
            yield self._agent_call(self._at(day, 9 + 1.5 * k), debtor, [], label, answered=False)
        debtor, label = next(self._spare_debtors), f"conduct.call_bombing#{next(self._case)}"
        start = self._at(day, rng.uniform(10, 17))
        for k in range(rng.randint(3, 5)):
            yield self._agent_call(start + timedelta(minutes=2 * k), debtor, [], label, answered=False)
        debtor, label = next(self._spare_debtors), f"near_miss:conduct.call_bombing#{next(self._case)}"
        for k in range(3):
            yield self._agent_call(self._at(day, 10 + 0.25 * k), debtor, [], label, answered=False)
        debtor = next(self._spare_debtors)
        yield self._agent_call(
            self._at(day, 10),
            debtor,
            [DISCLOSING_THIRD_PARTY],
            f"conduct.third_party_disclosure#{next(self._case)}",
            role="emergency_contact",
            number=self._mobile(),
        )
        debtor = next(self._spare_debtors)
        yield self._agent_call(
            self._at(day, 10),
            debtor,
            [LAWFUL_THIRD_PARTY],
            f"near_miss:conduct.third_party_disclosure#{next(self._case)}",
            role="third_party",
            number=self._mobile(),
        )
        debtor, label = (
            next(self._spare_debtors),
            f"conduct.third_party_contact_without_cause#{next(self._case)}",
        )
        yield self._agent_call(self._at(day, 9), debtor, [hello, COMPLIANT_AGENT_LINES[0]], label)
        yield self._agent_call(
            self._at(day, 15), debtor, [LAWFUL_THIRD_PARTY], label, role="third_party", number=self._mobile()
        )
        debtor = next(self._spare_debtors)
        label = f"near_miss:conduct.third_party_contact_without_cause#{next(self._case)}"
        yield self._agent_call(self._at(day, 9), debtor, [hello], label)
        yield self._agent_call(
            self._at(day + timedelta(days=4), 10),
            debtor,
            [LAWFUL_THIRD_PARTY],
            label,
            role="third_party",
            number=self._mobile(),
        )
        debtor = next(self._spare_debtors)
        yield self._agent_call(
            self._at(day, 14),
            debtor,
            [hello, rng.choice(THREATS)],
            f"conduct.prohibited_language#{next(self._case)}",
        )
        debtor = next(self._spare_debtors)
        lawful = [hello, "如果一直不还，我们将依法向法院起诉。"]
        yield self._agent_call(
            self._at(day, 14), debtor, lawful, f"near_miss:conduct.prohibited_language#{next(self._case)}"
        )
        debtor = next(self._spare_debtors)
        yield self._agent_call(
            self._at(day, 16),
            debtor,
            ["喂，你什么时候还钱？", "今天必须处理。", "听到没有？"],
            f"conduct.missing_identification#{next(self._case)}",
        )
        debtor = next(self._spare_debtors)
        yield self._agent_call(
            self._at(day, 16),
            debtor,
            ["喂，您好。", hello, "请您尽快安排还款。"],
            f"near_miss:conduct.missing_identification#{next(self._case)}",
        )

    def events(self, days: int | None = None) -> Iterator[dict]:
        """The event stream in event-time order: the directory, then day after day."""
        for _, _, event in self.directory():
            yield event
        for offset in itertools.count() if days is None else range(days):
            day = self.start + timedelta(days=offset)
            todays = list(self.background(day)) + list(self.injected(day))
            heapq.heapify(todays)
            while todays:
                yield heapq.heappop(todays)[2]


def noisy(lines: list[bytes], rng: random.Random, rate: float) -> list[bytes]:
    """What real exports look like: some lines repeated, some moved by minutes, some broken."""
    out: list[bytes] = []
    for line in lines:
        out.append(line)
        roll = rng.random()
        if roll < rate:
            out.append(line)  # an exact duplicate (same source and id)
        elif roll < 2 * rate:
            out.append(line[: len(line) // 2])  # a truncated, malformed line
        elif roll < 2.5 * rate:
            out.append(b'{"specversion": "1.0", "id": "x", "type": "telephony.fax.sent"}')
    for _ in range(int(len(out) * rate)):  # local shuffles: out-of-order arrival
        i = rng.randrange(len(out))
        j = min(len(out) - 1, i + rng.randrange(1, 40))
        out[i], out[j] = out[j], out[i]
    return out


def write_file(
    path: Path, seed: int = 7, limit: int | None = 20_000, noise: float = 0.0, days: int | None = None
) -> int:
    """Write ``limit`` events, or ``days`` whole simulated days, as JSON lines (plus ``noise``
    duplicate, broken and out-of-order lines); return the lines written."""
    events = Simulator(seed).events(days)
    lines = [orjson.dumps(event) for event in (events if days else itertools.islice(events, limit))]
    if noise:
        lines = noisy(lines, random.Random(seed + 1), noise)
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    return len(lines)


async def produce(
    settings: Any,
    rate: float = 200.0,
    duration: float | None = None,
    seed: int = 7,
    limit: int | None = None,
    start: date | None = None,
) -> int:
    """Send simulated events to the input topics at ``rate`` events/s; return how many were sent."""
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(
        bootstrap_servers=settings.broker_servers, linger_ms=20, **settings.kafka.aiokafka_options()
    )
    await producer.start()
    sent, began = 0, time.monotonic()
    sim = Simulator(seed, start or datetime.now(UTC).astimezone(TZ).date())
    try:
        for event in sim.events():
            if limit is not None and sent >= limit:
                break
            elapsed = time.monotonic() - began
            if duration is not None and elapsed >= duration:
                break
            key = event.get("subject") or event["data"].get("employee_id") or event["id"]
            await producer.send(
                settings.topics.for_event(event["type"]), orjson.dumps(event), key=str(key).encode()
            )
            sent += 1
            if rate > 0 and sent / rate > elapsed:
                await asyncio.sleep(sent / rate - elapsed)
        await producer.flush()
    finally:
        await producer.stop()
    return sent
