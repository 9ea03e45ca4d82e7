"""``compliance-monitor bench console``: what the console costs with a large alert store.

Fills an embedded ClickHouse (chDB) with N alerts over the last 170 days, triage for a third of them,
and one stored event per alert; then serves the real console (HTTP, bearer token) in this
process and times the first page of the queue, a filtered page (status + category + seven
days), an alert page with its evidence, and the delay from an alert stored to its arrival
at an event-stream client. Each figure is the 95th percentile of its samples.
"""

from __future__ import annotations

import asyncio
import random
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import orjson
from aiohttp import web

from detectors import load_policy
from detectors.registry import DETECTORS
from events import Alert, Subject
from infra.brokers import free_port
from sinks.clickhouse import AUDIT_COLUMNS, COLUMNS, EVENT_COLUMNS, STATE_COLUMNS, ClickHouseSink
from streams.console.app import build_console
from streams.console.users import add_user
from streams.process import DEMO_POLICY
from streams.settings import Settings

BATCH = 100_000
SAMPLES = 40
SPAN_DAYS = 170
"""Alerts spread over the last 170 days: within every retention (distress keeps 180)."""
START = (datetime.now(UTC) - timedelta(days=SPAN_DAYS)).replace(microsecond=0)


def _fill(sink: ClickHouseSink, count: int, say: Callable[[str], None]) -> list[str]:
    """Insert ``count`` alerts (and triage, events) straight through the client; their ids."""
    rules = sorted(DETECTORS)
    severities = ["low", "medium", "high", "critical"]
    rng = random.Random(7)  # noqa: S311 - synthetic data, not secrets
    ids = []
    for first in range(0, count, BATCH):
        alerts, events, states, audit = [], [], [], []
        for i in range(first, min(count, first + BATCH)):
            alert_id = f"{i:032x}"
            ids.append(alert_id)
            rule = rules[i % len(rules)]
            when = START + timedelta(seconds=rng.randrange(SPAN_DAYS * 86400))
            uid = f"bench/{i}"
            phone = f"+86150{i % 10**8:08d}"
            alerts.append(
                [
                    alert_id,
                    1,
                    rule,
                    rule.split(".")[0],
                    severities[i % 4],
                    "open",
                    "phone",
                    phone,
                    [f"E{i % 5000}"],
                    when,
                    when,
                    when,
                    [uid],
                    f"bench alert {i} 号码 {phone}",
                    "{}",
                    "1-bench",
                ]
            )
            event = {
                "id": str(i),
                "source": "bench",
                "type": "telephony.call.completed",
                "time": when.isoformat(),
                "data": {
                    "caller": phone,
                    "callee": "+862160000000",
                    "transcript": [{"speaker": "agent", "text": "请还钱"}],
                },
            }
            events.append([uid, event["type"], when, orjson.dumps(event).decode()])
            if i % 3 == 0:
                states.append([alert_id, "acknowledged", "", "", when, "bench"])
                audit.append(
                    [
                        f"a{i}",
                        when,
                        "bench",
                        "officer",
                        "acknowledge",
                        alert_id,
                        "",
                        "open",
                        "acknowledged",
                        "",
                        "",
                        "",
                        "",
                    ]
                )
        db = sink.database
        sink.client.insert(f"{db}.alerts", alerts, column_names=COLUMNS)
        sink.client.insert(f"{db}.events", events, column_names=EVENT_COLUMNS)
        sink.client.insert(f"{db}.triage_state", states, column_names=STATE_COLUMNS)
        sink.client.insert(f"{db}.triage_audit", audit, column_names=AUDIT_COLUMNS)
        say(f"stored {len(ids):,} alerts")
    return ids


def _p95(samples: list[float]) -> float:
    return round(statistics.quantiles(samples, n=20)[-1], 1) if len(samples) > 1 else samples[0]


