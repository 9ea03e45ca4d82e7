"""Shared helpers of the claim rules."""

from __future__ import annotations

from datetime import date

from detectors.durations import local_date
from events.models import ReimbursementSubmittedEvent


def claim_day(event: ReimbursementSubmittedEvent, tz) -> date:
    """The claim's expense date, else the local day it was submitted."""
    return event.data.expense_date or local_date(event.timestamp, tz)


def is_cny(event: ReimbursementSubmittedEvent) -> bool:
    """Thresholds are CNY; claims in other currencies are not compared with them."""
    return event.data.currency.upper() in ("CNY", "RMB")
