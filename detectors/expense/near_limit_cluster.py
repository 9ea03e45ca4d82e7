"""``expense.near_limit_cluster``: claims repeatedly just under the approval limit."""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field

from detectors.base import Detector, Finding, Routed, RuleConfig, State
from detectors.durations import MONTHLY_STATE, month_window
from detectors.expense._claims import in_company_currency, record_in_month
from events import Subject
from events.alert import Severity
from events.models import ReimbursementSubmittedEvent


class NearLimitConfig(RuleConfig):
    severity: Severity = "low"
    min_claims: int = Field(default=3, ge=1)
    """Claims near their approval limit per employee and month."""
    ratio: Decimal = Field(default=Decimal("0.9"), gt=0, lt=1)
    """A claim in ``[ratio x limit, limit)`` is near its limit."""


class NearLimitCluster(Detector[NearLimitConfig]):
    """Fires at ``min_claims`` claims in a month with amount in ``[ratio x limit, limit)``."""

    rule_id = "expense.near_limit_cluster"
    category = "expense"
    family = "employee"
    event_types = frozenset({"finance.reimbursement.submitted"})
    config_model = NearLimitConfig
    state_horizon = MONTHLY_STATE  # type: ignore[assignment]

    def observe(self, item: Routed, state: State) -> Finding | None:
        event = item.event
        if not isinstance(event, ReimbursementSubmittedEvent) or not in_company_currency(event, self.policy):
            return None
        limit, amount = event.data.approval_limit, event.data.amount
        if limit is None or not (self.config.ratio * limit <= amount < limit):
            return None
        day, claims = record_in_month(state, self.state_key(item.key), event, self.policy.timezone)
        if len(claims) < self.config.min_claims:
            return None
        month = day.strftime("%Y-%m")
        return Finding(
            subject=Subject(kind="employee", id=item.key),
            severity=self.config.severity,
            evidence=[(ts, uid) for ts, uid in claims.values()],
            trigger_ts=event.timestamp,
            summary=f"{len(claims)} claims just under the approval limit in {month}",
            details={
                "month": month,
                "claims": len(claims),
                "min_claims": self.config.min_claims,
                "ratio": str(self.config.ratio),
            },
            employee_ids=[item.key],
            window=month_window(day, self.policy.timezone),
        )
