"""``expense.cohort_outlier``: a monthly claim total far above the employee's role cohort.

The threshold moves with the cohort: per role and month the worker keeps every
member's running total (streaming state keyed by role), and an employee fires when their
total exceeds both the p99 and ``median_multiple`` x the median of the *other* members,
provided the cohort has at least ``min_cohort`` members.
"""

from __future__ import annotations

from statistics import median, quantiles

from pydantic import Field

from detectors.base import Detector, Finding, Routed, RuleConfig, State
from detectors.durations import month_window
from detectors.expense._claims import claim_day, is_cny
from events import Subject
from events.alert import Severity
from events.models import ReimbursementSubmittedEvent


class CohortOutlierConfig(RuleConfig):
    severity: Severity = "low"
    min_cohort: int = Field(default=20, ge=3)
    median_multiple: float = Field(default=3.0, gt=1)


class CohortOutlier(Detector[CohortOutlierConfig]):
    """Statistical: compares an employee's month with their role cohort's distribution."""

    rule_id = "expense.cohort_outlier"
    category = "expense"
    family = "cohort"
    config_model = CohortOutlierConfig
    reads_hr_records = True

    def observe(self, item: Routed, state: State) -> Finding | None:
        event = item.event
        if not isinstance(event, ReimbursementSubmittedEvent) or not is_cny(event):
            return None
        employee = item.facts["employee_id"]
        day = claim_day(event, self.policy.timezone)
        month = day.strftime("%Y-%m")
        key = self.state_key(f"{item.key}|{month}")
        totals: dict[str, list] = state.get(key) or {}
        entry = totals.get(employee, [0.0, []])
        entry[0] += float(event.data.amount)
        entry[1] = [*entry[1], [event.timestamp, event.uid]][-5:]  # keep the state small
        totals[employee] = entry
        state[key] = totals
        others = [v[0] for k, v in totals.items() if k != employee]
        if len(totals) < self.config.min_cohort or len(others) < 2:
            return None
        p99 = quantiles(others, n=100, method="inclusive")[98]
        mid = median(others)
        if not (entry[0] > p99 and entry[0] > self.config.median_multiple * mid):
            return None
        return Finding(
            subject=Subject(kind="employee", id=employee),
            severity=self.config.severity,
            evidence=[(ts, uid) for ts, uid in entry[1]],
            trigger_ts=event.timestamp,
            summary=f"Monthly claims in {month} far above the '{item.key}' cohort",
            details={
                "month": month,
                "role": item.key,
                "cohort_size": len(totals),
                "total": round(entry[0], 2),
                "cohort_p99": round(p99, 2),
                "cohort_median": round(mid, 2),
                "median_multiple": self.config.median_multiple,
            },
            employee_ids=[employee],
            window=month_window(day, self.policy.timezone),
        )
