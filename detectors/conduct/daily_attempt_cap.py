"""``conduct.daily_attempt_cap``: too many unanswered attempts to one number in one local day."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import Field

from detectors.base import Detector, Finding, Routed, RuleConfig, State
from detectors.conduct._calls import SOURCE_CN_2026, collection_call, started
from detectors.durations import local_date, local_day_window
from detectors.windows import record
from events import Subject
from events.alert import Severity


class AttemptCapConfig(RuleConfig):
    severity: Severity = "medium"
    max_attempts: int = Field(default=6, ge=0)
    """Unanswered collection calls to one number allowed per local day."""


class DailyAttemptCap(Detector[AttemptCapConfig]):
    """Fires at the ``max_attempts + 1``-th unanswered collection call to a number in a local day."""

    rule_id = "conduct.daily_attempt_cap"
    category = "conduct"
    family = "conduct"
    config_model = AttemptCapConfig
    pack_defaults: ClassVar[dict[str, dict[str, Any]]] = {"us": {"enabled": False}}

    def observe(self, item: Routed, state: State) -> Finding | None:
        found = collection_call(item.event)
        if found is None or found[0].data.answered:
            return None
        event, collection = found
        ts, number = started(event), event.data.callee
        log = record(state, self.state_key(item.key), [ts, event.uid, number], 2 * 86400)
        start, end = local_day_window(ts, self.policy.timezone)
        attempts = [e for e in log if e[2] == number and start <= e[0] < end]
        if len(attempts) <= self.config.max_attempts:
            return None
        day = local_date(ts, self.policy.timezone)
        return Finding(
            subject=Subject(kind="phone", id=number),
            severity=self.config.severity,
            evidence=[(e[0], e[1]) for e in attempts],
            trigger_ts=ts,
            summary=f"{len(attempts)} unanswered collection calls to {number} on {day} "
            f"(more than {self.config.max_attempts})",
            details={
                "attempts": len(attempts),
                "max_attempts": self.config.max_attempts,
                "day": str(day),
                "debtor_id": collection.debtor_id,
                "case_id": collection.case_id,
                "source": SOURCE_CN_2026,
            },
            window=(start, end),
        )
