"""``actions deliver`` on a real broker against real HTTP receivers: signatures, retries,
final failures, dead letters, a dead receiver beside live ones, and a restart."""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from aiohttp import web
from standardwebhooks import Webhook as Verifier

from events import Action
from infra.brokers import free_port
from tests.fixtures.brokers import consume_all, produce

pytestmark = pytest.mark.broker

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()
AM_AUTH = "Bearer alertmanager-receiver-token"
ALERTMANAGER_V4 = {
    "version",
    "groupKey",
    "truncatedAlerts",
    "status",
    "receiver",
    "groupLabels",
    "commonLabels",
    "commonAnnotations",
    "externalURL",
    "alerts",
}
ALERTMANAGER_V4_ALERT = {
    "status",
    "labels",
    "annotations",
    "startsAt",
    "endsAt",
    "generatorURL",
    "fingerprint",
}


class Receivers:
    """HTTP receivers on one loopback port: ``/ok``, ``/flaky`` (503 three times, then 204),
    ``/bad`` (400), ``/down`` (500 always), ``/am``."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[tuple[str, dict[str, str], bytes]] = []
        self.flaky_left = 3
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        threading.Thread(target=self._run, daemon=True).start()
        self._ready.wait(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_post("/{name}", self._handle)
        runner = web.AppRunner(app, access_log=None)
        self._loop.run_until_complete(runner.setup())
        self._loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", self.port).start())
        self._ready.set()
        self._loop.run_forever()

    async def _handle(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        body = await request.read()
        if name == "flaky" and self.flaky_left > 0:
            self.flaky_left -= 1
            return web.Response(status=503)
        if name == "bad":
            return web.Response(status=400)
        if name == "down":
            return web.Response(status=500)
        self.received.append((name, dict(request.headers), body))
        return web.Response(status=204)

    def at(self, name: str) -> list[tuple[dict[str, str], bytes]]:
        return [(headers, body) for n, headers, body in list(self.received) if n == name]


def action(state: str = "active", action_id: str | None = None) -> Action:
    now = datetime.now(UTC)
    return Action(
        action_id=action_id or uuid.uuid4().hex,
        kind="block_sender",
        target=f"notice@{uuid.uuid4().hex[:6]}.example",
        alert_id="alert-1",
        requested_at=now,
        expires_at=now + timedelta(days=90),
        reason="collection e-mail (逾期, 欠款)",
        state=state,
        alert={"rule_id": "harassment.collection_email", "severity": "high", "summary": "催收函"},
    )


class Deliverer:
    def __init__(self, broker, tmp: Path, receivers: Receivers, dead_retry_for: str = "4s") -> None:
        tag = uuid.uuid4().hex[:8]
        self.actions_topic, self.deadletter_topic = f"actions-{tag}", f"actions-dlq-{tag}"
        base = f"http://127.0.0.1:{receivers.port}"
        dead = f"http://127.0.0.1:{free_port()}/nobody"
        policy = tmp / "webhooks.yaml"
        policy.write_text(
            f"""
version: 1
actions:
  webhooks:
    - {{name: ok, url: "{base}/ok", secret_env: CM_TEST_HOOK_SECRET}}
    - {{name: flaky, url: "{base}/flaky", secret_env: CM_TEST_HOOK_SECRET}}
    - {{name: bad, url: "{base}/bad", secret_env: CM_TEST_HOOK_SECRET}}
    - {{name: down, url: "{base}/down", secret_env: CM_TEST_HOOK_SECRET, retry_for: 3s}}
    - {{name: dead, url: "{dead}", secret_env: CM_TEST_HOOK_SECRET, retry_for: {dead_retry_for}, timeout: 1s}}
    - {{name: am, url: "{base}/am", secret_env: CM_TEST_AM_AUTH, format: alertmanager}}
