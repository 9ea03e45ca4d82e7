"""Mail blocking end to end with the real parts: a collection e-mail produced to Kafka, the
worker's alert and block action, the policy service, and Debian's Postfix answering swaks."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from events import Action
from infra.brokers import free_port, start_tansu
from tests.factories import at, mail
from tests.fixtures.brokers import consume_all, produce
from tests.fixtures.postfix import PostfixServer
from tests.fixtures.workers import WorkerProcess

pytestmark = pytest.mark.broker

APPROVAL_POLICY = """
version: 1
timezone: Asia/Shanghai
actions:
  require_approval: true
  reject_text: "5.7.1 Blocked by the compliance policy of corp.example"
rules:
  harassment.collection_email:
    block_for: {block_for}
"""


class PolicyService:
    """``compliance-monitor postfix-policy`` following the actions topic of ``env``."""

    def __init__(self, env: dict[str, str], log_dir: Path, fail: str = "open") -> None:
        self.port, self.metrics_port = free_port(), free_port()
        log = (log_dir / f"policy-{self.port}.log").open("ab")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streams",
                "postfix-policy",
                "--listen",
                f"127.0.0.1:{self.port}",
                "--metrics",
                f"127.0.0.1:{self.metrics_port}",
                "--fail",
                fail,
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while not self.ready():
            assert self.process.poll() is None, "policy service exited"
            assert time.monotonic() < deadline, "policy service never loaded the block list"
            time.sleep(0.3)

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/healthz", timeout=5) as r:
                return bool(orjson.loads(r.read())["ready"])
        except OSError:
            return False

    def metric(self, name: str, **labels: str) -> float:
        wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        prefix = f"{name}{{{wanted}}}" if labels else name
        with urllib.request.urlopen(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5) as r:
            for line in r.read().decode().splitlines():
                if line.startswith(prefix + " "):
                    return float(line.rsplit(" ", 1)[1])
        return 0.0

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(30)


@pytest.fixture
def mail_system(worker) -> Iterator[tuple[PolicyService, PostfixServer]]:
    with mail_system_of(worker) as parts:
        yield parts


@contextmanager
def mail_system_of(worker: WorkerProcess) -> Iterator[tuple[PolicyService, PostfixServer]]:
    """A policy service following ``worker``'s actions, and a Postfix asking it."""
    policy = PolicyService(worker.env, worker.data_dir)
    postfix = PostfixServer(policy.port).start()
    try:
        yield policy, postfix
    finally:
        postfix.stop()
        policy.stop()


def collection_letter(worker: WorkerProcess) -> str:
    """Produce a collection e-mail from a new sender; the sender."""
    sender = f"notice@agency-{uuid.uuid4().hex[:8]}.example"
    letter = mail(sender, at(4), "催收函", "您的同事欠款逾期未还，请转告其结清欠款。")
    produce(worker.broker.bootstrap, [(worker.topic("mail"), letter, letter["id"])])
    return sender


def action_for(worker: WorkerProcess, target: str, state: str | None = None) -> dict | None:
    """The latest record of the action for ``target`` on the worker's actions topic."""
    latest: dict[str, dict] = {}
    for _, value in consume_all(worker.broker.bootstrap, worker.topic("actions"), timeout=2):
        record = orjson.loads(value)
        if record["target"] == target:
            latest[record["action_id"]] = record
    found = [a for a in latest.values() if state is None or a["state"] == state]
    return found[-1] if found else None


def until_code(postfix: PostfixServer, sender: str, code: int, timeout: float = 30.0) -> str:
    """Send from ``sender`` until Postfix answers ``code``; the transcript of that answer."""
    deadline = time.monotonic() + timeout
    while True:
        answer = postfix.send(sender)
        if answer.code == code:
            return answer.transcript
        assert time.monotonic() < deadline, f"expected {code}, got {answer.code}:\n{answer.transcript}"
        time.sleep(0.5)


def cli(worker: WorkerProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "streams", *args], env=worker.env, capture_output=True, text=True, timeout=120
    )


