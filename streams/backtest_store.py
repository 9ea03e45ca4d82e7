"""``backtest --clickhouse``: a backtest's output in an alert store, to look at in Grafana.

What the worker's store agent writes, through the same sink: each alert's final revision,
the rows of the restricted pseudonym table the distress alerts brought, and the valid
input events (the console's evidence). The tables are created with the project's DDL
(``infra/clickhouse``) when the sink opens. ``chdb:///path`` and a server URL take the
same path; with chDB the path must not be open in another process (a running worker).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from detectors import Policy
from events import ParseContext, Rejection, parse_event
from sinks.clickhouse import ClickHouseSink
from streams.backtest import BacktestReport

EVENT_BATCH = 10_000
"""Input events buffered between two inserts (a file may hold millions)."""


@dataclass(frozen=True, slots=True)
class StoredCounts:
    """Rows a backtest wrote to the store."""

    alerts: int
    pseudonyms: int
    events: int


def open_store(url: str, settings: Any, policy: Policy) -> ClickHouseSink:
    """The alert store at ``url`` with the worker's retention (``CM_*_TTL_DAYS``, the policy's
    distress retention): a preview keeps personal data no longer than production does."""
    return ClickHouseSink(
        url,
        alert_ttl_days=settings.alert_ttl_days,
        distress_ttl_days=max(1, policy.privacy.distress_retention.days),
        event_ttl_days=settings.event_ttl_days,
    )


def store_backtest(
    report: BacktestReport, events: Path, sink: ClickHouseSink, context: ParseContext
) -> StoredCounts:
    """Write ``report``'s alerts and pseudonym rows, then every valid event of ``events``.

    Raises :class:`~sinks.exceptions.SinkError` when the store does not take a batch, and
    OSError when ``events`` cannot be read again.
    """
    for alert in sorted(report.alerts.values(), key=lambda a: (a.first_event_time, a.alert_id)):
        sink.add(alert)
    for pseudonym, employee_id in sorted(report.pseudonyms.items()):
        sink.add_pseudonym(pseudonym, employee_id)
    sink.flush()
    stored = 0
    with events.open("rb") as handle:
        for line in handle:
            if not line.strip():
                continue
            parsed = parse_event(line, context)
            if isinstance(parsed, Rejection):
                continue
            when = datetime.fromtimestamp(parsed.timestamp, UTC)
            sink.add_event(parsed.uid, parsed.type, when, line.rstrip(b"\r\n"))
            stored += 1
            if sink.pending >= EVENT_BATCH:
                sink.flush()
    sink.flush()
    return StoredCounts(alerts=len(report.alerts), pseudonyms=len(report.pseudonyms), events=stored)
