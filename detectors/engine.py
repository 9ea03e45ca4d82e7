"""The detection engine: route, deduplicate, detect, suppress. Shared by ``backtest`` and the worker."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, MutableMapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from detectors.alerting import AlertBook, wall_clock
from detectors.base import Detector, Finding, Routed, State
from detectors.directory import Directory
from detectors.distress.risk_score import RiskScore, Signal
from detectors.exceptions import DetectorError
from detectors.expense._claims import claim_currency, in_company_currency
from detectors.policy import Policy
from detectors.privacy import SENSITIVE_CATEGORIES, Pseudonymizer, PseudonymRecord
from detectors.registry import DETECTORS
from detectors.routing import resolve, route, routed_types
from detectors.text import default_matcher
from detectors.windows import ALLOWED_LATENESS
from events import Action, Alert, Event, Subject
from events.models import EmergencyContactChangedEvent, EmployeeUpsertedEvent, ReimbursementSubmittedEvent

Output = Alert | Action | PseudonymRecord | Signal
"""What processing yields: alerts, IT action requests, rows of the restricted pseudonym table,
and risk-score signals (keyed by the real employee; the worker routes them on, ``run`` applies them)."""

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
        pseudonymizer: Pseudonymizer | None = None,
    ) -> None:
        self.policy = policy
        self.pseudonymizer = pseudonymizer
        default_matcher().warm()  # lexicons read (a bad line stops start-up) and loaded before any event
        self.directory = Directory({} if directory_store is None else directory_store, policy)
        self.book = AlertBook(policy.policy_version, policy.timezone, clock)
        self.detectors: dict[str, list[Detector[Any]]] = defaultdict(list)
        for rule_id, classes in DETECTORS.items():
            if policy.enabled(rule_id):
                for cls in classes:
                    self.detectors[cls.family].append(cls(policy.rules[rule_id], policy, self.directory))
        risk = self.detectors.pop("risk", [])
        self.risk: RiskScore | None = risk[0] if risk else None  # type: ignore[assignment]
        self.families = frozenset(self.detectors)
        self.wanted = frozenset(
            (family, event_type)
            for family, detectors in self.detectors.items()
            for detector in detectors
            for event_type in routed_types(family)
            if detector.event_types is None or event_type in detector.event_types
        )
        """``(family, event type)`` pairs an enabled detector reads: what routing forwards."""
        self._dedup_horizon = {
            family: max(d.suppression for d in detectors) + DEDUP_MARGIN
            for family, detectors in self.detectors.items()
        }
        self.state_horizon: dict[str, float] = {
            family: (
                max(max(d.state_horizon for d in detectors), self._dedup_horizon[family])
            ).total_seconds()
            + ALLOWED_LATENESS
            for family, detectors in self.detectors.items()
        }
        """Seconds of event time after its last event that a key's bundle is kept, per family."""
        if self.risk is not None:
            self.state_horizon["risk"] = self.risk.state_horizon.total_seconds() + ALLOWED_LATENESS

    def observe_reference(self, event: Event) -> None:
        """Update reference data (the company directory) from HR events."""
        if isinstance(event, EmployeeUpsertedEvent):
            self.directory.upsert(event.data)
        elif isinstance(event, EmergencyContactChangedEvent):
            self.directory.change_contact(event)

    def other_currency(self, event: Event) -> str | None:
        """The currency of a claim not in the company's (the amount rules skip it), else None."""
        if isinstance(event, ReimbursementSubmittedEvent) and not in_company_currency(event, self.policy):
            return claim_currency(event)
        return None

    def route(self, event: Event) -> list[Routed]:
        """The keyed copies of ``event`` that some enabled detector reads."""
        return route(event, self.directory, self.wanted)

    def process(self, item: Routed, state: State) -> list[Output]:
        """Run the detectors of ``item.family`` on it; a duplicate ``(source, id)`` is skipped.

        Everything the detectors keep for one (family, key) lives in one bundle, read once
        and written back once per event (in the worker: one RocksDB write and one changelog
        record, instead of one per detector). Returns new or updated alerts, each followed
        by the IT actions, pseudonym rows and risk signals it brings. A rule that raises
        raises :class:`DetectorError`, naming it; the bundle is then not written back.
        """
        bundle_key = f"{item.family}|{item.key}"
        bundle: dict[str, Any] = state.get(bundle_key) or {}
        if self._is_duplicate(item, bundle):
            return []
        item = resolve(item, self.directory)
        out: list[Output] = []
        for detector in self.detectors[item.family]:
            try:
                findings = detector.observe(item, bundle)
            except Exception as error:
                raise DetectorError(detector.rule_id, item.event.uid, error) from error
            if findings is None:
                continue
            for finding in findings if isinstance(findings, list) else [findings]:
                out.extend(self._publish(detector, finding, bundle))
        bundle["last"] = max(bundle.get("last", 0.0), item.event.timestamp)
        state[bundle_key] = bundle  # one write per keyed event: one changelog record in the worker
        return out

    def _publish(self, detector: Detector[Any], finding: Finding, state: State) -> list[Output]:
        """Record the finding as an alert (pseudonymised if sensitive) with its actions."""
        real, mapping = finding, []
        if self.pseudonymizer and detector.category in SENSITIVE_CATEGORIES:
            finding, mapping = self._pseudonymise(finding)
        alert = self.book.record(detector, finding, state)
        if alert is None:
            return []
        signals = (
            [Signal.of(real.subject.id, alert, real)]
            if self.risk and self.risk.wants(alert.rule_id, real)
            else []
        )
        return [alert, *mapping, *self.book.actions(alert, finding, state), *signals]

    def _pseudonymise(self, finding: Finding) -> tuple[Finding, list[PseudonymRecord]]:
        """The finding with every employee id replaced by its pseudonym and every evidence id by
        an event pseudonym (``Pseudonymizer.event_pseudonym``), and the mapping rows."""
        assert self.pseudonymizer is not None  # noqa: S101 - checked by the caller
        subject = finding.subject
        people = {*finding.employee_ids, *([subject.id] if subject.kind == "employee" else [])}
        names = {e: self.pseudonymizer.pseudonym(e) for e in people}
        if subject.kind == "employee":
            subject = Subject(kind="employee", id=names[subject.id])
        evidence = [(ts, self.pseudonymizer.event_pseudonym(uid)) for ts, uid in finding.evidence]
        hidden = replace(
            finding,
            subject=subject,
            employee_ids=sorted(names[e] for e in finding.employee_ids),
            evidence=evidence,
        )
        return hidden, [PseudonymRecord(p, e) for e, p in sorted(names.items())]

    def process_signal(self, signal: Signal, state: State) -> list[Output]:
        """Update the employee's risk score with one signal (state keyed by the employee)."""
        if self.risk is None:
            return []
        bundle_key = f"risk|{signal.employee_id}"
        bundle: dict[str, Any] = state.get(bundle_key) or {}
        try:
            finding = self.risk.observe_signal(signal, bundle)
        except Exception as error:
            raise DetectorError(self.risk.rule_id, f"the signal of alert {signal.alert_id}", error) from error
        out = self._publish(self.risk, finding, bundle) if finding else []
        bundle["last"] = max(bundle.get("last", 0.0), signal.ts)
        state[bundle_key] = bundle
        return out

    def run(
        self, event: Event, state: State, on_error: Callable[[DetectorError], None] | None = None
    ) -> list[Output]:
        """Routing, reference update, detection and risk scoring of one event in one process.

        Routed before its reference update, as the worker's input hop does: an HR record is
        routed against the directory as it was before the record. With ``on_error``, a rule
        that raises costs only its keyed copy, as in the worker (where that copy is
        dead-lettered): the error goes to ``on_error`` and the other copies go on.
        """
        items = self.route(event)
        self.observe_reference(event)
        out: list[Output] = []
        for item in items:
            out.extend(self._guarded(self.process, item, state, on_error))
        for signal in [o for o in out if isinstance(o, Signal)]:
            out.extend(self._guarded(self.process_signal, signal, state, on_error))
        return out

    @staticmethod
    def _guarded(
        step: Callable[[Any, State], list[Output]],
        item: Any,
        state: State,
        on_error: Callable[[DetectorError], None] | None,
    ) -> list[Output]:
        if on_error is None:
            return step(item, state)
        try:
            return step(item, state)
        except DetectorError as error:
            on_error(error)
            return []

    def expired(self, bundle_key: str, bundle: Any, watermark: float) -> bool:
        """Whether a key's bundle can go: its last event lies more than its family's state
        horizon behind ``watermark`` (the newest event time its partition has seen), so no
        event within the allowed lateness can need it any more."""
        horizon = self.state_horizon.get(bundle_key.split("|", 1)[0])
        last = bundle.get("last") if isinstance(bundle, dict) else None
        return horizon is not None and last is not None and last < watermark - horizon

    def expire(self, state: MutableMapping[str, Any], watermark: float) -> int:
        """Delete every expired bundle of ``state`` (a dict: ``backtest``); how many went."""
        gone = [key for key, bundle in state.items() if self.expired(key, bundle, watermark)]
        for key in gone:
            del state[key]
        return len(gone)

    def _is_duplicate(self, item: Routed, bundle: State) -> bool:
        """Whether this key already saw ``(source, id)``; remembers it otherwise.

        Ids are kept for the family's longest window plus a margin, pruned every 64 new ids.
        """
        seen: dict[str, float] = bundle.get("seen") or {}
        uid = item.event.uid
        if uid in seen:
            return True
        ts = item.event.timestamp
        seen[uid] = ts
        if len(seen) % 64 == 0:
            horizon = ts - self._dedup_horizon[item.family].total_seconds() - ALLOWED_LATENESS
            seen = {k: v for k, v in seen.items() if v >= horizon}
        bundle["seen"] = seen
        return False
