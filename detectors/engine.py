"""The detection engine: route, deduplicate, detect, suppress. Shared by ``backtest`` and the worker."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, MutableMapping
from datetime import datetime, timedelta
from typing import Any

from detectors.alerting import AlertBook, wall_clock
from detectors.base import Detector, Routed, State
from detectors.directory import Directory
from detectors.policy import Policy
from detectors.registry import DETECTORS
from detectors.routing import resolve, route
from detectors.windows import ALLOWED_LATENESS
from events import Action, Alert, Event
from events.models import EmergencyContactChangedEvent, EmployeeUpsertedEvent

DEDUP_MARGIN = timedelta(days=1)
"""How much longer than a family's longest window an event id is remembered."""


class Engine:
    """All enabled detectors of one policy.

    ``observe_reference`` keeps reference data (the directory) current; ``route`` turns an
    event into keyed copies; ``process`` runs one keyed copy against its key's state.
    ``run`` does all three, for single-process use such as ``backtest``.
    """

    def __init__(
        self,
        policy: Policy,
        directory_store: MutableMapping[str, Any] | None = None,
        clock: Callable[[], datetime] = wall_clock,
    ) -> None:
        self.policy = policy
        self.directory = Directory({} if directory_store is None else directory_store, policy)
        self.book = AlertBook(policy.policy_version, clock)
        self.detectors: dict[str, list[Detector[Any]]] = defaultdict(list)
        for rule_id, classes in DETECTORS.items():
            if policy.enabled(rule_id):
                for cls in classes:
                    self.detectors[cls.family].append(cls(policy.rules[rule_id], policy, self.directory))
        self.families = frozenset(self.detectors)
        self._dedup_horizon = {
            family: max(d.suppression for d in detectors) + DEDUP_MARGIN
            for family, detectors in self.detectors.items()
        }

    def observe_reference(self, event: Event) -> None:
        """Update reference data (the company directory) from HR events."""
        if isinstance(event, EmployeeUpsertedEvent):
            self.directory.upsert(event.data)
        elif isinstance(event, EmergencyContactChangedEvent):
            self.directory.change_contact(event.data)

    def route(self, event: Event) -> list[Routed]:
        """The keyed copies of ``event`` that some enabled detector wants."""
        return route(event, self.directory, self.families)

    def process(self, item: Routed, state: State) -> list[Alert | Action]:
        """Run the detectors of ``item.family`` on it; a duplicate ``(source, id)`` is skipped.

        Returns new or updated alerts, each followed by the IT actions it requests.
        """
        if self._is_duplicate(item, state):
            return []
        item = resolve(item, self.directory)
        out: list[Alert | Action] = []
        for detector in self.detectors[item.family]:
            findings = detector.observe(item, state)
            if findings is None:
                continue
            for finding in findings if isinstance(findings, list) else [findings]:
                alert = self.book.record(detector, finding, state)
                if alert is not None:
                    out.append(alert)
                    out.extend(self.book.actions(alert, finding, state))
        return out

    def run(self, event: Event, state: State) -> list[Alert | Action]:
        """Reference update, routing and detection of one event in one process."""
        self.observe_reference(event)
        return [alert for item in self.route(event) for alert in self.process(item, state)]

    def _is_duplicate(self, item: Routed, state: State) -> bool:
        key = f"seen|{item.family}|{item.key}"
        seen: dict[str, float] = state.get(key) or {}
        uid = item.event.uid
        if uid in seen:
            return True
        ts = item.event.timestamp
        seen[uid] = ts
        horizon = max(seen.values()) - self._dedup_horizon[item.family].total_seconds()
        if len(seen) > 64 or horizon - ALLOWED_LATENESS > min(seen.values()):
            seen = {k: v for k, v in seen.items() if v >= horizon}
        state[key] = seen
        return False
