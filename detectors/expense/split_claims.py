"""``expense.split_claims``: one purchase split into claims below the approval limit."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from pydantic import Field

from detectors.base import Detector, Finding, Routed, RuleConfig, State
from detectors.durations import Duration
from detectors.expense._claims import claim_day, in_company_currency
from events import Subject
from events.alert import Severity
from events.models import ReimbursementSubmittedEvent


class SplitClaimsConfig(RuleConfig):
    severity: Severity = "medium"
    days: int = Field(default=1, ge=0)
    """Claims at one merchant within this many days, each below its limit, whose sum passes it."""
    window: Duration = timedelta(days=7)
    """Suppression: one alert per employee per period of this length."""


class SplitClaims(Detector[SplitClaimsConfig]):
    """Fires when 2+ claims at one merchant within ``days``, each below its limit, sum above it."""

    rule_id = "expense.split_claims"
    category = "expense"
    family = "employee"
    event_types = frozenset({"finance.reimbursement.submitted"})
    config_model = SplitClaimsConfig

    def observe(self, item: Routed, state: State) -> Finding | None:
        event = item.event
        if not isinstance(event, ReimbursementSubmittedEvent) or not in_company_currency(event, self.policy):
            return None
        data = event.data
        limit = data.approval_limit
        if limit is None or not data.merchant or data.amount >= limit:
            return None
        day = claim_day(event, self.policy.timezone)
        key = self.state_key(item.key)
        claims: dict[str, list] = state.get(key) or {}
        claims[data.claim_id] = [
            event.timestamp,
            event.uid,
            data.merchant,
            str(data.amount),
            str(limit),
            day.toordinal(),
        ]
        horizon = day.toordinal() - 40
        claims = {k: v for k, v in claims.items() if v[5] >= horizon}
        state[key] = claims
        group = [
            v
            for v in claims.values()
            if v[2] == data.merchant
            and abs(v[5] - day.toordinal()) <= self.config.days
            and Decimal(v[4]) == limit
        ]
        total = sum(Decimal(v[3]) for v in group)
        if len(group) < 2 or total <= limit:
            return None
        return Finding(
            subject=Subject(kind="employee", id=item.key),
            severity=self.config.severity,
            evidence=[(v[0], v[1]) for v in group],
            trigger_ts=event.timestamp,
            summary=f"{len(group)} claims at {data.merchant} within {self.config.days} day(s) sum to "
            f"{total} above the approval limit {limit}",
            details={
                "merchant": data.merchant,
                "claims": len(group),
                "total": str(total),
                "approval_limit": str(limit),
                "days": self.config.days,
            },
            employee_ids=[item.key],
        )
