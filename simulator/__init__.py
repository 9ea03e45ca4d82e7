"""Synthetic traffic of every event type, with labelled violations and near misses mixed in.

Each injected case marks its events with the CloudEvents extension attribute
``cmlabel`` (``<rule_id>#<case>``, or ``near_miss:<rule_id>#<case>``) so that a run can
be scored; the monitor itself ignores the attribute. Event time is simulated: one
simulated day is about ``DAY_VOLUME`` events, whatever the wall-clock rate. One module per
kind of traffic; :class:`Simulator` puts them together; ``simulator.output`` writes files
or produces to Kafka.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterator
from datetime import date, datetime, timedelta

from simulator.background import Background
from simulator.company import SWITCHBOARD, TZ
from simulator.conduct import Conduct
from simulator.contacts import Contacts
from simulator.distress import Distress
from simulator.harassment import Harassment


class Simulator(Background, Harassment, Contacts, Conduct, Distress):
    """A deterministic generator of one company's traffic, day by day."""

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


from simulator.output import noisy, produce, write_file  # noqa: E402 - needs Simulator

__all__ = ["Simulator", "noisy", "produce", "write_file"]
