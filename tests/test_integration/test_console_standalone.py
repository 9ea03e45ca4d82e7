"""``compliance-monitor console`` as a process of its own: it reads a store it does not write,
publishes audit records to the broker, and follows what other processes store."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from datetime import UTC, datetime

import orjson
import pytest

from infra.brokers import free_port
from sinks.alert_queries import AlertQueries
from sinks.clickhouse import ClickHouseSink
from streams.console.app import build_console
from streams.console.standalone import StoreFollower
from streams.settings import Settings
from tests.fixtures.brokers import consume_all
from tests.fixtures.workers import TOKENS, write_users
from tests.test_sinks.test_clickhouse import alert

pytestmark = pytest.mark.broker
FILL = """
import sys
from sinks.clickhouse import ClickHouseSink
from tests.test_sinks.test_clickhouse import alert
sink = ClickHouseSink(sys.argv[1])
sink.add(alert("stand-1"))
sink.flush()
"""


def request(port: int, path: str, method: str = "GET", body: dict | None = None) -> tuple[int, dict]:
    sent = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        method=method,
        data=orjson.dumps(body) if body else None,
        headers={"Authorization": f"Bearer {TOKENS['officer']}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(sent, timeout=10) as response:  # noqa: S310 - http://127.0.0.1
        return response.status, orjson.loads(response.read())


def test_the_console_process_reads_the_store_and_publishes_audit_records(broker, tmp_path):
    url = f"chdb://{tmp_path / 'store'}"  # stands in for a server: no worker holds this path
    subprocess.run([sys.executable, "-c", FILL, url], check=True, timeout=120)
    port, topic = free_port(), f"triage-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "CM_CLICKHOUSE_URL": url,
        "CM_USERS": str(write_users(tmp_path / "users.yaml")),
        "CM_KAFKA_BROKER": broker.url,
        "CM_WEB_PORT": str(port),
        "CM_TOPICS__TRIAGE": topic,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "streams", "console"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                status, page = request(port, "/api/v1/alerts")
                break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, process.stderr.read()[-3000:]
                time.sleep(0.3)
        assert [a["alert_id"] for a in page["alerts"]] == ["stand-1"]
        status, body = request(port, "/api/v1/alerts/stand-1/triage", "POST", {"action": "acknowledge"})
        assert status == 200 and body["triage"]["status"] == "acknowledged"
        [(key, value)] = consume_all(broker.bootstrap, topic)
        record = orjson.loads(value)
        assert key == b"stand-1" and (record["action"], record["user"]) == ("acknowledge", "officer")
    finally:
        process.terminate()
        process.wait(30)


def test_the_follower_streams_what_others_stored(tmp_path):
    sink = ClickHouseSink(f"chdb://{tmp_path / 'store'}")
    settings = Settings(data_dir=tmp_path, users=write_users(tmp_path / "users.yaml"))
    from detectors import load_policy
    from streams.process import DEMO_POLICY

    async def publish(record):
        return None

    console = build_console(settings, load_policy(DEMO_POLICY), sink=sink, publish=publish)
    follower = StoreFollower(console)

    async def scenario() -> list[str]:
        await follower.poll()  # the first round only reads the clock
        sink.add(alert("later-1"))
        sink.add_audit(
            {
                "audit_id": "r1",
                "at": datetime.now(UTC),
                "user": "hr",
                "role": "hr",
                "action": "comment",
                "alert_id": "later-1",
                "comment": "seen",
            }
        )
        sink.flush()
        await follower.poll()
        await follower.poll()  # the overlap reads them again: sent once
        return [f"{m.event}:{m.data.get('alert_id')}" for m in console.service.hub.kept]

    assert asyncio.run(scenario()) == ["alert:later-1", "triage:later-1"]
    stored = AlertQueries(sink.client, sink.database).get_alert("later-1")
    [record] = [m for m in console.service.hub.kept if m.event == "triage"]
    # the record carries its alert's subject and employees: they decide who sees it
    assert record.about == {"subject": stored["subject"], "employee_ids": stored["employee_ids"]}
    assert AlertQueries(sink.client, sink.database).store_time().tzinfo is not None
    sink.close()