def test_a_collection_letter_blocks_its_sender_at_postfix_until_revoked(worker, mail_system):
    policy, postfix = mail_system
    sender = collection_letter(worker)
    action = worker.wait_for(lambda: action_for(worker, sender, "active"), what="active block_sender")
    assert action["kind"] == "block_sender" and action["alert"]["rule_id"] == "harassment.collection_email"

    rejected = until_code(postfix, sender, 554)
    reply = "<** 554 5.7.1 <zhang.wei@corp.example>: Recipient address rejected: "
    assert reply + "Sender blocked by compliance policy" in rejected
    assert postfix.send(sender.upper()).code == 554  # the case of an address does not get it through
    assert postfix.send("colleague@partner.example").code == 250
    assert policy.metric("cm_postfix_requests_total", answer="reject") >= 2

    listed = cli(worker, "actions", "list", "--state", "active", "--format", "json")
    assert listed.returncode == 0, listed.stderr
    assert action["action_id"] in {orjson.loads(line)["action_id"] for line in listed.stdout.splitlines()}

    decided = cli(
        worker,
        "actions",
        "decide",
        action["action_id"],
        "revoke",
        "--by",
        "it",
        "--comment",
        "sender cleared",
    )
    assert decided.returncode == 0, decided.stderr
    assert "revoked" in decided.stdout
    until_code(postfix, sender, 250)
    revoked = action_for(worker, sender, "revoked")
    assert revoked is not None and (revoked["decided_by"], revoked["comment"]) == ("it", "sender cleared")

    def audited() -> dict | None:
        records = orjson.loads(worker.get(f"/api/v1/audit?alert_id={action['alert_id']}", role="auditor"))
        found = [r for r in records["records"] if r["action"] == "revoke_action"]
        return found[0] if found else None

    record = worker.wait_for(audited, what="the revocation in the audit log")
    assert (record["user"], record["role"], record["action_id"]) == ("it", "it", action["action_id"])
    assert (record["from_status"], record["to_status"]) == ("active", "revoked")

    again = cli(worker, "actions", "decide", action["action_id"], "revoke", "--by", "it")
    assert again.returncode == 1 and "revoked" in again.stderr  # a revoked action stays revoked
    stranger = cli(worker, "actions", "decide", action["action_id"], "revoke", "--by", "officer")
    assert stranger.returncode == 2  # an officer may not decide IT actions


@pytest.fixture(scope="module")
def approval_worker(broker, tmp_path_factory) -> Iterator[WorkerProcess]:
    """A worker whose policy asks for approval and blocks for 20 seconds (on Apache Kafka only:
    the rest of this module runs on both brokers, and the suite's time is counted)."""
    if broker.kind != "kafka":
        pytest.skip("the approval and expiry flow runs on Apache Kafka")
    data = tmp_path_factory.mktemp(f"approval-{broker.kind}")
    policy = data / "approval.yaml"
    policy.write_text(APPROVAL_POLICY.format(block_for="20s"), encoding="utf-8")
    process = WorkerProcess(
        broker, data, app_id="cm-approval", topic_prefix="approval-", policy=policy
    ).start()
    yield process
    process.stop()


def test_with_approval_mail_passes_until_it_approves_and_again_after_expiry(approval_worker):
    worker = approval_worker
    with mail_system_of(worker) as (policy, postfix):
        sender = collection_letter(worker)
        pending = worker.wait_for(
            lambda: action_for(worker, sender, "pending_approval"), what="pending action"
        )
        assert postfix.send(sender).code == 250  # pending blocks nothing

        path = f"/api/v1/actions/{pending['action_id']}/decision"
        status, _, _ = worker.request(path, role="officer", method="POST", body={"decision": "approve"})
        assert status == 403
        status, body, _ = worker.request("/api/v1/actions?state=pending_approval", role="it")
        assert status == 200 and pending["action_id"] in {
            a["action_id"] for a in orjson.loads(body)["actions"]
        }
        status, body, _ = worker.request(
            path, role="it", method="POST", body={"decision": "approve", "comment": "agency confirmed"}
        )
        assert status == 200, body
        approved = orjson.loads(body)["action"]
        assert (approved["state"], approved["decided_by"]) == ("active", "it")
        status, _, _ = worker.request(path, role="it", method="POST", body={"decision": "approve"})
        assert status == 409
        status, _, _ = worker.request(
            "/api/v1/actions/nope/decision", role="it", method="POST", body={"decision": "approve"}
        )
        assert status == 404
        status, _, _ = worker.request(path, role="it", method="POST", body={"decision": "maybe"})
        assert status == 400

        rejected = until_code(postfix, sender, 554)
        assert "<** 554 5.7.1 " in rejected and "Blocked by the compliance policy of corp.example" in rejected

        expires = datetime.fromisoformat(approved["expires_at"])
        time.sleep(max(0.0, (expires - datetime.now(expires.tzinfo)).total_seconds()))
        until_code(postfix, sender, 250, timeout=10)  # expiry is honoured to the second
        expired = worker.wait_for(lambda: action_for(worker, sender, "expired"), what="expired action")
        assert expired["action_id"] == pending["action_id"]
        assert policy.metric("cm_postfix_blocks") == 0


