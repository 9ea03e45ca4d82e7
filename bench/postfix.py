"""``compliance-monitor bench postfix``: the Postfix policy service under many connections.

A real ``postfix-policy`` process follows an actions topic holding ``blocks`` active blocks;
``connections`` clients, each on one reused connection as Postfix's smtpd processes do, send
policy requests back to back (one in ten from a blocked sender). Reports requests per second
and latency percentiles. The load generator runs on the same machine (one asyncio process),
so on two cores it takes CPU from the service: the figures are a floor.
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaProducer

from bench.pipeline import embedded_unless, percentile
from events import Action
from infra.brokers import free_port
from streams.settings import Settings, Topics


async def _publish_blocks(settings: Settings, count: int) -> list[str]:
    """``count`` active ``block_sender`` actions on the actions topic; their senders."""
    now = datetime.now(UTC)
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.broker_servers, linger_ms=20, **settings.kafka.aiokafka_options()
    )
    await producer.start()
    senders = []
    try:
        for i in range(count):
            sender = f"collector{i}@agency{i % 97}.example"
            action = Action(
                action_id=uuid.uuid4().hex,
                kind="block_sender",
                target=sender,
                alert_id=f"bench-{i}",
                requested_at=now,
                expires_at=now + timedelta(days=1),
                reason="bench",
            )
            await producer.send(
                settings.topics.actions, action.model_dump_json().encode(), key=action.action_id.encode()
            )
            senders.append(sender)
        await producer.flush()
    finally:
        await producer.stop()
    return senders


def _ready(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


async def _client(
    port: int, requests: int, blocked: list[str], latencies: list[float], answers: dict[str, int]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    rng = random.Random(port + len(latencies))  # noqa: S311 - a workload, not a secret
    try:
        for i in range(requests):
            sender = rng.choice(blocked) if i % 10 == 0 else f"someone{rng.randrange(10**6)}@partner.example"
            request = (
                "request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\n"
                f"client_address=192.0.2.{i % 250}\nclient_name=mx.partner.example\n"
                f"sender={sender}\nrecipient=staff{i}@corp.example\n\n"
            ).encode()
            started = time.perf_counter()
            writer.write(request)
            answer = await reader.readuntil(b"\n\n")
            latencies.append(time.perf_counter() - started)
            kind = "reject" if answer.startswith(b"action=REJECT") else "dunno"
            answers[kind] = answers.get(kind, 0) + 1
    finally:
        writer.close()


async def _load(
    port: int, connections: int, requests: int, blocked: list[str]
) -> tuple[float, list[float], dict[str, int]]:
    latencies: list[float] = []
    answers: dict[str, int] = {}
    per_connection = max(1, requests // connections)
    started = time.perf_counter()
    await asyncio.gather(
        *(_client(port, per_connection, blocked, latencies, answers) for _ in range(connections))
    )
    return time.perf_counter() - started, latencies, answers


def run_postfix_bench(
    settings: Settings,
    broker_configured: bool,
    connections: int,
    requests: int,
    blocks: int,
    say: Callable[[str], None],
) -> dict[str, Any]:
    """Run the benchmark; return the report."""
    import uvloop

    work = Path(tempfile.mkdtemp(prefix="cm-bench-postfix-"))
    settings, broker = embedded_unless(broker_configured, settings, work)
    tag = uuid.uuid4().hex[:6]
    settings = settings.model_copy(update={"topics": Topics(actions=f"bench{tag}.actions")})
    service: subprocess.Popen[bytes] | None = None
    try:
        say(f"publishing {blocks} blocks")
        blocked = asyncio.run(_publish_blocks(settings, blocks))
        port, metrics_port = free_port(), free_port()
        env = {
            **os.environ,
            "CM_KAFKA_BROKER": settings.kafka_broker,
            "CM_TOPICS__ACTIONS": settings.topics.actions,
        }
        service = subprocess.Popen(  # noqa: S603 - our own CLI
            [
                sys.executable,
                "-m",
                "streams",
                "postfix-policy",
                "--listen",
                f"127.0.0.1:{port}",
                "--metrics",
                f"127.0.0.1:{metrics_port}",
            ],
            env=env,
            stdout=(work / "policy.log").open("ab"),
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 120
        while not _ready(metrics_port):
            if service.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"the policy service did not load its block list; see {work / 'policy.log'}"
                )
            time.sleep(0.2)
        say(f"{connections} connections, {requests} requests")
        uvloop.install()
        elapsed, latencies, answers = asyncio.run(_load(port, connections, requests, blocked))
    finally:
        if service is not None:
            service.terminate()
            service.wait(30)
        if broker:
            broker.stop()
    return {
        "connections": connections,
        "requests": len(latencies),
        "blocks": blocks,
        "requests_per_s": round(len(latencies) / elapsed, 1),
        "latency_p50_ms": round(statistics.median(latencies) * 1000, 2),
        "latency_p99_ms": round(percentile(latencies, 0.99) * 1000, 2),
        "latency_max_ms": round(max(latencies) * 1000, 2),
        "answers": answers,
        "broker": "tansu" if broker else settings.kafka_broker,
        "work_dir": str(work),
    }
