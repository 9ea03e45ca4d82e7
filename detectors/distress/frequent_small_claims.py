"""``distress.frequent_small_claims``: a stream of small expense claims in one month."""

from __future__ import annotations

from decimal import Decimal

from pydantic import Field

from detectors.base import Detector, Finding, Routed, RuleConfig, State
from detectors.durations import MONTHLY_STATE, month_window
from detectors.expense._claims import in_company_currency, record_in_month
from events import Subject
from events.alert import Severity
from events.models import ReimbursementSubmittedEvent


class SmallClaimsConfig(RuleConfig):
    severity: Severity = "medium"
    max_claims: int = Field(default=10, ge=1)
    """Small claims allowed per employee and local calendar month."""
    small_amount: Decimal = Field(default=Decimal(500), gt=0)
    """A claim strictly below this (in the company's currency) is small."""


class FrequentSmallClaims(Detector[SmallClaimsConfig]):
    """Fires at more than ``max_claims`` small claims in one calendar month of ``expense_date``."""

    rule_id = "distress.frequent_small_claims"
    category = "distress"
    family = "employee"
    event_types = frozenset({"finance.reimbursement.submitted"})
    config_model = SmallClaimsConfig
    state_horizon = MONTHLY_STATE  # type: ignore[assignment]

    def observe(self, item: Routed, state: State) -> Finding | None:
        event = item.event
        if not isinstance(event, ReimbursementSubmittedEvent) or not in_company_currency(event, self.policy):
            return None
        if event.data.amount >= self.config.small_amount:
            return None
        day, claims = record_in_month(state, self.state_key(item.key), event, self.policy.timezone)
        if len(claims) <= self.config.max_claims:
            return None
        month = day.strftime("%Y-%m")
        start, end = month_window(day, self.policy.timezone)
        return Finding(
            subject=Subject(kind="employee", id=item.key),
            severity=self.config.severity,
            evidence=[(ts, uid) for ts, uid in claims.values()],
            trigger_ts=event.timestamp,
            summary=f"Many small expense claims in {month}",
            details={
                "month": month,
                "small_claims": len(claims),
                "max_claims": self.config.max_claims,
                "small_below": str(self.config.small_amount),
                "basis": "seed",
            },
            employee_ids=[item.key],
            window=(start, end),
        )
