"""``bench``: what one worker carries, end to end, against two references on the same events.

0. Before any broker starts: ``backtest`` over a simulated file of at least 100,000 events,
   one job (``backtest_rate``) and one per core (``backtest_parallel_rate``), and ``orjson``
   alone over its lines (``parse_floor_rate``): ``bench.backtest``.
1. N simulated events of every type are produced to fresh input topics.
2. ``bare_rate``: one aiokafka consumer reads and JSON-parses them (one Python process' ceiling).
3. ``faust_floor_rate``: no-op Faust agents with the worker's settings and patches to Faust;
   ``stock_floor_rate``: the same on stock Faust (what Faust itself costs).
4. ``pipeline_rate``: a real worker (validation, every rule, ClickHouse sink) from the moment
   it owns its partitions until every event, keyed copy and alert is through.
5. Latency: with the worker idle, events that raise an alert at once are produced one by one;
   the time from produce to the alert being queryable in ClickHouse gives p50/p99.
6. The floors once more: ``faust_floor_rate`` is the mean of the runs before and after the
   pipeline, so that a machine whose speed drifts during the bench (shared cores do) moves
   both sides of ``floor_ratio`` alike; both runs are in ``faust_floor_rates``.
   ``stock_floor_rate`` (``stock_floor_rates``) is the same for a no-op agent of stock Faust:
   Faust's defaults and none of the project's patches (``bench.floor --stock``).
7. ``quix_floor_rate``: a no-op Quix Streams app on the same topics, when its interpreter
   exists (``bench.quix``; None otherwise).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from bench.backtest import run_backtest_bench
from bench.quix import quix_floor_rate
from infra.brokers import BrokerProcess, free_port, start_tansu
from simulator import Simulator
from simulator.company import AGENCY_PBX, TZ
from sinks import metrics
from streams.console.users import add_user
from streams.process import spawn_worker
from streams.settings import Settings, Topics

HOPS = 2
"""Hops of an input event: its input topic (the input reader), then the keyed repartition topic (Faust)."""
LATENCY_SAMPLES = 40


def _env(settings: Settings, extra: dict[str, str]) -> dict[str, str]:
    """The ``CM_*`` variables that point a child process at the bench's broker and topics."""
    topics = {f"CM_TOPICS__{name.upper()}": value for name, value in settings.topics.model_dump().items()}
    return {
        "CM_KAFKA_BROKER": settings.kafka_broker,
        "CM_PARTITIONS": str(settings.partitions),
        **topics,
        **extra,
    }


async def produce_all(settings: Settings, events: Iterable[tuple[str, bytes]]) -> tuple[int, float]:
    """Send every ``(type, value)`` to its input topic in large producer batches; (count, seconds)."""
    from aiokafka import AIOKafkaProducer

    producer = AIOKafkaProducer(
        bootstrap_servers=settings.broker_servers,
        linger_ms=20,
        max_batch_size=256_000,
        **settings.kafka.aiokafka_options(),
    )
    await producer.start()
    started, count = time.perf_counter(), 0
    try:
        for event_type, value in events:
            await producer.send(settings.topics.for_event(event_type), value)
            count += 1
        await producer.flush()
    finally:
        await producer.stop()
    return count, time.perf_counter() - started


async def _produce(settings: Settings, events: list[bytes], types: list[str]) -> float:
    """Seconds to send ``events`` (of ``types``) to their input topics."""
    return (await produce_all(settings, zip(types, events, strict=True)))[1]


async def _bare_rate(settings: Settings, expected: int) -> float:
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(
        *settings.topics.inputs(),
        bootstrap_servers=settings.broker_servers,
        **settings.kafka.aiokafka_options(),
        group_id=f"bench-bare-{uuid.uuid4().hex}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        max_partition_fetch_bytes=4 << 20,
    )
    await consumer.start()
    count, first = 0, 0.0
    try:
        while count < expected:
            batch = await consumer.getmany(timeout_ms=1000, max_records=10_000)
            for records in batch.values():
                if records and not first:
                    first = time.perf_counter()
                for record in records:
                    orjson.loads(record.value)
                count += len(records)
    finally:
        await consumer.stop()
    return expected / (time.perf_counter() - first)


