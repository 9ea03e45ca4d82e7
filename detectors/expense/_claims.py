"""Shared helpers of the claim rules."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from detectors.durations import local_date
from events.models import ReimbursementSubmittedEvent

if TYPE_CHECKING:
    from detectors.policy import Policy


def claim_day(event: ReimbursementSubmittedEvent, tz) -> date:
    """The claim's expense date, else the local day it was submitted."""
    return event.data.expense_date or local_date(event.timestamp, tz)


def in_company_currency(event: ReimbursementSubmittedEvent, policy: Policy) -> bool:
    """Thresholds are in the company's currency (``company.currency``); claims in another
    are not compared with them (the worker and ``backtest`` count them)."""
    return claim_currency(event) == policy.currency


def claim_currency(event: ReimbursementSubmittedEvent) -> str:
    """The claim's ISO 4217 code (``RMB``, a common spelling, is ``CNY``)."""
    code = event.data.currency.strip().upper()
    return "CNY" if code == "RMB" else code


def record_in_month(
    state: Any, key: str, event: ReimbursementSubmittedEvent, tz
) -> tuple[date, dict[str, list[Any]]]:
    """Remember the claim under ``key`` and its calendar month (claim id -> [ts, uid]);
    return the claim's day and that month's claims (a repeated claim id counts once)."""
    day = claim_day(event, tz)
    month_key = f"{key}|{day:%Y-%m}"
    claims: dict[str, list[Any]] = state.get(month_key) or {}
    claims[event.data.claim_id] = [event.timestamp, event.uid]
    state[month_key] = claims
    return day, claims