async def _measure(sink: ClickHouseSink, ids: list[str], work: Path, say: Callable[[str], None]) -> dict:
    users = work / "users.yaml"
    token = add_user(users, "bench", ["officer"], token=True)

    async def publish(record: Any) -> None:  # reads are measured; the audit topic is not
        return None

    settings = Settings(data_dir=work, users=users)
    console = build_console(settings, load_policy(DEMO_POLICY), sink=sink, publish=publish)
    app = web.Application()
    app.router.add_routes(console.routes())
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    base = f"http://127.0.0.1:{port}/api/v1"
    headers = {"Authorization": f"Bearer {token}"}
    rng = random.Random(11)  # noqa: S311 - which alerts to open, not secrets
    out: dict[str, Any] = {}
    try:
        async with aiohttp.ClientSession(headers=headers) as client:

            async def timed(path: str) -> float:
                started = time.perf_counter()
                async with client.get(base + path) as response:
                    assert response.status == 200, await response.text()  # noqa: S101
                    await response.read()
                return (time.perf_counter() - started) * 1000

            def week() -> str:
                since = START + timedelta(days=rng.randrange(SPAN_DAYS - 7))
                until = since + timedelta(days=7)
                return f"since={quote(since.isoformat())}&until={quote(until.isoformat())}"

            for name, path in (
                ("list", lambda: "/alerts?limit=50"),
                ("filter", lambda: f"/alerts?limit=50&status=open&category=harassment&{week()}"),
                ("detail", lambda: f"/alerts/{rng.choice(ids)}"),
            ):
                await timed(path())  # warm
                samples = [await timed(path()) for _ in range(SAMPLES)]
                out[f"{name}_p95_ms"] = _p95(samples)
                out[f"{name}_ms"] = [round(s, 1) for s in samples]
                say(f"{name}: p95 {out[f'{name}_p95_ms']} ms")
            out["sse_delay_p95_ms"], out["sse_delay_ms"] = await _sse_delays(client, base, sink, console)
            say(f"sse: p95 {out['sse_delay_p95_ms']} ms")
    finally:
        await runner.cleanup()
    return out


async def _sse_delays(client: aiohttp.ClientSession, base: str, sink: ClickHouseSink, console: Any) -> tuple:
    """Stored (flushed) alert to its ``event: alert`` at a connected client, in ms."""
    delays = []
    async with client.get(base + "/stream", timeout=aiohttp.ClientTimeout(total=None)) as stream:
        await stream.content.readline()
        for n in range(20):
            now = datetime.now(UTC)
            alert = Alert(
                alert_id=f"sse-{n}-{secrets.token_hex(4)}",
                rule_id="conduct.quiet_hours",
                category="conduct",
                severity="high",
                subject=Subject(kind="debtor", id=f"D-sse-{n}"),
                employee_ids=[],
                first_event_time=now,
                last_event_time=now,
                detected_at=now,
                event_ids=[f"bench/sse{n}"],
                summary="bench",
                details={},
                policy_version="1-bench",
            )
            sink.add(alert)
            await asyncio.to_thread(sink.flush)
            stored = time.perf_counter()
            await console.service.after_store([alert])
            while alert.alert_id.encode() not in await stream.content.readline():
                pass
            delays.append((time.perf_counter() - stored) * 1000)
    return _p95(delays), [round(d, 1) for d in delays]


def run_console_bench(alerts: int, say: Callable[[str], None]) -> dict[str, Any]:
    """Fill a store with ``alerts`` alerts and time the console on it (module docstring)."""
    with tempfile.TemporaryDirectory(prefix="cm-bench-console-") as tmp:
        work = Path(tmp)
        sink = ClickHouseSink(f"chdb://{work / 'clickhouse'}")
        started = time.perf_counter()
        ids = _fill(sink, alerts, say)
        report: dict[str, Any] = {"alerts": alerts, "fill_s": round(time.perf_counter() - started, 1)}
        report.update(asyncio.run(_measure(sink, ids, work, say)))
        sink.close()
        return report