""",
            encoding="utf-8",
        )
        self.broker = broker
        self.metrics_port = free_port()
        self.log = tmp / f"deliver-{tag}.log"
        self.env = {
            **os.environ,
            "CM_KAFKA_BROKER": broker.url,
            "CM_APP_ID": f"cm-hooks-{tag}",
            "CM_POLICY": str(policy),
            "CM_TOPICS__ACTIONS": self.actions_topic,
            "CM_TOPICS__ACTIONS_DEADLETTER": self.deadletter_topic,
            "CM_TEST_HOOK_SECRET": SECRET,
            "CM_TEST_AM_AUTH": AM_AUTH,
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> Deliverer:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streams",
                "actions",
                "deliver",
                "--metrics",
                f"127.0.0.1:{self.metrics_port}",
            ],
            env=self.env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
        )
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            self.process.wait(30)

    def publish(self, *actions: Action) -> None:
        produce(
            self.broker.bootstrap,
            [(self.actions_topic, a.model_dump_json().encode(), a.action_id) for a in actions],
        )

    def metric(self, name: str, **labels: str) -> float:
        wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5) as r:
                for line in r.read().decode().splitlines():
                    if line.startswith(f"{name}{{{wanted}}} "):
                        return float(line.rsplit(" ", 1)[1])
        except OSError:
            pass
        return 0.0


def wait_until(check, timeout: float = 60.0, what: str = "condition", log: Path | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.2)
    tail = log.read_text(errors="replace")[-3000:] if log and log.exists() else ""
    raise AssertionError(f"timed out waiting for {what}\n{tail}")


@pytest.fixture(scope="module")
def receivers() -> Receivers:
    return Receivers()


def test_every_state_reaches_each_webhook_once_signed_retried_or_dead_lettered(broker, tmp_path, receivers):
    deliverer = Deliverer(broker, tmp_path, receivers).start()
    try:
        first = action("active")
        revoked = first.model_copy(
            update={"state": "revoked", "decided_by": "it", "decided_at": datetime.now(UTC)}
        )
        pending = action("pending_approval")
        deliverer.publish(first, revoked, pending)

        ids = {
            f"{first.action_id}.active",
            f"{first.action_id}.revoked",
            f"{pending.action_id}.pending_approval",
        }
        ok = wait_until(
            lambda: len(receivers.at("ok")) >= 3 and receivers.at("ok"), what="/ok", log=deliverer.log
        )
        verifier = Verifier(SECRET)
        for headers, body in ok:
            payload = verifier.verify(body, headers)  # raises on a wrong signature
            assert headers["webhook-id"] == f"{payload['action_id']}.{payload['state']}"
            assert payload["alert"]["rule_id"] == "harassment.collection_email"
        assert {h["webhook-id"] for h, _ in ok} == ids

        flaky = wait_until(lambda: len(receivers.at("flaky")) >= 3 and receivers.at("flaky"), what="/flaky")
        assert sorted(h["webhook-id"] for h, _ in flaky) == sorted(ids)  # each accepted exactly once
        assert deliverer.metric("cm_webhook_deliveries_total", endpoint="flaky", outcome="retried") == 3

        am = wait_until(lambda: len(receivers.at("am")) >= 2 and receivers.at("am"), what="/am")
        assert all(h["Authorization"] == AM_AUTH for h, _ in am)
        bodies = [orjson.loads(b) for _, b in am]
        assert [(b["version"], b["status"]) for b in bodies] == [("4", "firing"), ("4", "resolved")]
        for body in bodies:  # Alertmanager's webhook payload, version 4
            assert set(body) == ALERTMANAGER_V4 and body["receiver"] == "am" and body["truncatedAlerts"] == 0
            assert [set(a) for a in body["alerts"]] == [ALERTMANAGER_V4_ALERT]
            assert all(
                isinstance(body[k], dict) for k in ("groupLabels", "commonLabels", "commonAnnotations")
            )
        alert = bodies[0]["alerts"][0]
        assert (
            alert["endsAt"] == "0001-01-01T00:00:00Z" and bodies[1]["alerts"][0]["endsAt"] != alert["endsAt"]
        )
        assert alert["fingerprint"] == first.action_id
        assert {k: alert["labels"][k] for k in ("action_id", "kind", "target", "rule_id")} == {
            "action_id": first.action_id,
            "kind": "block_sender",
            "target": first.target,
            "rule_id": "harassment.collection_email",
        }

        def dead_letters():
            records = [
                orjson.loads(v) for _, v in consume_all(broker.bootstrap, deliverer.deadletter_topic, 2)
            ]
            return records if len({(r["endpoint"], r["webhook_id"]) for r in records}) >= 9 else None

        letters = wait_until(dead_letters, timeout=90, what="dead letters of bad and dead", log=deliverer.log)
        bad = [r for r in letters if r["endpoint"] == "bad"]
        assert {r["webhook_id"] for r in bad} == ids and all(
            (r["last_status"], r["tries"]) == (400, 1) for r in bad
        )
        dead = [r for r in letters if r["endpoint"] == "dead"]
        assert all(r["last_status"] is None and r["tries"] >= 2 and r["error"] for r in dead)
        down = [r for r in letters if r["endpoint"] == "down"]
        assert {r["webhook_id"] for r in down} == ids and all(
            r["last_status"] == 500 and r["tries"] >= 2 for r in down
        )
        assert deliverer.metric("cm_webhook_deliveries_total", endpoint="ok", outcome="delivered") == 3

        deliverer.stop()  # a restart neither repeats what was delivered nor misses what came meanwhile
        later = action("active")
        deliverer.publish(later)
        deliverer.start()
        wait_until(lambda: len(receivers.at("ok")) >= 4, what="the record published while stopped")
        time.sleep(2)
        counts = Counter(h["webhook-id"] for h, _ in receivers.at("ok"))
        assert counts == Counter({**dict.fromkeys(ids, 1), f"{later.action_id}.active": 1})
    finally:
        deliverer.stop()


def test_a_dead_receiver_does_not_hold_up_the_others(broker, tmp_path, receivers):
    deliverer = Deliverer(broker, tmp_path, receivers, dead_retry_for="10m").start()
    try:
        before = len(receivers.at("ok"))
        deliverer.publish(action("active"), action("active"))
        wait_until(lambda: len(receivers.at("ok")) >= before + 2, what="/ok while /nobody is down")
        wait_until(
            lambda: deliverer.metric("cm_webhook_circuit_open", endpoint="dead") == 1,
            timeout=20,
            what="the dead hook's circuit",
        )
        letters = [orjson.loads(v) for _, v in consume_all(broker.bootstrap, deliverer.deadletter_topic, 2)]
        assert [r for r in letters if r["endpoint"] == "dead"] == []  # still trying its first
    finally:
        deliverer.stop()


def test_a_missing_secret_stops_start_up_naming_the_variable(broker, tmp_path, receivers):
    deliverer = Deliverer(broker, tmp_path, receivers)
    env = {k: v for k, v in deliverer.env.items() if k != "CM_TEST_AM_AUTH"}
    done = subprocess.run(
        [sys.executable, "-m", "streams", "actions", "deliver"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "CM_TEST_AM_AUTH" in done.stderr and "'am'" in done.stderr
