"""``distress.frequent_leave``: many leave days in one local calendar month."""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field

from detectors.base import Detector, Finding, Routed, RuleConfig, State
from detectors.durations import MONTHLY_STATE, month_window
from events import Subject
from events.alert import Severity
from events.models import LeaveRecordedEvent


class FrequentLeaveConfig(RuleConfig):
    severity: Severity = "low"
    max_days: Decimal = Field(default=Decimal(5), ge=0)
    """Leave days allowed per employee in the calendar month of the leave's start."""


class FrequentLeave(Detector[FrequentLeaveConfig]):
    """Fires when leave days counted in the month of ``start_date`` exceed ``max_days``.

    A leave record repeated under the same ``leave_id`` replaces the earlier one.
    """

    rule_id = "distress.frequent_leave"
    category = "distress"
    family = "employee"
    event_types = frozenset({"hr.leave.recorded"})
    config_model = FrequentLeaveConfig
    state_horizon = MONTHLY_STATE  # type: ignore[assignment]

    def observe(self, item: Routed, state: State) -> Finding | None:
        event = item.event
        if not isinstance(event, LeaveRecordedEvent):
            return None
        month = event.data.start_date.strftime("%Y-%m")
        key = self.state_key(f"{item.key}|{month}")
        leave: dict[str, list] = state.get(key) or {}
        leave[event.data.leave_id] = [event.timestamp, event.uid, str(event.data.days)]
        state[key] = leave
        total = sum(Decimal(days) for _, _, days in leave.values())
        if total <= self.config.max_days:
            return None
        start, end = month_window(event.data.start_date, self.policy.timezone)
        return Finding(
            subject=Subject(kind="employee", id=item.key),
            severity=self.config.severity,
            evidence=[(ts, uid) for ts, uid, _ in leave.values()],
            trigger_ts=event.timestamp,
            summary=f"Leave above the monthly threshold in {month}",
            details={
                "month": month,
                "leave_days": str(total),
                "max_days": str(self.config.max_days),
                "records": len(leave),
                "basis": "seed",
            },
            employee_ids=[item.key],
            window=(start, end),
        )
