"""Alerts into ClickHouse through clickhouse-connect: embedded chDB (``chdb:///path``) or a server.

One code path for both: the URL picks the backend. The DDL lives in ``infra/clickhouse``
and is applied idempotently at start. chDB allows one process per data path, so only
the process that owns this sink may open the path; others ask it (the worker's alerts API).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

import orjson

from events import Alert
from sinks.base import Sink
from sinks.exceptions import SinkConfigError, SinkError

log = logging.getLogger(__name__)

DDL_DIR: Traversable = files("infra") / "clickhouse"
"""The ClickHouse DDL, package data of ``infra``, applied in file-name order."""
DEFAULT_DATABASE = "compliance"
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
COLUMNS = [
    "alert_id",
    "revision",
    "rule_id",
    "category",
    "severity",
    "status",
    "subject_kind",
    "subject_id",
    "employee_ids",
    "first_event_time",
    "last_event_time",
    "detected_at",
    "event_ids",
    "summary",
    "details",
    "policy_version",
]


AUDIT_COLUMNS = [
    "audit_id",
    "at",
    "user",
    "role",
    "action",
    "alert_id",
    "action_id",
    "from_status",
    "to_status",
    "assignee",
    "reason",
    "comment",
    "client",
]
STATE_COLUMNS = ["alert_id", "status", "assignee", "reason", "updated_at", "updated_by"]
EVENT_COLUMNS = ["uid", "type", "time", "event"]


def audit_row(record: dict[str, Any]) -> list[Any]:
    """One ``triage_audit`` row of an audit record (``None`` stored as an empty string)."""
    return [record["at"] if column == "at" else (record.get(column) or "") for column in AUDIT_COLUMNS]


def _split_url(url: str) -> tuple[str, str]:
    """(DSN to connect with, database to use). A server URL may name the database in its path."""
    parsed = urlparse(url)
    if parsed.scheme == "chdb":
        return url, DEFAULT_DATABASE
    if parsed.scheme not in ("http", "https"):
        raise SinkConfigError(
            f"CM_CLICKHOUSE_URL: unsupported scheme {parsed.scheme!r}; use chdb:///path or http(s)://host:8123/db"
        )
    database = parsed.path.strip("/") or DEFAULT_DATABASE
    if not _IDENTIFIER.match(database):
        raise SinkConfigError(f"CM_CLICKHOUSE_URL: database name {database!r} must be a plain identifier")
    return urlunparse(parsed._replace(path="")), database


def alert_row(alert: Alert) -> list[Any]:
    """One table row for ``alert`` in :data:`COLUMNS` order."""
    return [
        alert.alert_id,
        alert.revision,
        alert.rule_id,
        alert.category,
        alert.severity,
        alert.status,
        alert.subject.kind,
        alert.subject.id,
        alert.employee_ids,
        alert.first_event_time,
        alert.last_event_time,
        alert.detected_at,
        alert.event_ids,
        alert.summary,
        orjson.dumps(alert.details).decode(),
        alert.policy_version,
    ]


class ClickHouseSink(Sink):
    """Batched, retried inserts of alert revisions; reads go through :meth:`query_alerts`."""

    name = "clickhouse"

    def __init__(
        self,
        url: str,
        alert_ttl_days: int = 730,
        distress_ttl_days: int = 180,
        event_ttl_days: int = 180,
        retries: int = 5,
        backoff: float = 0.2,
    ) -> None:
        import clickhouse_connect  # heavy import, only where a sink is built

        dsn, self.database = _split_url(url)
        self.retries = retries
        self.backoff = backoff
        self._rows: list[list[Any]] = []
        self._pseudonyms: dict[str, str] = {}
        self._audit: list[list[Any]] = []
        self._states: list[list[Any]] = []
        self._events: list[list[Any]] = []
        self._lock = threading.Lock()
        if dsn.startswith("chdb:"):
            Path(urlparse(dsn).path).mkdir(parents=True, exist_ok=True)
        try:
            self.client = clickhouse_connect.get_client(dsn=dsn)
        except Exception as error:
            raise SinkError(f"cannot open ClickHouse at {urlparse(dsn).scheme}://…: {error}") from error
        self.apply_ddl(alert_ttl_days, distress_ttl_days, event_ttl_days)
        # clickhouse-connect imports pandas lazily on the first insert (about a second,
        # holding the GIL): do it now, not while the first alerts wait in a flush
        from clickhouse_connect.driver import options

        _ = options.pd

    def apply_ddl(self, alert_ttl_days: int, distress_ttl_days: int = 180, event_ttl_days: int = 180) -> None:
        """Create the database and tables if missing (idempotent)."""
        with self._lock:
            self.client.command(f"CREATE DATABASE IF NOT EXISTS {self.database}")
            for path in sorted(
                (p for p in DDL_DIR.iterdir() if p.name.endswith(".sql")), key=lambda p: p.name
            ):
                statement = path.read_text(encoding="utf-8").format(
                    database=self.database,
                    alert_ttl_days=int(alert_ttl_days),
                    distress_ttl_days=int(distress_ttl_days),
                    event_ttl_days=int(event_ttl_days),
                )
                self.client.command(statement)

    def add(self, alert: Alert) -> None:
        self._rows.append(alert_row(alert))

    def add_pseudonym(self, pseudonym: str, employee_id: str) -> None:
        """Buffer one row of the restricted pseudonym table (written with the next flush)."""
        self._pseudonyms[pseudonym] = employee_id

    def add_audit(self, record: dict[str, Any]) -> None:
        """Buffer one audit record (``triage_audit``) and, for a triage change, the state it led to."""
        self._audit.append(audit_row(record))
        if triage := record.get("triage"):
            self._states.append(
                [
                    record["alert_id"],
                    triage["status"],
                    triage.get("assignee") or "",
                    triage.get("reason") or "",
                    record["at"],
                    record["user"],
                ]
            )

    def add_event(self, uid: str, event_type: str, time: Any, raw: bytes | str) -> None:
        """Buffer one valid input event (``events``), as received, kept for the console's evidence."""
        self._events.append(
            [uid, event_type, time, raw if isinstance(raw, str) else raw.decode("utf-8", "replace")]
        )

    @property
    def pending(self) -> int:
        return (
            len(self._rows) + len(self._pseudonyms) + len(self._audit) + len(self._states) + len(self._events)
        )

    def flush(self) -> int:
        """Insert the buffer, retrying with exponential backoff; keep it if every try fails."""
        rows = self._rows[:]  # add() may append meanwhile (the worker flushes in a thread)
        mapping = list(self._pseudonyms.items())
        audit, states, events = self._audit[:], self._states[:], self._events[:]
        if not (rows or mapping or audit or states or events):
            return 0
        delay = self.backoff
        for attempt in range(1, self.retries + 1):
            try:
                with self._lock:
                    if mapping:
                        self.client.insert(
                            f"{self.database}.employee_pseudonyms",
                            mapping,
                            column_names=["pseudonym", "employee_id"],
                        )
                        for pseudonym, _ in mapping:
                            self._pseudonyms.pop(pseudonym, None)
                        mapping = []
                    if events:
                        self.client.insert(f"{self.database}.events", events, column_names=EVENT_COLUMNS)
                        del self._events[: len(events)]
                        events = []
                    if audit:
                        self.client.insert(f"{self.database}.triage_audit", audit, column_names=AUDIT_COLUMNS)
                        del self._audit[: len(audit)]
                        audit = []
                    if states:
                        self.client.insert(
                            f"{self.database}.triage_state", states, column_names=STATE_COLUMNS
                        )
                        del self._states[: len(states)]
                        states = []
                    if rows:
                        self.client.insert(f"{self.database}.alerts", rows, column_names=COLUMNS)
            except Exception as error:
                log.warning(
                    "ClickHouse insert of %d rows failed (try %d): %s",
                    len(rows),
                    attempt,
                    error,
                    extra={"sink": self.name, "rows": len(rows), "attempt": attempt, "error": str(error)},
                )
                if attempt == self.retries:
                    raise SinkError(f"ClickHouse insert failed {attempt} times: {error}") from error
                time.sleep(delay)
                delay *= 2
            else:
                del self._rows[: len(rows)]
                return len(rows)
        return 0  # pragma: no cover - the loop returns or raises

    def query_alerts(self, limit: int = 100, rule_id: str | None = None) -> list[dict[str, Any]]:
        """The newest alerts (final revisions), as dicts in the alert shape."""
        where = "WHERE rule_id = {rule:String}" if rule_id else ""
        # the database name is checked as an identifier; values are bound parameters
        table = f"{self.database}.alerts"
        sql = (
            f"SELECT {', '.join(COLUMNS)} FROM {table} FINAL {where} "  # noqa: S608
            "ORDER BY last_event_time DESC, alert_id LIMIT {limit:UInt32}"
        )
        with self._lock:
            result = self.client.query(sql, parameters={"rule": rule_id or "", "limit": limit})
        out = []
        for row in result.result_rows:
            record = dict(zip(COLUMNS, row, strict=True))
            record["subject"] = {"kind": record.pop("subject_kind"), "id": record.pop("subject_id")}
            record["details"] = orjson.loads(record["details"])
            for key in ("first_event_time", "last_event_time", "detected_at"):
                record[key] = record[key].isoformat() + "Z"
            out.append(record)
        return out

    def employee_for(self, pseudonym: str) -> str | None:
        """The restricted lookup (HR role): which employee a pseudonym stands for."""
        with self._lock:
            result = self.client.query(
                f"SELECT employee_id FROM {self.database}.employee_pseudonyms FINAL "  # noqa: S608
                "WHERE pseudonym = {p:String}",
                parameters={"p": pseudonym},
            )
        return result.result_rows[0][0] if result.result_rows else None

    def close(self) -> None:
        with self._lock:
            self.client.close()
