"""``conduct.quiet_hours``: a collection call or SMS starts in the local quiet window."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time, timedelta
from typing import Any, ClassVar

from detectors.base import Detector, Finding, Routed, RuleConfig, State
from events import Subject
from events.alert import Severity
from events.models import CallCompletedEvent

SOURCES = {
    "cn": "GB/T 45251—2025; CBA 个人消费类贷款催收工作指引 (2026): no collection 22:00–08:00",
    "us": "Regulation F, 12 CFR 1006.6(b)(1)(i): inconvenient before 08:00 or after 21:00",
}


class QuietHoursConfig(RuleConfig):
    severity: Severity = "high"
    start: time = time(22, 0)
    """Local time the quiet window opens (inclusive)."""
    end: time = time(8, 0)
    """Local time the quiet window closes (exclusive)."""


class QuietHours(Detector[QuietHoursConfig]):
    """Fires for every collection contact inside ``[start, end)`` local time; one alert a night per debtor."""

    rule_id = "conduct.quiet_hours"
    category = "conduct"
    family = "conduct"
    config_model = QuietHoursConfig
    pack_defaults: ClassVar[Mapping[str, Mapping[str, Any]]] = {"us": {"start": "21:00", "end": "08:00"}}

    def _in_quiet_window(self, moment: time) -> bool:
        start, end = self.config.start, self.config.end
        if start <= end:
            return start <= moment < end
        return moment >= start or moment < end

    def _night(self, local: datetime) -> tuple[float, float]:
        """The quiet window (POSIX start, end) that ``local`` falls in."""
        start, end = self.config.start, self.config.end
        day = local.date()
        if start > end and local.time() < end:
            day -= timedelta(days=1)
        opens = datetime.combine(day, start, tzinfo=local.tzinfo)
        closes_day = day + timedelta(days=1) if start > end else day
        closes = datetime.combine(closes_day, end, tzinfo=local.tzinfo)
        return opens.timestamp(), closes.timestamp()

    def observe(self, item: Routed, state: State) -> Finding | None:
        event = item.event
        collection = event.data.collection  # type: ignore[union-attr]
        started = event.time
        if isinstance(event, CallCompletedEvent):
            started = event.data.started_at or event.time
            number, channel = event.data.callee, "call"
        else:
            number, channel = event.data.recipient, "sms"  # type: ignore[union-attr]
        local = started.astimezone(self.policy.timezone)
        if not self._in_quiet_window(local.time()):
            return None
        ts = started.timestamp()
        return Finding(
            subject=Subject(kind="debtor", id=collection.debtor_id),
            severity=self.config.severity,
            evidence=[(ts, event.uid)],
            trigger_ts=ts,
            summary=(
                f"Agent {collection.agent_id} made a collection {channel} at "
                f"{local:%H:%M} local, inside the quiet hours "
                f"{self.config.start:%H:%M}–{self.config.end:%H:%M}"
            ),
            details={
                "agent_id": collection.agent_id,
                "case_id": collection.case_id,
                "debtor_id": collection.debtor_id,
                "contact_role": collection.contact_role,
                "channel": channel,
                "number": number,
                "local_time": local.isoformat(),
                "quiet_start": f"{self.config.start:%H:%M}",
                "quiet_end": f"{self.config.end:%H:%M}",
                "source": SOURCES[self.policy.jurisdiction],
            },
            window=self._night(local),
        )
