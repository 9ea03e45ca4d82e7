"""Cases of collectors reaching staff: blasts, repeated calls, letters, known collectors."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

from simulator.base import CompanyTraffic
from simulator.company import BANK_DOMAIN, COLLECTION_SMS, COLLECTOR_DOMAIN, COLLECTOR_NUMBER


class Harassment(CompanyTraffic):
    """Cases of collectors reaching staff: blasts, repeated calls, letters, known collectors."""

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
