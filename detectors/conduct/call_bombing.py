"""``conduct.call_bombing``: many collection calls to one number within minutes ("呼死你")."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field

from detectors.base import Detector, Finding, Routed, RuleConfig, State
from detectors.conduct._calls import collection_call, started
from detectors.durations import Duration, format_duration
from detectors.windows import find_window, record
from events import Subject
from events.alert import Severity


class CallBombingConfig(RuleConfig):
    severity: Severity = "high"
    min_calls: int = Field(default=3, ge=2)
    """Collection calls to one number within ``window`` that count as call bombing."""
    window: Duration = timedelta(minutes=10)
    """Sliding window of those calls."""
    suppress_for: Duration = timedelta(hours=24)
    """One alert per number for this long, however many bursts."""


class CallBombing(Detector[CallBombingConfig]):
    """Fires at ``min_calls`` collection calls to one number within ``window``."""

    rule_id = "conduct.call_bombing"
    category = "conduct"
    family = "conduct"
    config_model = CallBombingConfig

    @property
    def suppression(self) -> timedelta:
        return self.config.suppress_for

    def observe(self, item: Routed, state: State) -> Finding | None:
        found = collection_call(item.event)
        if found is None:
            return None
        event, collection = found
        ts, number = started(event), event.data.callee
        width = self.config.window.total_seconds()
        log = record(state, self.state_key(item.key), [ts, event.uid, number], width)
        to_number = [e for e in log if e[2] == number]
        window = find_window(to_number, ts, width, self.config.min_calls, value_index=1)
        if window is None:
            return None
        span = format_duration(self.config.window)
        return Finding(
            subject=Subject(kind="phone", id=number),
            severity=self.config.severity,
            evidence=[(e[0], e[1]) for e in window],
            trigger_ts=ts,
            summary=f"{len(window)} collection calls to {number} within {span} (呼死你)",
            details={
                "calls": len(window),
                "min_calls": self.config.min_calls,
                "window": span,
                "debtor_id": collection.debtor_id,
                "source": "CBA 信用卡催收工作指引 (2021)",
            },
        )
