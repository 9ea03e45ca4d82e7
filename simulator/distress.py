"""Cases of financial distress: streams of small claims, frequent leave."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

from simulator.base import CompanyTraffic


class Distress(CompanyTraffic):
    """Cases of financial distress: streams of small claims, frequent leave."""

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
