"""``backtest``: the worker's detectors over a JSON-lines file, in event-time order."""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import orjson

from detectors import Engine, Policy
from detectors.action_book import ActionBook
from detectors.engine import Output
from detectors.exceptions import DetectorError
from detectors.privacy import Pseudonymizer, PseudonymRecord
from events import Action, Alert, Event, ParseContext, Rejection, parse_event

EXPIRE_EVERY = 5000
"""Events between two sweeps of idle keys (the worker sweeps on a timer)."""


@dataclass
class BacktestReport:
    """What a backtest read, rejected and raised."""

    lines: int = 0
    events: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    alerts: dict[str, Alert] = field(default_factory=dict)
    actions: dict[str, Action] = field(default_factory=dict)
    pseudonyms: dict[str, str] = field(default_factory=dict)
    """Rows of the restricted pseudonym table (pseudonym -> employee) the distress alerts brought."""
    rejections: list[tuple[int, Rejection]] = field(default_factory=list)
    detector_errors: list[tuple[int, DetectorError]] = field(default_factory=list)
    other_currency: Counter[str] = field(default_factory=Counter)
    live_keys: int = 0
    """Keys (family and key) whose detector state is still kept at the end."""
    expired_keys: int = 0
    """Keys whose state was deleted on the way, idle past their family's horizon."""
    """Claims per currency other than the company's: valid, but not compared with amount rules."""
    """(line, error) of every keyed copy a rule failed on: the worker dead-letters those."""

    def alerts_per_rule(self) -> Counter[str]:
        """Distinct alerts (final state) per rule id."""
        return Counter(alert.rule_id for alert in self.alerts.values())


def read_events(
    lines: Iterable[bytes], context: ParseContext, report: BacktestReport
) -> list[tuple[float, int, Event]]:
    """Parse every non-blank line; rejections are counted in ``report``, not raised."""
    out = []
    for number, line in enumerate(lines, start=1):
        report.lines += 1
        if not line.strip():
            continue
        parsed = parse_event(line, context)
        if isinstance(parsed, Rejection):
            report.rejected[parsed.reason] += 1
            report.rejections.append((number, parsed))
            continue
        out.append((parsed.timestamp, number, parsed))
    return out


@contextmanager
def relaxed_gc(threshold: int = 100_000) -> Iterator[None]:
    """Run the cyclic garbage collector rarely while holding many live, acyclic objects.

    Events, alerts and detector state form no reference cycles: reference counting frees
    them. With the default threshold (700 allocations) the collector re-scanned every live
    event again and again and took ~45 % of a backtest. Cycles are still collected, rarely.
    """
    previous = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(threshold, 50, 100)
    try:
        yield
    finally:
        gc.set_threshold(*previous)
        gc.unfreeze()


def run_backtest(
    path: Path,
    policy: Policy,
    on_progress: Callable[[int, int], None] | None = None,
    pseudonymizer: Pseudonymizer | None = None,
    jobs: int = 1,
) -> BacktestReport:
    """Run the detectors over ``path``; raise OSError when it cannot be read.

    With ``jobs`` above 1 the keyed detectors run in that many processes
    (:mod:`streams.backtest_jobs`); the report is the same apart from ``detected_at``.
    """
    report = BacktestReport()
    with relaxed_gc():
        with path.open("rb") as handle:
            events = read_events(handle, policy.parse_context(), report)
        events.sort(key=lambda item: (item[0], item[1]))
        report.events = len(events)
        if jobs > 1:
            from streams.backtest_jobs import run_jobs

            run_jobs(events, policy, report, on_progress, pseudonymizer, jobs)
        else:
            _run(events, policy, report, on_progress, pseudonymizer)
        if on_progress:
            on_progress(len(events), len(events))
    return report


def _run(
    events: list[tuple[float, int, Event]],
    policy: Policy,
    report: BacktestReport,
    on_progress: Callable[[int, int], None] | None,
    pseudonymizer: Pseudonymizer | None,
) -> None:
    engine = Engine(policy, pseudonymizer=pseudonymizer)
    book = ActionBook(policy.actions.require_approval)  # the worker's action keeper runs this book
    state: dict = {}
    for index, (_, line, event) in enumerate(events, start=1):
        if currency := engine.other_currency(event):
            report.other_currency[currency] += 1
        outputs = engine.run(
            event, state, lambda error, line=line: report.detector_errors.append((line, error))
        )
        take(report, book, outputs, event.timestamp)
        if index % EXPIRE_EVERY == 0:
            report.expired_keys += engine.expire(state, watermark=event.timestamp)
        if on_progress and index % 1000 == 0:
            on_progress(index, len(events))
    finish(report, book, events)
    report.live_keys = len(state)


def take(report: BacktestReport, book: ActionBook, outputs: list[Output], timestamp: float) -> None:
    """Record one event's outputs: alerts and pseudonym rows as they are, action requests
    through the action book (the worker's action keeper), at the event's time."""
    for output in outputs:
        if isinstance(output, Alert):
            report.alerts[output.alert_id] = output
        elif isinstance(output, Action):
            for action in book.request(*at_event_time(output, timestamp)):
                report.actions[action.action_id] = action
        elif isinstance(output, PseudonymRecord):
            report.pseudonyms[output.pseudonym] = output.employee_id


def finish(report: BacktestReport, book: ActionBook, events: list[tuple[float, int, Event]]) -> None:
    """Expire the actions whose time has come by the last event."""
    if events:
        for action in book.expire(datetime.fromtimestamp(events[-1][0], UTC)):
            report.actions[action.action_id] = action


def at_event_time(request: Action, timestamp: float) -> tuple[Action, datetime]:
    """A rule's request as of the event that made it (the worker uses its clock), and that time:
    a file spanning months then sees blocks expire and new ones open as they would have."""
    when = datetime.fromtimestamp(timestamp, UTC)
    lasts = request.expires_at - request.requested_at if request.expires_at else None
    update = {"requested_at": when, "expires_at": when + lasts if lasts is not None else None}
    return request.model_copy(update=update), when


def write_alerts(report: BacktestReport, out: Path, actions: Path | None = None) -> None:
    """One JSON line per alert (its final state), oldest first; actions likewise if asked (their
    final state in the action book: a later alert for a target extends its action)."""
    ordered = sorted(report.alerts.values(), key=lambda a: (a.first_event_time, a.alert_id))
    out.write_bytes(b"".join(orjson.dumps(a.model_dump(mode="json")) + b"\n" for a in ordered))
    if actions is not None:
        requests = sorted(report.actions.values(), key=lambda a: (a.requested_at, a.action_id))
        actions.write_bytes(b"".join(orjson.dumps(a.model_dump(mode="json")) + b"\n" for a in requests))