def _floor_rate(settings: Settings, expected: int, data_dir: Path, stock: bool = False) -> float:
    """Events/s of no-op Faust agents: the worker's app, or with ``stock`` Faust's (``bench.floor``)."""
    env = _env(
        settings,
        {
            "CM_APP_ID": f"bench-floor-{uuid.uuid4().hex[:8]}",
            "CM_DATA_DIR": str(data_dir),
            "CM_WEB_PORT": str(free_port()),
        },
    )
    data_dir.mkdir(parents=True, exist_ok=True)
    result = data_dir / "floor.json"
    with (data_dir / "floor.log").open("wb") as log:
        subprocess.run(  # noqa: S603 - our own module, same interpreter
            [sys.executable, "-m", "bench.floor", str(expected), str(result), *(["--stock"] * stock)],
            env={**os.environ, **env},
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=900,
            check=True,
        )
    return float(orjson.loads(result.read_bytes())["rate"])


class _Worker:
    def __init__(self, settings: Settings, data_dir: Path, env: dict[str, str] | None = None) -> None:
        """A worker on ``settings``' broker and topics; ``env``: more ``CM_*`` settings for it."""
        self.port = free_port()
        users = data_dir / "users.yaml"
        users.unlink(missing_ok=True)
        self.token = add_user(users, "bench", ["officer"], token=True)
        overrides = {
            "CM_APP_ID": f"bench-{uuid.uuid4().hex[:8]}",
            "CM_WEB_PORT": str(self.port),
            "CM_USERS": str(users),
            "CM_FLUSH_INTERVAL": "0.2",
            **(env or {}),
        }
        # no CM_PSEUDONYM_KEY here: spawn_worker keeps the user's, or generates one for the run
        self.process = spawn_worker(data_dir, _env(settings, overrides), settings.policy, loglevel="warning")

    def get(self, path: str) -> bytes:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", headers={"Authorization": f"Bearer {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - http://127.0.0.1
            return response.read()

    def metrics(self) -> dict[str, float]:
        return metrics.totals(self.get("/metrics").decode())

    def wait(
        self, check: Callable[[], bool], timeout: float, what: str, every: float | Callable[[], float] = 0.05
    ) -> float:
        """``time.perf_counter()`` once ``check()`` holds, asked every ``every`` seconds (or ``every()``)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"the bench worker exited ({self.process.returncode}) while waiting for {what}"
                )
            try:
                if check():
                    return time.perf_counter()
            except OSError:
                pass
            time.sleep(every() if callable(every) else every)
        raise TimeoutError(f"bench worker: timed out waiting for {what}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()


class _Drained:
    """Whether the worker has read ``expected`` events and detected and stored what they made.

    A read of /metrics costs the worker's loop about 5 ms, so while input is still being read
    it is asked every ``EARLY`` seconds; once all input is read, every ``LATE`` seconds, so
    that the end of a run is found within 0.05 s rather than 0.25 s.
    """

    EARLY, LATE = 0.25, 0.05

    def __init__(self, worker: _Worker, expected: int) -> None:
        self.worker, self.expected = worker, expected
        self.read_all = False

    def __call__(self) -> bool:
        m = self.worker.metrics()
        self.read_all = m.get("cm_events_consumed_total", 0) >= self.expected
        detected = m.get("cm_detector_seconds_count", 0)
        stored = m.get("cm_sink_rows_total", 0)
        return (
            self.read_all
            and detected >= m.get("cm_keyed_sent_total", 0)
            and stored >= m.get("cm_alerts_total", 0)
        )

    def every(self) -> float:
        """Seconds until the next question."""
        return self.LATE if self.read_all else self.EARLY


def probe_event(debtor: str, at: datetime) -> dict[str, Any]:
    """A collection call to ``debtor`` at ``at`` (a night hour): it raises a quiet-hours alert at once."""
    return {
        "specversion": "1.0",
        "id": f"lat-{debtor}",
        "source": "bench/latency",
        "type": "telephony.call.completed",
        "time": at.isoformat(),
        "data": {
            "call_id": debtor,
            "caller": AGENCY_PBX,
            "callee": "+8613900000000",
            "direction": "outbound",
            "answered": False,
            "collection": {
                "agent_id": "A1",
                "case_id": f"K-{debtor}",
                "debtor_id": debtor,
                "contact_role": "debtor",
            },
        },
    }


def last_night() -> datetime:
    """23:00 yesterday in the simulated company's time zone: inside the quiet hours."""
    return datetime.now(TZ).replace(hour=23, minute=0, second=0, microsecond=0) - timedelta(days=1)


def _latency(settings: Settings, worker: _Worker) -> list[float]:
    """Produce-to-queryable times of alerts raised by single events (a call at 23:00)."""
    samples = []
    night = last_night()
    for i in range(LATENCY_SAMPLES):
        debtor = f"D-lat-{uuid.uuid4().hex[:10]}"
        event = probe_event(debtor, night + timedelta(minutes=i))
        started = time.perf_counter()
        asyncio.run(_produce(settings, [orjson.dumps(event)], [event["type"]]))

        def arrived(debtor: str = debtor) -> bool:
            rows = orjson.loads(worker.get("/api/v1/alerts?limit=20&rule_id=conduct.quiet_hours"))["alerts"]
            return any(row["subject"]["id"] == debtor for row in rows)

        samples.append(worker.wait(arrived, 30, "a latency alert") - started)
    return samples


def embedded_unless(
    configured: bool, settings: Settings, work: Path
) -> tuple[Settings, BrokerProcess | None]:
    """``settings`` on an embedded Tansu under ``work`` (and that broker), unless a broker is configured."""
    if configured:
        return settings, None
    broker = start_tansu(work / "tansu")
    return settings.model_copy(update={"kafka_broker": broker.url}), broker


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile of ``values`` (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def run_bench(
    settings: Settings, events: int, broker_configured: bool, say: Callable[[str], None]
) -> dict[str, Any]:
    """Run the whole benchmark; return the report (the JSON keys of cli.md)."""
    work = Path(tempfile.mkdtemp(prefix="cm-bench-"))
    backtest = run_backtest_bench(settings, events, work / "backtest", say)
    settings, broker = embedded_unless(broker_configured, settings, work)
    tag = uuid.uuid4().hex[:6]
    topics = Topics(**{name: f"bench{tag}.{value}" for name, value in Topics().model_dump().items()})
    settings = settings.model_copy(update={"topics": topics})
    try:
        from streams.topics import ensure_topics

        asyncio.run(ensure_topics(settings))
        say(f"generating {events} events")
        generated = list(itertools.islice(Simulator(seed=11).events(), events))
        values = [orjson.dumps(e) for e in generated]
        produce_s = asyncio.run(_produce(settings, values, [e["type"] for e in generated]))
        say(f"produced in {produce_s:.1f} s; bare consumer")
        bare = asyncio.run(_bare_rate(settings, events))
        say(f"bare {bare:,.0f}/s; Faust no-op floors")
        floors = [_floor_rate(settings, events, work / "floor")]
        stock_floors = [_floor_rate(settings, events, work / "stock-floor", stock=True)]
        say(f"floor {floors[0]:,.0f}/s, stock Faust {stock_floors[0]:,.0f}/s; pipeline")
        worker = _Worker(settings, work / "pipeline")
        try:
            started = worker.wait(lambda: orjson.loads(worker.get("/healthz"))["ready"], 180, "the worker")
            drained = _Drained(worker, events)
            done = worker.wait(drained, 1800, "the pipeline to drain", every=drained.every)
            pipeline = events / (done - started)
            say(f"pipeline {pipeline:,.0f}/s; latency")
            latencies = _latency(settings, worker)
        finally:
            worker.stop()
        say("Faust no-op floors again")
        stock_floors.append(_floor_rate(settings, events, work / "stock-floor-after", stock=True))
        floors.append(_floor_rate(settings, events, work / "floor-after"))
        say(f"floor {floors[1]:,.0f}/s, stock Faust {stock_floors[1]:,.0f}/s; Quix Streams floor")
        quix = quix_floor_rate(settings, events, work / "quix")
        say(f"Quix Streams {quix:,.0f}/s" if quix else "Quix Streams: none (make quix-floor)")
    finally:
        if broker:
            broker.stop()
    floor, stock_floor = statistics.mean(floors), statistics.mean(stock_floors)
    return {
        "events": events,
        "pipeline_rate": round(pipeline, 1),
        "bare_rate": round(bare, 1),
        "faust_floor_rate": round(floor, 1),
        "faust_floor_rates": [round(rate, 1) for rate in floors],
        "ratio": round(pipeline / bare, 4),
        "floor_ratio": round(pipeline / floor, 4),
        "stock_floor_rate": round(stock_floor, 1),
        "stock_floor_rates": [round(rate, 1) for rate in stock_floors],
        "stock_floor_ratio": round(pipeline / stock_floor, 4),
        "quix_floor_rate": round(quix, 1) if quix else None,
        "hops": HOPS,
        "latency_p50_ms": round(statistics.median(latencies) * 1000, 1),
        "latency_p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
        **backtest,
        "broker": "tansu" if broker else settings.kafka_broker,
        "partitions": settings.partitions,
        "work_dir": str(work),
    }
