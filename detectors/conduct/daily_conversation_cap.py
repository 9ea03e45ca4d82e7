"""``conduct.daily_conversation_cap``: too many conversations with one debtor.

cn pack: more than ``max_answered`` answered calls with the debtor in one local day, all
agents together (GB/T 45251). us pack (Reg F 12 CFR 1006.14(b)(2)): more than
``max_calls_7d`` calls to the debtor within seven consecutive days, or any call within
``conversation_cooldown`` after a conversation.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, ClassVar

from pydantic import Field

from detectors.base import Detector, Finding, Routed, RuleConfig, State
from detectors.conduct._calls import SOURCE_GBT, collection_call, started
from detectors.durations import Duration, format_duration, local_date, local_day_window
from detectors.windows import find_window, record
from events import Subject
from events.alert import Severity

SEVEN_DAYS = 7 * 86400.0


class ConversationCapConfig(RuleConfig):
    severity: Severity = "high"
    max_answered: int | None = Field(default=3, ge=0)
    """Answered calls allowed per local day (cn); null turns the daily cap off."""
    max_calls_7d: int | None = Field(default=None, ge=0)
    """Calls allowed within seven consecutive days (us); null turns it off."""
    conversation_cooldown: Duration | None = None
    """After a conversation, no call for this long (us: 7d); null turns it off."""


class DailyConversationCap(Detector[ConversationCapConfig]):
    """Counts calls with ``contact_role = debtor`` per debtor, all agents together."""

    rule_id = "conduct.daily_conversation_cap"
    category = "conduct"
    family = "conduct"
    config_model = ConversationCapConfig
    pack_defaults: ClassVar[dict[str, dict[str, Any]]] = {
        "us": {"max_answered": None, "max_calls_7d": 7, "conversation_cooldown": "7d"},
    }

    @property
    def suppression(self) -> timedelta:
        return timedelta(days=7)

    def observe(self, item: Routed, state: State) -> Finding | None:
        found = collection_call(item.event)
        if found is None or found[1].contact_role != "debtor":
            return None
        event, collection = found
        ts = started(event)
        log = record(state, self.state_key(item.key), [ts, event.uid, bool(event.data.answered)], 8 * 86400)
        subject = Subject(kind="debtor", id=collection.debtor_id)
        if self.config.max_answered is not None:
            finding = self._daily(log, ts, subject, collection.agent_id)
            if finding:
                return finding
        return self._reg_f(log, ts, event.uid, subject, event.data.answered)

    def _daily(self, log: list, ts: float, subject: Subject, agent: str) -> Finding | None:
        tz = self.policy.timezone
        start, end = local_day_window(ts, tz)
        answered = [e for e in log if e[2] and start <= e[0] < end]
        limit = self.config.max_answered or 0
        if len(answered) <= limit:
            return None
        return Finding(
            subject=subject,
            severity=self.config.severity,
            evidence=[(e[0], e[1]) for e in answered],
            trigger_ts=ts,
            summary=f"{len(answered)} conversations with debtor {subject.id} on {local_date(ts, tz)} "
            f"(more than {limit})",
            details={
                "answered_calls": len(answered),
                "max_answered": limit,
                "day": str(local_date(ts, tz)),
                "last_agent": agent,
                "source": SOURCE_GBT,
            },
            window=(start, end),
        )

    def _reg_f(self, log: list, ts: float, uid: str, subject: Subject, answered: bool) -> Finding | None:
        source = "Regulation F, 12 CFR 1006.14(b)(2)"
        limit = self.config.max_calls_7d
        if limit is not None:
            window = find_window(log, ts, SEVEN_DAYS, limit + 1, value_index=1)
            if window:
                return Finding(
                    subject=subject,
                    severity=self.config.severity,
                    evidence=[(e[0], e[1]) for e in window],
                    trigger_ts=ts,
                    summary=f"{len(window)} calls to debtor {subject.id} within 7 days (more than {limit})",
                    details={"calls_7d": len(window), "max_calls_7d": limit, "source": source},
                )
        if self.config.conversation_cooldown is None:
            return None
        gap = self.config.conversation_cooldown.total_seconds()
        conversation = next((e for e in reversed(log) if e[2] and ts - gap < e[0] < ts), None)
        later = [e for e in log if ts < e[0] < ts + gap] if answered else []
        if conversation is None and not later:
            return None
        cooldown = format_duration(self.config.conversation_cooldown)
        evidence = [(conversation[0], conversation[1])] if conversation else []
        evidence += [(ts, uid)] + [(e[0], e[1]) for e in later]
        return Finding(
            subject=subject,
            severity=self.config.severity,
            evidence=evidence,
            trigger_ts=ts,
            summary=f"Call to debtor {subject.id} within {cooldown} after a conversation",
            details={
                "conversation_cooldown": format_duration(self.config.conversation_cooldown),
                "source": source,
            },
        )
