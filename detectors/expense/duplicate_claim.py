"""``expense.duplicate_claim``: the same expense claimed twice."""

from __future__ import annotations

from datetime import timedelta

from detectors.base import Detector, Finding, Routed, RuleConfig, State
from detectors.durations import Duration
from detectors.expense._claims import claim_day
from events import Subject
from events.alert import Severity
from events.models import ReimbursementSubmittedEvent


class DuplicateClaimConfig(RuleConfig):
    severity: Severity = "medium"
    window: Duration = timedelta(days=30)
    """Suppression: duplicates of one employee in one period of this length update one alert."""


class DuplicateClaim(Detector[DuplicateClaimConfig]):
    """Same amount, merchant and expense date under another claim id, or a repeated ``receipt_no``."""

    rule_id = "expense.duplicate_claim"
    category = "expense"
    family = "employee"
    event_types = frozenset({"finance.reimbursement.submitted"})
    config_model = DuplicateClaimConfig

    def observe(self, item: Routed, state: State) -> Finding | None:
        event = item.event
        if not isinstance(event, ReimbursementSubmittedEvent):
            return None
        data = event.data
        day = claim_day(event, self.policy.timezone)
        fingerprints = [f"same|{data.amount}|{data.currency}|{data.merchant or ''}|{day}"]
        if data.receipt_no:
            fingerprints.append(f"receipt|{data.receipt_no.strip()}")
        key = self.state_key(item.key)
        seen: dict[str, list] = state.get(key) or {}
        earlier = []
        for fingerprint in fingerprints:
            claims = seen.setdefault(fingerprint, [])
            earlier += [c for c in claims if c[2] != data.claim_id]
            if all(c[2] != data.claim_id for c in claims):
                claims.append([event.timestamp, event.uid, data.claim_id, day.toordinal()])
        horizon = day.toordinal() - 400
        state[key] = {k: v for k, v in seen.items() if any(c[3] >= horizon for c in v)}
        if not earlier:
            return None
        by_receipt = any(f.startswith("receipt|") and len(seen[f]) > 1 for f in fingerprints)
        return Finding(
            subject=Subject(kind="employee", id=item.key),
            severity=self.config.severity,
            evidence=[(c[0], c[1]) for c in earlier] + [(event.timestamp, event.uid)],
            trigger_ts=event.timestamp,
            summary=f"Claim {data.claim_id} duplicates claim {earlier[0][2]}"
            + (" (same receipt)" if by_receipt else " (same amount, merchant and date)"),
            details={
                "claim_id": data.claim_id,
                "duplicates": sorted({c[2] for c in earlier}),
                "receipt_no": data.receipt_no,
                "amount": str(data.amount),
                "merchant": data.merchant,
                "expense_date": str(day),
            },
            employee_ids=[item.key],
        )
