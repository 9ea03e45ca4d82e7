"""Everyday traffic: calls, SMS, mail, claims and leave that break no rule."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

from simulator.base import CompanyTraffic
from simulator.company import CLAIM_KINDS, COMPANY_DOMAIN, SERVICE_SENDERS


class Background(CompanyTraffic):
    """Everyday traffic: calls, SMS, mail, claims and leave that break no rule."""

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
