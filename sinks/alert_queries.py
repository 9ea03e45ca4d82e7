"""Reads of the console: alerts with their triage, audit records and stored events.

Every value is a bound parameter; the database name is checked as an identifier by the
sink. Alerts and triage states are read with ``FINAL`` (latest revision, latest change).
"""

from __future__ import annotations

import base64
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from events.exceptions import ComplianceMonitorError
from sinks.clickhouse import AUDIT_COLUMNS, COLUMNS

_ALERT_SELECT = ", ".join(f"a.{c}" for c in COLUMNS)


class BadCursor(ComplianceMonitorError, ValueError):
    """A ``cursor`` this store did not hand out."""


@dataclass(frozen=True, slots=True)
class AlertFilter:
    """The filters of ``GET /api/v1/alerts`` (and the CSV export)."""

    status: str | None = None
    category: str | None = None
    rule_id: str | None = None
    severity: str | None = None
    q: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def encode_cursor(last_event_time: str, alert_id: str) -> str:
    return base64.urlsafe_b64encode(orjson.dumps([last_event_time, alert_id])).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        when, alert_id = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        return _naive_utc(datetime.fromisoformat(when.replace("Z", "+00:00"))), str(alert_id)
    except (ValueError, TypeError) as error:
        raise BadCursor("cursor: not one this API handed out") from error


def _naive_utc(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def _iso(value: datetime) -> str:
    return value.isoformat(timespec="milliseconds") + "Z"


class AlertQueries:
    """Console reads on the alert store's ClickHouse client (shared with the sink's lock)."""

    def __init__(self, client: Any, database: str, lock: threading.Lock | None = None) -> None:
        self.client = client
        self.database = database
        self.lock = lock or threading.Lock()

    def _query(self, sql: str, parameters: dict[str, Any]) -> list[tuple]:
        with self.lock:
            return self.client.query(sql, parameters=parameters).result_rows

    def list_alerts(
        self,
        where: AlertFilter,
        limit: int,
        cursor: str | None = None,
        ids: list[str] | None = None,
        stored_after: datetime | None = None,
    ) -> tuple[list[dict[str, Any]], str | None]:
        """Alerts newest first (by last event time), with their triage; and the next page's cursor."""
        db = self.database
        clauses, params = ["1"], {"limit": limit + 1}
        triage_clauses = ["1"]
        for name in ("category", "rule_id", "severity"):
            if value := getattr(where, name):
                clauses.append(f"{name} = {{{name}:String}}")
                params[name] = value
        if where.since:
            clauses.append("last_event_time >= {since:DateTime64(3)}")
            params["since"] = _naive_utc(where.since)
        if where.until:
            clauses.append("last_event_time < {until:DateTime64(3)}")
            params["until"] = _naive_utc(where.until)
        if where.q:
            clauses.append(
                "(positionCaseInsensitiveUTF8(subject_id, {q:String}) > 0"
                " OR arrayExists(e -> positionCaseInsensitiveUTF8(e, {q:String}) > 0, employee_ids)"
                " OR positionCaseInsensitiveUTF8(summary, {q:String}) > 0)"
            )
            params["q"] = where.q
        if ids is not None:
            clauses.append("alert_id IN {ids:Array(String)}")
            params["ids"] = ids
        if stored_after is not None:
            clauses.append("inserted_at > {stored_after:DateTime64(3)}")
            params["stored_after"] = _naive_utc(stored_after)
        if cursor:
            when, after = decode_cursor(cursor)
            clauses.append("(last_event_time, alert_id) < ({c_time:DateTime64(3)}, {c_id:String})")
            params["c_time"], params["c_id"] = when, after
        if where.status:
            triage_clauses.append("if(t.status = '', 'open', t.status) = {status:String}")
            params["status"] = where.status
        sql = (
            f"SELECT {_ALERT_SELECT}, t.status, t.assignee, t.reason, t.updated_at, t.updated_by "  # noqa: S608
            f"FROM (SELECT * FROM {db}.alerts FINAL WHERE {' AND '.join(clauses)}) AS a "
            f"LEFT JOIN (SELECT * FROM {db}.triage_state FINAL) AS t ON t.alert_id = a.alert_id "
            f"WHERE {' AND '.join(triage_clauses)} "
            "ORDER BY a.last_event_time DESC, a.alert_id DESC LIMIT {limit:UInt32}"
        )
        rows = [self._alert(row) for row in self._query(sql, params)]
        next_cursor = None
        if len(rows) > limit:
            rows = rows[:limit]
            next_cursor = encode_cursor(rows[-1]["last_event_time"], rows[-1]["alert_id"])
        return rows, next_cursor

    def get_alert(self, alert_id: str) -> dict[str, Any] | None:
        rows, _ = self.list_alerts(AlertFilter(), 1, ids=[alert_id])
        return rows[0] if rows else None

    def _alert(self, row: tuple) -> dict[str, Any]:
        record = dict(zip(COLUMNS, row[: len(COLUMNS)], strict=True))
        status, assignee, reason, updated_at, updated_by = row[len(COLUMNS) :]
        record["subject"] = {"kind": record.pop("subject_kind"), "id": record.pop("subject_id")}
        record["details"] = orjson.loads(record["details"])
        for key in ("first_event_time", "last_event_time", "detected_at"):
            record[key] = _iso(record[key])
        record["triage"] = {
            "status": status or "open",
            "assignee": assignee or None,
            "reason": reason or None,
            "updated_at": _iso(updated_at) if status else None,
            "updated_by": updated_by or None,
        }
        return record

    def audit(
        self,
        alert_id: str | None = None,
        user: str | None = None,
        since: datetime | None = None,
        limit: int = 100,
        oldest_first: bool = False,
    ) -> list[dict[str, Any]]:
        """Audit records, newest first (or oldest first, for an alert's history)."""
        clauses, params = ["1"], {"limit": limit}
        if alert_id is not None:
            clauses.append("alert_id = {alert_id:String}")
            params["alert_id"] = alert_id
        if user:
            clauses.append("user = {user:String}")
            params["user"] = user
        if since:
            clauses.append("at >= {since:DateTime64(3)}")
            params["since"] = _naive_utc(since)
        order = "ASC" if oldest_first else "DESC"
        sql = (
            f"SELECT {', '.join(AUDIT_COLUMNS)} FROM {self.database}.triage_audit FINAL "  # noqa: S608
            f"WHERE {' AND '.join(clauses)} ORDER BY at {order}, audit_id {order} LIMIT {{limit:UInt32}}"
        )
        out = []
        for row in self._query(sql, params):
            record = {c: (v if v != "" else None) for c, v in zip(AUDIT_COLUMNS, row, strict=True)}
            record["at"] = _iso(record["at"])
            out.append(record)
        return out

    def store_time(self) -> datetime:
        """The store's clock (what ``inserted_at`` is measured by), as UTC."""
        [(now,)] = self._query("SELECT now64(3, 'UTC')", {})
        return now.replace(tzinfo=UTC) if now.tzinfo is None else now

    def events(self, uids: list[str]) -> list[dict[str, Any]]:
        """The stored events among ``uids``, oldest first (as received)."""
        if not uids:
            return []
        sql = (
            f"SELECT event FROM {self.database}.events FINAL "  # noqa: S608
            "WHERE uid IN {uids:Array(String)} ORDER BY time, uid"
        )
        return [orjson.loads(row[0]) for row in self._query(sql, {"uids": uids})]
