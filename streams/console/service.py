"""Triage as a service: validate a change against where the alert stands, publish its audit
record, and show it at once.

An audit record is published to the triage topic (key ``alert_id``) and confirmed by the
broker before the caller gets an answer; the store agent writes it to ClickHouse. Until
the store has it, this process overlays its own recent records on what the store returns,
so a change is visible to the next read here at once.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from events import Alert
from events.exceptions import ComplianceMonitorError
from sinks.alert_queries import AlertQueries
from streams.console.hub import StreamHub
from streams.console.triage import AuditRecord, Triage, TriageRequest, apply, audit_id

OVERLAY_SECONDS = 300.0
"""How long a published record is overlaid (the store writes it within a flush interval)."""
STORE_WAIT_SECONDS = 10.0
"""How long a reveal waits for the store to have its audit record (then: 503, nothing revealed)."""


class UnknownAlert(ComplianceMonitorError, KeyError):
    """No such alert in the store (HTTP 404)."""


class TriageService:
    """The one path by which triage changes, reveals and exports become audit records."""

    def __init__(
        self,
        queries: AlertQueries,
        publish: Callable[[AuditRecord], Awaitable[None]],
        hub: StreamHub,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.queries = queries
        self.publish_record = publish
        self.hub = hub
        self.clock = clock
        self._recent: dict[str, list[tuple[float, AuditRecord]]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def _read(self, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return await asyncio.to_thread(call, *args, **kwargs)

    def _overlay(self, alert_id: str) -> list[AuditRecord]:
        now = time.monotonic()
        kept = [(t, r) for t, r in self._recent.get(alert_id, []) if now - t < OVERLAY_SECONDS]
        if kept:
            self._recent[alert_id] = kept
        else:
            self._recent.pop(alert_id, None)
        return [r for _, r in kept]

    def with_overlay(self, alert: dict[str, Any]) -> dict[str, Any]:
        """``alert`` with the triage this process published and the store may not have yet."""
        changes = [r for r in self._overlay(alert["alert_id"]) if r.triage is not None]
        if not changes:
            return alert
        newest = changes[-1]
        stored_at = alert["triage"].get("updated_at")
        if stored_at and datetime.fromisoformat(stored_at.replace("Z", "+00:00")) > newest.at:
            return alert
        return {**alert, "triage": _triage_dict(newest.triage)}

    def history(self, alert_id: str, stored: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The alert's audit records, oldest first: the store's and this process's newer ones."""
        seen = {r["audit_id"] for r in stored}
        extra = [_record_dict(r) for r in self._overlay(alert_id) if r.audit_id not in seen]
        return sorted([*stored, *extra], key=lambda r: (r["at"], r["audit_id"]))

    async def alert(self, alert_id: str) -> dict[str, Any]:
        found = await self._read(self.queries.get_alert, alert_id)
        if found is None:
            raise UnknownAlert(alert_id)
        return self.with_overlay(found)

    async def change(
        self, alert_id: str, request: TriageRequest, user: str, role: str, client: str | None
    ) -> tuple[Triage, AuditRecord]:
        """Apply ``request`` to the alert: its new triage and the published audit record."""
        lock = self._locks.setdefault(alert_id, asyncio.Lock())
        async with lock:
            alert = await self.alert(alert_id)
            current = Triage.model_validate(alert["triage"])
            after, record = apply(
                current,
                request,
                alert_id=alert_id,
                user=user,
                role=role,
                at=self.clock(),
                client=client,
                nonce=secrets.token_hex(8),
            )
            await self.record(record, alert={**alert, "triage": _triage_dict(after)})
        return after, record

    async def record(
        self, record: AuditRecord, alert: dict[str, Any] | None = None, about: dict[str, Any] | None = None
    ) -> None:
        """Publish ``record`` (confirmed by the broker), overlay it and push it to the stream.

        ``alert`` (the alert after the change) goes to the stream too; ``about`` is the alert the
        record concerns when ``alert`` is not given (the stream shows the record only to those
        who may read that alert)."""
        await self.publish_record(record)
        if record.alert_id:
            self._recent.setdefault(record.alert_id, []).append((time.monotonic(), record))
        concerned = alert if alert is not None else about
        self.hub.publish("triage", _record_dict(record), scope(concerned) if concerned else None)
        if alert is not None:
            self.hub.publish("alert", alert)

    async def scopes(self, alert_ids: list[str]) -> dict[str, dict[str, Any]]:
        """The :func:`scope` of each stored alert among ``alert_ids``."""
        found: dict[str, dict[str, Any]] = {}
        unique = list(dict.fromkeys(alert_ids))
        for start in range(0, len(unique), 1000):
            rows = await self._read(self._by_ids, unique[start : start + 1000])
            found.update((row["alert_id"], scope(row)) for row in rows)
        return found

    async def wait_stored(self, record: AuditRecord, timeout: float | None = None) -> bool:
        """Whether the store has ``record`` within ``timeout`` seconds (it writes every flush;
        by default :data:`STORE_WAIT_SECONDS`)."""
        deadline = time.monotonic() + (STORE_WAIT_SECONDS if timeout is None else timeout)
        while time.monotonic() < deadline:
            stored = await self._read(
                self.queries.audit, alert_id=record.alert_id, user=record.user, limit=50
            )
            if any(r["audit_id"] == record.audit_id for r in stored):
                return True
            await asyncio.sleep(0.1)
        return False

    def new_record(self, action: str, user: str, role: str, client: str | None, **fields: Any) -> AuditRecord:
        at = self.clock()
        return AuditRecord(
            audit_id=audit_id(action, user, at.isoformat(), secrets.token_hex(8)),
            at=at,
            user=user,
            role=role,
            action=action,
            client=client,
            **fields,  # type: ignore[arg-type]
        )

    async def after_store(self, alerts: list[Alert]) -> None:
        """Stored alerts: push them to the stream; reopen closed ones that got new evidence."""
        if not alerts:
            return
        ids = [a.alert_id for a in alerts]
        rows = {a["alert_id"]: self.with_overlay(a) for a in await self._read(self._by_ids, ids)}
        for alert in alerts:
            row = rows.get(alert.alert_id)
            if row is None:
                continue
            if row["triage"]["status"] == "closed" and alert.revision > 1:
                await self.change(
                    alert.alert_id,
                    TriageRequest(action="reopen", comment="new evidence"),
                    "system",
                    "system",
                    None,
                )
                continue
            self.hub.publish("alert", row)

    def _by_ids(self, ids: list[str]) -> list[dict[str, Any]]:
        from sinks.alert_queries import AlertFilter

        rows, _ = self.queries.list_alerts(AlertFilter(), len(ids), ids=ids)
        return rows


def scope(alert: dict[str, Any]) -> dict[str, Any]:
    """What of an alert decides who may see a record about it, and what is masked in it."""
    return {"subject": dict(alert["subject"]), "employee_ids": list(alert.get("employee_ids") or [])}


def _triage_dict(triage: Triage) -> dict[str, Any]:
    data = triage.model_dump(mode="json")
    if data["updated_at"]:
        data["updated_at"] = data["updated_at"].replace("+00:00", "Z")
    return data


def _record_dict(record: AuditRecord) -> dict[str, Any]:
    data = record.model_dump(mode="json", exclude={"triage"})
    data["at"] = data["at"].replace("+00:00", "Z")
    return data
