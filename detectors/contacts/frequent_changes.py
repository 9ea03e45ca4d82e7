"""``contacts.frequent_changes``: emergency contacts changed on many days in one quarter."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field

from detectors.base import Detector, Finding, Routed, RuleConfig, State
from detectors.durations import local_date, local_quarter_window
from events import Subject
from events.alert import Severity
from events.models import EmergencyContactChangedEvent


class FrequentChangesConfig(RuleConfig):
    severity: Severity = "low"
    max_change_days: int = Field(default=1, ge=0)
    """Local days with contact changes allowed per calendar quarter (not counting the first
    contact's day)."""


class FrequentChanges(Detector[FrequentChangesConfig]):
    """Fires when changes fall on more than ``max_change_days`` local days of one calendar quarter.

    The day the employee's first contact was recorded is not counted (initial set-up).
    """

    rule_id = "contacts.frequent_changes"
    category = "contacts"
    family = "contacts"
    config_model = FrequentChangesConfig
    state_horizon = timedelta(days=400)  # type: ignore[assignment]
    """A quarter, the 200 days of changes kept, and the day of the first contact, which is
    forgotten (and the next change's day taken as set-up) after 400 idle days."""

    def observe(self, item: Routed, state: State) -> Finding | None:
        event = item.event
        if not isinstance(event, EmergencyContactChangedEvent):
            return None
        ts = event.timestamp
        tz = self.policy.timezone
        day = local_date(ts, tz).isoformat()
        key = self.state_key(item.key)
        record = state.get(key) or {"first_day": None, "changes": []}
        if record["first_day"] is None or day < record["first_day"]:
            record["first_day"] = day
        record["changes"].append([ts, event.uid, day])
        start, end = local_quarter_window(ts, tz)
        record["changes"] = [c for c in record["changes"] if c[0] >= start - 200 * 86400]
        state[key] = record
        in_quarter = [c for c in record["changes"] if start <= c[0] < end and c[2] != record["first_day"]]
        days = sorted({c[2] for c in in_quarter})
        if len(days) <= self.config.max_change_days:
            return None
        return Finding(
            subject=Subject(kind="employee", id=item.key),
            severity=self.config.severity,
            evidence=[(c[0], c[1]) for c in in_quarter],
            trigger_ts=ts,
            summary=f"Employee {item.key} changed emergency contacts on {len(days)} days this quarter",
            details={
                "change_days": days,
                "max_change_days": self.config.max_change_days,
                "first_contact_day": record["first_day"],
                "basis": "seed: once a quarter",
            },
            employee_ids=[item.key],
            window=(start, end),
        )
