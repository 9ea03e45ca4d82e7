"""``harassment.repeated_calls``: one external number keeps calling one employee or office line."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field, model_validator

from detectors.base import Detector, Finding, Routed, RuleConfig, State
from detectors.durations import Duration, format_duration
from detectors.windows import find_window, record
from events import Subject
from events.alert import SEVERITY_RANK, Severity


class RepeatedCallsConfig(RuleConfig):
    severity: Severity = "medium"
    min_calls: int = Field(default=5, ge=2)
    """Calls and SMS to one employee or office line within ``window`` that raise the alert."""
    high_calls: int = Field(default=10, ge=2)
    """Calls and SMS within ``window`` that make the alert high severity."""
    window: Duration = timedelta(hours=24)
    """Sliding window of the calls counted; also the alert's suppression period."""

    @model_validator(mode="after")
    def _high_above_min(self) -> RepeatedCallsConfig:
        if self.high_calls < self.min_calls:
            raise ValueError("high_calls must be at least min_calls")
        return self


class RepeatedCalls(Detector[RepeatedCallsConfig]):
    """Fires at ``min_calls`` calls/SMS to one target within ``window``; high at ``high_calls``."""

    rule_id = "harassment.repeated_calls"
    category = "harassment"
    family = "harassment"
    config_model = RepeatedCallsConfig
    reads_hr_records = True

    def observe(self, item: Routed, state: State) -> Finding | None:
        employee = item.facts.get("employee_id")
        target = f"employee:{employee}" if employee else f"line:{item.facts['line']}"
        width = self.config.window.total_seconds()
        ts = item.event.timestamp
        log = record(state, self.state_key(item.key), [ts, item.event.uid, target], width)
        to_target = [entry for entry in log if entry[2] == target]
        high = find_window(to_target, ts, width, self.config.high_calls, value_index=1)
        window = high or find_window(to_target, ts, width, self.config.min_calls, value_index=1)
        if window is None:
            return None
        severity = self.config.severity
        if high and SEVERITY_RANK["high"] > SEVERITY_RANK[severity]:
            severity = "high"
        span = format_duration(self.config.window)
        kind, _, target_id = target.partition(":")
        what = f"employee {target_id}" if kind == "employee" else f"office line {target_id}"
        return Finding(
            subject=Subject(kind="phone", id=item.key),
            severity=severity,
            evidence=[(entry[0], entry[1]) for entry in window],
            trigger_ts=ts,
            summary=f"External number {item.key} contacted {what} {len(window)} times within {span}",
            details={
                "external_number": item.key,
                "target": {"kind": kind, "id": target_id},
                "contacts": len(window),
                "min_calls": self.config.min_calls,
                "high_calls": self.config.high_calls,
                "window": span,
                "basis": "seed case: 10 calls a day to an office",
            },
            employee_ids=[target_id] if kind == "employee" else [],
        )
