"""Calls to people other than the debtor.

``conduct.third_party_disclosure``: agent turns in a call to a third party or emergency
contact speak of the debt (collection terms or an amount). ``conduct.third_party_contact_
without_cause``: third parties may be called only when the debtor is unreachable, so a
third-party call within ``reachable_within`` of an answered call with the debtor fires.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, ClassVar

from detectors.base import Detector, Finding, Routed, RuleConfig, State
from detectors.conduct._calls import SOURCE_CN_2026, THIRD_PARTIES, collection_call, started
from detectors.durations import Duration, format_duration
from detectors.text import default_matcher, matched_as
from detectors.text.matcher import find_amounts
from detectors.text.speech import agent_turns
from detectors.windows import record
from events import Subject
from events.alert import Severity

COLLECTION = frozenset({"collection"})


class DisclosureConfig(RuleConfig):
    severity: Severity = "critical"
    window: Duration = timedelta(hours=24)
    """Suppression: disclosures about one debtor in one period of this length update one alert."""


class ThirdPartyDisclosure(Detector[DisclosureConfig]):
    """Fires when an agent speaks of the debt to a ``third_party`` or ``emergency_contact``."""

    rule_id = "conduct.third_party_disclosure"
    category = "conduct"
    family = "conduct"
    config_model = DisclosureConfig

    def observe(self, item: Routed, state: State) -> Finding | None:
        found = collection_call(item.event)
        if found is None or found[1].contact_role not in THIRD_PARTIES:
            return None
        event, collection = found
        turns = agent_turns(event)
        matches = [m for turn in turns for m in default_matcher().find(turn, COLLECTION)]
        amounts = [a for turn in turns for a in find_amounts(turn)]
        if not matches and not amounts:
            return None
        ts = started(event)
        terms = sorted({m.term for m in matches})
        return Finding(
            subject=Subject(kind="debtor", id=collection.debtor_id),
            severity=self.config.severity,
            evidence=[(ts, event.uid)],
            trigger_ts=ts,
            summary=f"Agent {collection.agent_id} spoke of the debt to a {collection.contact_role} "
            f"of debtor {collection.debtor_id}",
            details={
                "agent_id": collection.agent_id,
                "case_id": collection.case_id,
                "contact_role": collection.contact_role,
                "number": event.data.callee,
                "terms": terms,
                "matched_as": matched_as(matches),
                "amounts": amounts,
                "sentences": list(dict.fromkeys(m.sentence for m in matches))[:5],
                "source": f"{SOURCE_CN_2026}; Regulation F 12 CFR 1006.6(d)",
            },
        )


class ContactWithoutCauseConfig(RuleConfig):
    severity: Severity = "high"
    reachable_within: Duration = timedelta(hours=72)
    """A third-party call fires while an answered call with the debtor lies within this."""


class ThirdPartyContactWithoutCause(Detector[ContactWithoutCauseConfig]):
    """Fires for a third-party call while the debtor was reachable (answered within ``reachable_within``)."""

    rule_id = "conduct.third_party_contact_without_cause"
    category = "conduct"
    family = "conduct"
    config_model = ContactWithoutCauseConfig
    pack_defaults: ClassVar[dict[str, dict[str, Any]]] = {"us": {"enabled": False}}

    @property
    def suppression(self) -> timedelta:
        return self.config.reachable_within

    def observe(self, item: Routed, state: State) -> Finding | None:
        found = collection_call(item.event)
        if found is None:
            return None
        event, collection = found
        role = collection.contact_role
        reached_debtor = role == "debtor" and event.data.answered
        if not reached_debtor and role not in THIRD_PARTIES:
            return None
        ts, gap = started(event), self.config.reachable_within.total_seconds()
        log = record(
            state,
            self.state_key(f"{item.key}|{collection.case_id}"),
            [ts, event.uid, "debtor" if reached_debtor else "third"],
            2 * gap,
        )
        if reached_debtor:  # a late-arriving debtor conversation makes later third-party calls unjustified
            pairs = [(ts, e) for e in log if e[2] == "third" and ts <= e[0] <= ts + gap]
        else:
            debtor = [e for e in log if e[2] == "debtor" and ts - gap <= e[0] <= ts]
            pairs = [(debtor[-1][0], [ts, event.uid, "third"])] if debtor else []
        if not pairs:
            return None
        debtor_call = next(e for e in log if e[2] == "debtor" and e[0] == pairs[0][0])
        evidence = [(debtor_call[0], debtor_call[1])] + [(e[0], e[1]) for _, e in pairs]
        window = format_duration(self.config.reachable_within)
        return Finding(
            subject=Subject(kind="debtor", id=collection.debtor_id),
            severity=self.config.severity,
            evidence=evidence,
            trigger_ts=ts,
            summary=f"Third party of debtor {collection.debtor_id} called although the debtor answered "
            f"within {window}",
            details={
                "case_id": collection.case_id,
                "reachable_within": window,
                "third_party_calls": len(pairs),
                "source": SOURCE_CN_2026,
            },
        )
