"""What agents say: ``conduct.prohibited_language`` and ``conduct.missing_identification``."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any, ClassVar, Literal

from pydantic import Field

from detectors.base import Detector, Finding, Routed, RuleConfig, State
from detectors.conduct._calls import SOURCE_CN_2026, collection_call, started
from detectors.durations import Duration, local_day_window
from detectors.text import default_matcher, matched_as, normalize
from detectors.text.speech import agent_turns
from events import Subject
from events.alert import Severity
from events.models import CallCompletedEvent, SmsDeliveredEvent

PROHIBITED = frozenset({"threat", "impersonation", "insult", "exposure"})
GRAVE = frozenset({"threat", "impersonation"})


class ProhibitedLanguageConfig(RuleConfig):
    severity: Severity = "critical"
    """For threats and impersonation of police, prosecutors or courts."""
    lesser_severity: Severity = "high"
    """For insults and exposure or contact-list threats."""
    window: Duration = timedelta(hours=24)
    """Suppression: one alert per debtor and window, listing every offending contact."""


class ProhibitedLanguage(Detector[ProhibitedLanguageConfig]):
    """Fires when agent turns (or a collection SMS) contain a term of the prohibited lexicon."""

    rule_id = "conduct.prohibited_language"
    category = "conduct"
    family = "conduct"
    config_model = ProhibitedLanguageConfig

    def observe(self, item: Routed, state: State) -> Finding | None:
        event = item.event
        if not isinstance(event, CallCompletedEvent | SmsDeliveredEvent) or event.data.collection is None:
            return None
        collection = event.data.collection
        matches = [m for turn in agent_turns(event) for m in default_matcher().find(turn, PROHIBITED)]
        if not matches:
            return None
        categories = sorted({m.category for m in matches})
        severity = self.config.severity if GRAVE & set(categories) else self.config.lesser_severity
        ts = started(event) if isinstance(event, CallCompletedEvent) else event.timestamp
        return Finding(
            subject=Subject(kind="debtor", id=collection.debtor_id),
            severity=severity,
            evidence=[(ts, event.uid)],
            trigger_ts=ts,
            summary=f"Agent {collection.agent_id} used prohibited language ({', '.join(categories)})",
            details={
                "agent_id": collection.agent_id,
                "case_id": collection.case_id,
                "categories": categories,
                "terms": sorted({m.term for m in matches}),
                "matched_as": matched_as(matches),
                "sentences": list(dict.fromkeys(m.sentence for m in matches))[:5],
                "source": f"{SOURCE_CN_2026}; GB/T 45251—2025; Regulation F 12 CFR 1006.14, 1006.18",
            },
        )


STAFF_ID = re.compile(r"工号[a-z0-9]{2,}")
MINI_MIRANDA = ("attempttocollectadebt", "debtcollector", "thisisacommunicationfromadebtcollector")


class IdentificationConfig(RuleConfig):
    severity: Severity = "medium"
    turns: int = Field(default=3, ge=1)
    """Agent turns at the start of a call in which the agent must identify."""
    require: Literal["staff_id_or_org_name", "mini_miranda"] = "staff_id_or_org_name"
    """What the agent must say: a staff id or the organisation's name (cn), the mini-Miranda (us)."""


class MissingIdentification(Detector[IdentificationConfig]):
    """Fires for an answered call whose first agent turns hold no self-identification (自报家门)."""

    rule_id = "conduct.missing_identification"
    category = "conduct"
    family = "conduct"
    config_model = IdentificationConfig
    pack_defaults: ClassVar[dict[str, dict[str, Any]]] = {"us": {"require": "mini_miranda"}}

    def _identified(self, text: str) -> bool:
        if self.config.require == "mini_miranda":
            return any(phrase in text for phrase in MINI_MIRANDA)
        org_names = [normalize(name).text for name in self.policy.company.org_names]
        return bool(STAFF_ID.search(text)) or any(name and name in text for name in org_names)

    def observe(self, item: Routed, state: State) -> Finding | None:
        found = collection_call(item.event)
        if found is None:
            return None
        event, collection = found
        if not event.data.answered or not event.data.transcript:
            return None
        opening = agent_turns(event)[: self.config.turns]
        if not opening or self._identified(normalize("".join(opening)).text):
            return None
        ts = started(event)
        source = SOURCE_CN_2026 if self.config.require != "mini_miranda" else "Regulation F 12 CFR 1006.18(e)"
        return Finding(
            subject=Subject(kind="debtor", id=collection.debtor_id),
            severity=self.config.severity,
            evidence=[(ts, event.uid)],
            trigger_ts=ts,
            summary=f"Agent {collection.agent_id} did not identify themselves in the first "
            f"{self.config.turns} turns",
            details={
                "agent_id": collection.agent_id,
                "case_id": collection.case_id,
                "required": self.config.require,
                "opening": opening,
                "source": source,
            },
            window=local_day_window(ts, self.policy.timezone),
        )
