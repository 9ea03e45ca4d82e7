"""Findings -> alerts: deterministic ids and suppression (one alert per rule, subject and window).

Later evidence for the same rule and subject inside the alert's suppression window
updates that alert (same ``alert_id``, higher ``revision``) instead of raising a new one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from detectors.base import Detector, Finding, State
from detectors.durations import suppression_period
from detectors.windows import ALLOWED_LATENESS
from events import Action, Alert
from events.alert import MAX_EVENT_IDS, SEVERITY_RANK, ActionAlert


def alert_id_for(rule_id: str, subject_kind: str, subject_id: str, anchor: float) -> str:
    """Same rule, subject and window anchor -> same id, in every process and every replay."""
    text = f"{rule_id}\x1f{subject_kind}\x1f{subject_id}\x1f{int(anchor)}"
    return hashlib.sha256(text.encode()).hexdigest()[:32]


HR_RECORDS_NOTE = {"hr_records_as_of": "arrival"}
"""In the details of every alert of a rule that reads the company directory: HR records count
from their arrival, so an event that arrives before an HR record it depends on (within the
allowed lateness) is judged without it, where ``backtest`` (event-time order) would use it."""


def _noted(detector: Detector[Any], details: dict[str, Any]) -> dict[str, Any]:
    """``details`` with what makes this rule's findings depend on arrival order, if anything."""
    if detector.reads_hr_records:
        details = {**details, **HR_RECORDS_NOTE}
    if detector.arrival_order:
        details = {**details, "arrival_order": detector.arrival_order}
    return details


def action_id_for(kind: str, target: str, anchor: float) -> str:
    """Same request for the same target in the same blocking period -> same id."""
    return hashlib.sha256(f"{kind}\x1f{target}\x1f{int(anchor)}".encode()).hexdigest()[:32]


def _books(stored: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """A subject's open alerts by period start (state written before periods held one alert)."""
    if not stored:
        return {}
    return {str(int(stored["start"])): stored} if "alert_id" in stored else stored


def _recent(books: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The alerts a late event can still join: periods ending within the allowed lateness of
    the newest period's start."""
    newest = max(book["start"] for book in books.values())
    return {period: book for period, book in books.items() if book["until"] >= newest - ALLOWED_LATENESS}


def _iso(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def wall_clock() -> datetime:
    """Processing time, for ``detected_at`` only (detection itself runs on event time)."""
    return datetime.now(UTC)


class AlertBook:
    """Keeps the open alert of every (rule, subject) in the keyed state."""

    def __init__(
        self, policy_version: str, timezone: ZoneInfo, clock: Callable[[], datetime] = wall_clock
    ) -> None:
        self.policy_version = policy_version
        self.timezone = timezone
        self.clock = clock

    def record(self, detector: Detector[Any], finding: Finding, state: State) -> Alert | None:
        """Open or update the alert for ``finding``; None when it adds nothing new.

        The alert's window is the finding's calendar window, or else the fixed suppression
        period (:func:`~detectors.durations.suppression_period`) of its earliest evidence:
        both are functions of event times only, so the alert an event joins, and its id, do
        not depend on the order events arrive in. Each subject keeps the open alerts of the
        periods a late event may still reach.
        """
        subject = finding.subject
        key = f"alert|{detector.rule_id}|{subject.kind}:{subject.id}"
        first = min(ts for ts, _ in finding.evidence)
        last = max(ts for ts, _ in finding.evidence)
        if finding.window is not None:
            start, until = finding.window
        else:
            start, until = suppression_period(first, detector.suppression.total_seconds(), self.timezone)
        books = _books(state.get(key))
        period = str(int(start))
        book = books.get(period)
        evidence = {uid: ts for ts, uid in book["evidence"]} if book else {}
        before = dict(evidence)
        evidence.update((uid, ts) for ts, uid in finding.evidence)
        if book:
            severity = max(book["severity"], finding.severity, key=SEVERITY_RANK.__getitem__)
            if evidence == before and severity == book["severity"]:
                return None
            record = {
                **book,
                "severity": severity,
                "first": min(book["first"], first),
                "last": max(book["last"], last),
                "employees": sorted(set(book["employees"]) | set(finding.employee_ids)),
                "revision": book["revision"] + 1,
            }
        else:
            record = {
                "alert_id": alert_id_for(detector.rule_id, subject.kind, subject.id, start),
                "start": start,
                "until": until,
                "severity": finding.severity,
                "first": first,
                "last": last,
                "employees": sorted(set(finding.employee_ids)),
                "revision": 1,
                "detected_at": self.clock().isoformat(),
            }
        ordered = sorted(evidence.items(), key=lambda item: (item[1], item[0]))[-MAX_EVENT_IDS:]
        record["evidence"] = [[ts, uid] for uid, ts in ordered]
        books[period] = record
        state[key] = _recent(books)
        return Alert(
            alert_id=record["alert_id"],
            rule_id=detector.rule_id,
            category=detector.category,
            severity=record["severity"],
            subject=subject,
            employee_ids=record["employees"],
            first_event_time=_iso(record["first"]),
            last_event_time=_iso(record["last"]),
            detected_at=datetime.fromisoformat(record["detected_at"]),
            event_ids=[uid for _, uid in record["evidence"]],
            summary=finding.summary,
            details=_noted(detector, finding.details),
            policy_version=self.policy_version,
            revision=record["revision"],
        )

    def actions(self, alert: Alert, finding: Finding, state: State) -> list[Action]:
        """The finding's IT requests, once per target and alert.

        A later alert for the same target asks again: the action book then extends the
        block in force rather than opening a second one (:mod:`detectors.action_book`).
        """
        out = []
        for request in finding.actions:
            key = f"action|{request.kind}|{request.target}"
            held = state.get(key)
            if held and held.get("alert_id") == alert.alert_id:
                continue
            anchor = finding.trigger_ts
            state[key] = {"alert_id": alert.alert_id, "until": anchor + request.duration.total_seconds()}
            requested = self.clock()
            out.append(
                Action(
                    action_id=action_id_for(request.kind, request.target, anchor),
                    kind=request.kind,
                    target=request.target,
                    alert_id=alert.alert_id,
                    requested_at=requested,
                    expires_at=requested + request.duration,
                    reason=request.reason,
                    alert=ActionAlert(rule_id=alert.rule_id, severity=alert.severity, summary=alert.summary),
                )
            )
        return out
