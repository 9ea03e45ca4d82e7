"""``distress.risk_score``: several distinct distress signals of one employee within 90 days.

Fed not by events but by the alerts of other rules (signals): the employee's own distress
and expense alerts, and being the likely debtor of ``harassment.emergency_contact_targeted``.
The score is the sum of the weights of the distinct rules that alerted within ``window``;
with the default weights (1.0) and threshold (2.0) any two signals of different rules
pass, one signal alone does not.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from pydantic import Field, field_validator

from detectors.base import Detector, Finding, Routed, RuleConfig, State
from detectors.durations import Duration, format_duration
from events import Alert, Subject
from events.alert import Severity

SIGNAL_RULES = (
    "distress.frequent_small_claims",
    "distress.frequent_leave",
    "expense.split_claims",
    "expense.duplicate_claim",
    "expense.near_limit_cluster",
    "expense.cohort_outlier",
    "harassment.emergency_contact_targeted",
)


@dataclass(frozen=True, slots=True)
class Signal:
    """One alert about an employee, as the risk score sees it."""

    employee_id: str
    rule_id: str
    alert_id: str
    ts: float
    evidence: tuple[tuple[float, str], ...]

    @classmethod
    def of(cls, employee_id: str, alert: Alert, finding: Finding) -> Signal:
        """The signal of an alert about ``employee_id`` (the real id, before any pseudonym)."""
        newest = sorted(finding.evidence)[-3:]
        return cls(employee_id, alert.rule_id, alert.alert_id, finding.trigger_ts, tuple(newest))

    def as_dict(self) -> dict[str, Any]:
        return {
            "employee_id": self.employee_id,
            "rule_id": self.rule_id,
            "alert_id": self.alert_id,
            "ts": self.ts,
            "evidence": [list(e) for e in self.evidence],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Signal:
        return cls(
            data["employee_id"],
            data["rule_id"],
            data["alert_id"],
            data["ts"],
            tuple((ts, uid) for ts, uid in data["evidence"]),
        )


class RiskScoreConfig(RuleConfig):
    severity: Severity = "high"
    threshold: float = Field(default=2.0, gt=0)
    """Weighted sum of distinct distress signals that raises the alert."""
    window: Duration = timedelta(days=90)
    """How long a signal counts."""
    weights: dict[str, float] = Field(default_factory=lambda: dict.fromkeys(SIGNAL_RULES, 1.0))
    """Weight of each contributing rule."""

    @field_validator("weights")
    @classmethod
    def _known_rules(cls, weights: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(weights) - set(SIGNAL_RULES))
        if unknown:
            raise ValueError(f"no signal from {', '.join(unknown)}; allowed: {', '.join(SIGNAL_RULES)}")
        return {**dict.fromkeys(SIGNAL_RULES, 1.0), **weights}


class RiskScore(Detector[RiskScoreConfig]):
    """Scores an employee's distinct signals over ``window``; fires when the score reaches ``threshold``."""

    rule_id = "distress.risk_score"
    category = "distress"
    family = "risk"
    config_model = RiskScoreConfig
    arrival_order = (
        "signals are scored in the order they come from the employee's other keys, and "
        "expense.cohort_outlier's signals depend on arrival order themselves"
    )

    def wants(self, rule_id: str, finding: Finding) -> bool:
        """Whether a finding of ``rule_id`` is a signal for this score (it must be about an employee)."""
        return finding.subject.kind == "employee" and self.config.weights.get(rule_id, 0) > 0

    def observe(self, item: Routed, state: State) -> Finding | None:
        return None  # fed by signals, not events

    def observe_signal(self, signal: Signal, state: State) -> Finding | None:
        """Add one signal to the employee's ledger; a finding when the score passes."""
        key = self.state_key(signal.employee_id)
        ledger: dict[str, dict] = state.get(key) or {}
        ledger[signal.rule_id] = signal.as_dict()
        width = self.config.window.total_seconds()
        newest = max(s["ts"] for s in ledger.values())
        ledger = {rule: s for rule, s in ledger.items() if s["ts"] >= newest - width}
        state[key] = ledger
        active = {rule: s for rule, s in ledger.items() if abs(s["ts"] - signal.ts) <= width}
        score = sum(self.config.weights.get(rule, 0.0) for rule in active)
        if score < self.config.threshold:
            return None
        evidence = [tuple(e) for s in active.values() for e in s["evidence"]]
        return Finding(
            subject=Subject(kind="employee", id=signal.employee_id),
            severity=self.config.severity,
            evidence=evidence,  # type: ignore[arg-type]
            trigger_ts=signal.ts,
            summary=f"Financial-distress risk score {score:g} from {len(active)} signals "
            f"within {format_duration(self.config.window)}",
            details={
                "score": score,
                "threshold": self.config.threshold,
                # rule ids and weights only: an alert id would link back to the employee in clear
                "signals": [
                    {"rule_id": rule, "weight": self.config.weights[rule]} for rule in sorted(active)
                ],
            },
            employee_ids=[signal.employee_id],
        )
