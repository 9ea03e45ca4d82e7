"""Score alerts against the simulator's ``cmlabel`` ground truth (recall and precision per rule).

``cmlabel`` holds one or more comma-separated labels ``<rule_id>#<case>``. An event may
also carry ``cmevasion``, the way its text evades keyword filters (``homophone``, ``pinyin``
…); then :func:`score_by_kind` gives recall and precision per kind.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from detectors.distress.risk_score import SIGNAL_RULES


@dataclass
class RuleScore:
    """Cases found and alerts confirmed for one rule."""

    cases: set[str] = field(default_factory=set)
    found: set[str] = field(default_factory=set)
    alerts: int = 0
    true_alerts: int = 0

    @property
    def recall(self) -> float:
        return len(self.found) / len(self.cases) if self.cases else 1.0

    @property
    def precision(self) -> float:
        return self.true_alerts / self.alerts if self.alerts else 1.0


def score(events: Iterable[dict[str, Any]], alerts: Iterable[dict[str, Any]]) -> dict[str, RuleScore]:
    """Per rule: which labelled cases some alert of that rule points at, and which alerts are real."""
    labels: dict[str, set[str]] = {}
    scores: dict[str, RuleScore] = defaultdict(RuleScore)
    for event in events:
        for label in filter(None, str(event.get("cmlabel") or "").split(",")):
            labels.setdefault(f"{event['source']}/{event['id']}", set()).add(label)
            if not label.startswith("near_miss:"):
                scores[label.split("#", 1)[0]].cases.add(label)
    for alert in alerts:
        rule = alert["rule_id"]
        result = scores[rule]
        result.alerts += 1
        hits = {label for uid in alert["event_ids"] for label in labels.get(uid, ())}
        matching = {label for label in hits if label.split("#", 1)[0] == rule}
        result.found |= matching
        result.true_alerts += bool(matching) or _composite_is_real(rule, hits)
    return dict(scores)


def score_by_kind(
    events: Iterable[dict[str, Any]], alerts: Iterable[dict[str, Any]], attribute: str = "cmevasion"
) -> dict[str, RuleScore]:
    """Per value of ``attribute``: the labelled cases of events with that value found by an
    alert of their rule, and, of the alerts of the rules labelled (cases or near misses) on
    such events, those that are real."""
    kinds: dict[str, str] = {}
    rules: dict[str, set[str]] = defaultdict(set)
    labels: dict[str, set[str]] = {}
    scores: dict[str, RuleScore] = defaultdict(RuleScore)
    for event in events:
        kind = event.get(attribute)
        if not kind:
            continue
        uid = f"{event['source']}/{event['id']}"
        kinds[uid] = str(kind)
        for label in filter(None, str(event.get("cmlabel") or "").split(",")):
            labels.setdefault(uid, set()).add(label)
            rules[str(kind)].add(label.removeprefix("near_miss:").split("#", 1)[0])
            if not label.startswith("near_miss:"):
                scores[str(kind)].cases.add(label)
    for alert in alerts:
        rule = alert["rule_id"]
        for kind in {kinds[uid] for uid in alert["event_ids"] if uid in kinds}:
            if rule not in rules[kind]:
                continue  # a rule the file does not score on this kind
            result = scores[kind]
            result.alerts += 1
            hits = {
                label
                for uid in alert["event_ids"]
                if kinds.get(uid) == kind
                for label in labels.get(uid, ())
                if label.split("#", 1)[0] == rule
            }
            result.found |= hits
            result.true_alerts += bool(hits)
    return dict(scores)


def _composite_is_real(rule: str, hits: set[str]) -> bool:
    """A risk score is right when its evidence holds real signals of two different rules."""
    if rule != "distress.risk_score":
        return False
    rules = {label.split("#", 1)[0] for label in hits if not label.startswith("near_miss:")}
    return len(rules & set(SIGNAL_RULES)) >= 2
