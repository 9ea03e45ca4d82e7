"""Cases of emergency-contact hygiene: colleagues and office lines as contacts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

from simulator.base import CompanyTraffic
from simulator.company import SWITCHBOARD


class Contacts(CompanyTraffic):
    """Cases of emergency-contact hygiene: colleagues and office lines as contacts."""

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
