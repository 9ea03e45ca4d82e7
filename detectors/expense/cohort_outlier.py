"""``expense.cohort_outlier``: a monthly claim total far above the employee's role cohort.

The threshold moves with the cohort: per role and month the worker keeps every
member's running total (streaming state keyed by role), and an employee fires when their
total exceeds both the p99 and ``median_multiple`` x the median of the *other* members,
provided the cohort has at least ``min_cohort`` members.
"""

from __future__ import annotations

from statistics import median, quantiles
from typing import Any

from pydantic import Field

from detectors.base import Detector, Finding, Routed, RuleConfig, State
from detectors.durations import MONTHLY_STATE, month_window
from detectors.expense._claims import claim_day, in_company_currency
from events import Subject
from events.alert import Severity
from events.models import ReimbursementSubmittedEvent


class CohortOutlierConfig(RuleConfig):
    severity: Severity = "low"
    min_cohort: int = Field(default=20, ge=3)
    """Members a role cohort needs in a month before it is compared."""
    median_multiple: float = Field(default=3.0, gt=1)
    """Times the cohort's median (besides its p99) an employee's monthly total must pass."""


class CohortOutlier(Detector[CohortOutlierConfig]):
    """Statistical: compares an employee's month with their role cohort's distribution."""

    rule_id = "expense.cohort_outlier"
    category = "expense"
    family = "cohort"
    config_model = CohortOutlierConfig
    reads_hr_records = True
    arrival_order = "each claim is compared with the cohort's totals as they stand when it arrives"

    def observe(self, item: Routed, state: State) -> Finding | None:
        event = item.event
        if not isinstance(event, ReimbursementSubmittedEvent) or not in_company_currency(event, self.policy):
            return None
        employee = item.facts["employee_id"]
        day = claim_day(event, self.policy.timezone)
        month = day.strftime("%Y-%m")
        key = self.state_key(f"{item.key}|{month}")
        totals: dict[str, dict[str, Any]] = state.get(key) or {}
        entry = totals.get(employee)
        if not isinstance(entry, dict):
            entry = {"total": 0.0, "claims": {}}
        claim = [event.timestamp, event.uid, float(event.data.amount)]
        held = entry["claims"].get(event.data.claim_id)
        if held is None or claim[:2] > held[:2]:  # a claim id counts once: its newest submission
            entry["claims"][event.data.claim_id] = claim
            entry["total"] = sum(c[2] for c in entry["claims"].values())
        totals[employee] = entry
        state[key] = totals
        total = entry["total"]
        others = [v["total"] for k, v in totals.items() if k != employee and isinstance(v, dict)]
        if len(totals) < self.config.min_cohort or len(others) < 2:
            return None
        p99 = quantiles(others, n=100, method="inclusive")[98]
        mid = median(others)
        if not (total > p99 and total > self.config.median_multiple * mid):
            return None
        newest = sorted((c[0], c[1]) for c in entry["claims"].values())[-5:]
        return Finding(
            subject=Subject(kind="employee", id=employee),
            severity=self.config.severity,
            evidence=newest,
            trigger_ts=event.timestamp,
            summary=f"Monthly claims in {month} far above the '{item.key}' cohort",
            details={
                "month": month,
                "role": item.key,
                "cohort_size": len(totals),
                "total": round(total, 2),
                "cohort_p99": round(p99, 2),
                "cohort_median": round(mid, 2),
                "median_multiple": self.config.median_multiple,
            },
            employee_ids=[employee],
            window=month_window(day, self.policy.timezone),
        )

    state_horizon = MONTHLY_STATE  # type: ignore[assignment]