def test_the_policy_service_answers_postfix_in_its_protocol(worker, tmp_path: Path):
    """Several requests on one connection, as Postfix reuses it; an empty sender is DUNNO."""
    import socket

    policy = PolicyService(worker.env, worker.data_dir, fail="closed")
    try:
        with socket.create_connection(("127.0.0.1", policy.port), timeout=10) as conn:
            stream = conn.makefile("rwb")
            for sender in (b"a@b.example", b""):
                stream.write(b"request=smtpd_access_policy\nprotocol_state=RCPT\nsender=" + sender + b"\n\n")
                stream.flush()
                assert stream.readline() == b"action=DUNNO\n" and stream.readline() == b"\n"
        listening = subprocess.run(
            ["ss", "-Hltn", f"sport = :{policy.port}"], capture_output=True, text=True, check=True
        ).stdout.split()
        assert listening[2] == "1024"  # the accept backlog (ss shows it as Send-Q) of docs/performance.md
    finally:
        policy.stop()


def test_what_postfix_does_when_kafka_or_the_policy_service_is_down(tmp_path: Path):
    """The behaviours docs/it-integration.md describes, on a broker of this test's own."""
    broker = start_tansu(tmp_path / "tansu")
    sender = "notice@agency-down.example"
    now = datetime.now(UTC)
    block = Action(
        action_id="a-down",
        kind="block_sender",
        target=sender,
        alert_id="al",
        requested_at=now,
        expires_at=now + timedelta(hours=1),
        reason="test",
    )
    produce(broker.bootstrap, [("compliance.actions", block.model_dump_json().encode(), block.action_id)])
    env = {**os.environ, "CM_KAFKA_BROKER": broker.url}
    policy = PolicyService(env, tmp_path)
    asks = PostfixServer(policy.port).start()
    allows = PostfixServer(
        policy.port, before_policy="check_sender_access hash:{root}/etc/compliance_allow, "
    )
    allows.allow(sender)
    allows.start()
    lenient = PostfixServer(policy.port, extra="smtpd_policy_service_default_action = DUNNO").start()
    try:
        assert asks.send(sender).code == 554
        assert allows.send(sender).code == 250  # the emergency allow map comes before the service
        broker.stop()
        assert asks.send(sender).code == 554  # Kafka down: the blocks held still answer
        policy.stop()
        deferred = asks.send(sender)
        assert deferred.code == 451 and "4.3.5 " in deferred.transcript  # the service down: Postfix defers
        assert lenient.send(sender).code == 250  # unless its default action lets mail through
    finally:
        for server in (asks, allows, lenient):
            server.stop()
        if policy.process.poll() is None:
            policy.stop()
        broker.stop()


def test_the_worker_creates_the_actions_topic_compacted(worker):
    from aiokafka.admin import AIOKafkaAdminClient

    from streams.topics import cleanup_policy

    async def read() -> str | None:
        admin = AIOKafkaAdminClient(bootstrap_servers=worker.broker.bootstrap)
        await admin.start()
        try:
            return await cleanup_policy(admin, worker.topic("actions"))
        finally:
            await admin.close()

    policy = asyncio.run(read())
    assert policy == "compact", policy
