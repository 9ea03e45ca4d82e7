"""Shared helpers of the conduct rules: collection calls, their numbers and sources."""

from __future__ import annotations

from events import Event
from events.models import CallCompletedEvent, Collection

THIRD_PARTIES = frozenset({"third_party", "emergency_contact"})
SOURCE_CN_2026 = "CBA 金融机构个人消费类贷款催收工作指引（试行） (2026)"
SOURCE_GBT = "GB/T 45251—2025 互联网金融 个人网络消费信贷 贷后催收风控指引"


def collection_call(event: Event) -> tuple[CallCompletedEvent, Collection] | None:
    """The event as a collection call, with its ``collection`` block; None for anything else."""
    if isinstance(event, CallCompletedEvent) and event.data.collection is not None:
        return event, event.data.collection
    return None


def started(event: CallCompletedEvent) -> float:
    """When the call started (``started_at``, else the envelope time)."""
    return event.started  # computed once per event, not once per rule
