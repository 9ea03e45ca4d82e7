"""``bench --rate R --duration S``: latency under a steady load.

A worker owns fresh topics; simulated events of every type are produced at ``R`` events per
second for ``S`` seconds, paced every 20 ms. Four times a second a probe joins them: a
collection call at a night hour, which raises a quiet-hours alert at once. A poller asks the
worker's alert API for the probes' alerts ten times a second; a probe's latency is the time
from its produce call to the poll that first returns its alert, i.e. queryable in ClickHouse.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import statistics
import tempfile
import threading
import time
import urllib.parse
import uuid
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson

from bench.memory import rss
from bench.pipeline import _Drained, _Worker, embedded_unless, last_night, percentile, probe_event
from simulator import Simulator
from streams.settings import Settings, Topics

TICK_S = 0.02
PROBES_PER_S = 4
POLL_S = 0.1
LATE_S = 30.0
"""How long after the load a probe's alert may still arrive; later ones count as missed."""


class _Probes:
    """Send times of the probes, and when each one's alert was first returned by the API."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.sent: dict[str, float] = {}
        self.seen: dict[str, float] = {}
        self.lock = threading.Lock()

    def outstanding(self) -> int:
        with self.lock:
            return len(self.sent) - len(self.seen)

    def poll(self, worker: _Worker) -> None:
        query = urllib.parse.urlencode({"rule_id": "conduct.quiet_hours", "q": self.prefix, "limit": 200})
        rows = orjson.loads(worker.get(f"/api/v1/alerts?{query}"))["alerts"]
        now = time.perf_counter()
        with self.lock:
            for row in rows:
                debtor = row["subject"]["id"]
                if debtor in self.sent and debtor not in self.seen:
                    self.seen[debtor] = now

    def latencies(self) -> list[float]:
        return [self.seen[debtor] - sent for debtor, sent in self.sent.items() if debtor in self.seen]


async def _produce_at(settings: Settings, rate: int, duration: float, probes: _Probes) -> tuple[int, float]:
    """Produce ``rate`` events/s for ``duration`` s with probes among them; (events sent, seconds)."""
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(
        bootstrap_servers=settings.broker_servers, linger_ms=5, **settings.kafka.aiokafka_options()
    )
    events = Simulator(seed=17).events()
    night = last_night()
    await producer.start()
    sent = n_probes = 0
    started = time.perf_counter()
    try:
        while (elapsed := time.perf_counter() - started) < duration:
            for event in itertools.islice(events, max(0, int(rate * elapsed) - sent)):
                await producer.send(settings.topics.for_event(event["type"]), orjson.dumps(event))
                sent += 1
            if n_probes < elapsed * PROBES_PER_S:
                debtor = f"{probes.prefix}{n_probes}"
                probe = probe_event(debtor, night + timedelta(seconds=n_probes))
                with probes.lock:
                    probes.sent[debtor] = time.perf_counter()
                await producer.send(settings.topics.for_event(probe["type"]), orjson.dumps(probe))
                n_probes += 1
            await asyncio.sleep(TICK_S)
        await producer.flush()
    finally:
        await producer.stop()
    return sent, time.perf_counter() - started


def run_load_bench(
    settings: Settings, rate: int, duration: float, broker_configured: bool, say: Callable[[str], None]
) -> dict[str, Any]:
    """Hold ``rate`` events/s for ``duration`` s against one worker; report produce-to-queryable latency."""
    work = Path(tempfile.mkdtemp(prefix="cm-bench-load-"))
    settings, broker = embedded_unless(broker_configured, settings, work)
    tag = uuid.uuid4().hex[:6]
    topics = Topics(**{name: f"load{tag}.{value}" for name, value in Topics().model_dump().items()})
    settings = settings.model_copy(update={"topics": topics})
    probes = _Probes(f"D-load-{tag}-")
    try:
        from streams.topics import ensure_topics

        asyncio.run(ensure_topics(settings))
        worker = _Worker(settings, work / "worker")
        try:
            worker.wait(lambda: orjson.loads(worker.get("/healthz"))["ready"], 180, "the worker")
            say(f"worker ready; {rate} events/s for {duration:g} s")
            stop = threading.Event()

            def poll() -> None:
                while not stop.wait(POLL_S):
                    with contextlib.suppress(OSError):  # a poll that times out: the next one asks again
                        probes.poll(worker)

            poller = threading.Thread(target=poll, daemon=True)
            poller.start()
            sent, seconds = asyncio.run(_produce_at(settings, rate, duration, probes))
            load_end = time.perf_counter()
            expected = sent + len(probes.sent)
            drained = worker.wait(_Drained(worker, expected), 600, "the pipeline to drain", every=0.25)
            deadline = time.perf_counter() + LATE_S
            while probes.outstanding() and time.perf_counter() < deadline:
                time.sleep(POLL_S)
            stop.set()
            poller.join()
            resident = rss(worker.get("/metrics").decode())
        finally:
            worker.stop()
    finally:
        if broker:
            broker.stop()
    latencies = probes.latencies()
    say(f"{len(latencies)} of {len(probes.sent)} probes seen")
    return {
        "load_rate": rate,
        "load_duration_s": duration,
        "produced_rate": round(sent / seconds, 1),
        "drained_after_s": round(max(0.0, drained - load_end), 2),
        "latency_p50_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
        "latency_p99_ms": round(percentile(latencies, 0.99) * 1000, 1) if latencies else None,
        "latency_max_ms": round(max(latencies) * 1000, 1) if latencies else None,
        "latency_samples": len(latencies),
        "probes_missed": len(probes.sent) - len(latencies),
        "worker_rss_bytes": int(resident),
        "broker": "tansu" if broker else settings.kafka_broker,
        "partitions": settings.partitions,
        "work_dir": str(work),
    }
