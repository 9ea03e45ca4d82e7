"""``harassment.contact_blast``: one external number reaches many employees ("爆通讯录")."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field

from detectors.base import Detector, Finding, Routed, RuleConfig, State
from detectors.durations import Duration, format_duration
from detectors.windows import find_window, record
from events import Subject
from events.alert import Severity


class ContactBlastConfig(RuleConfig):
    severity: Severity = "high"
    distinct_employees: int = Field(default=3, ge=2)
    """Different employees one external number reaches within ``window``."""
    window: Duration = timedelta(hours=24)
    """Sliding window of the contacts counted; also the alert's suppression period."""


class ContactBlast(Detector[ContactBlastConfig]):
    """Fires when one external number reaches ``distinct_employees`` employees within ``window``."""

    rule_id = "harassment.contact_blast"
    category = "harassment"
    family = "harassment"
    config_model = ContactBlastConfig
    reads_hr_records = True

    def observe(self, item: Routed, state: State) -> Finding | None:
        employee = item.facts.get("employee_id")
        if not employee:
            return None
        width = self.config.window.total_seconds()
        ts = item.event.timestamp
        log = record(state, self.state_key(item.key), [ts, item.event.uid, employee], width)
        window = find_window(log, ts, width, self.config.distinct_employees)
        if window is None:
            return None
        employees = sorted({entry[2] for entry in window})
        span = format_duration(self.config.window)
        return Finding(
            subject=Subject(kind="phone", id=item.key),
            severity=self.config.severity,
            evidence=[(entry[0], entry[1]) for entry in window],
            trigger_ts=ts,
            summary=f"External number {item.key} reached {len(employees)} employees within {span}",
            details={
                "external_number": item.key,
                "distinct_employees": len(employees),
                "contacts": len(window),
                "threshold": self.config.distinct_employees,
                "window": span,
                "basis": "heuristic (爆通讯录 at a workplace)",
            },
            employee_ids=employees,
        )
