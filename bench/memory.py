"""``compliance-monitor bench memory``: the worker's resident memory with N distinct keys of state.

A real worker starts on fresh topics (embedded Tansu unless a broker is configured); once it
is ready its RSS (``process_resident_memory_bytes`` of its ``/metrics``) is read, then N events
are produced whose keys are all distinct, one new key each, that create detector state and
raise no alert, round-robin over three key families:

- ``harassment``: an inbound call from a new external mobile number to an office line
  (one call: below every count, not a collector's number, no transcript);
- ``conduct``: a collection agency's call to a new debtor, answered by no one, at 10:xx local
  time (outside the quiet hours, one attempt, no transcript);
- ``mail``: a plain message from a new outside sender domain (no collection terms, not a
  collector's domain).

Once the worker has read, detected and stored them all (``bench.pipeline._Drained``) its RSS is
read again. Then it is poked with a duplicate of the first event until its next sweep of idle
keys reports the live keys (``cm_state_keys``, a gauge set at each sweep, every
``CM_STATE_SWEEP_INTERVAL`` seconds after a batch; a duplicate adds no key), and its RSS is read
once more. All event times lie within one hour, so no key is idle past its family's horizon
and the sweep deletes none: the report shows what N live keys cost. The bench process' own
memory is not measured.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from bench.pipeline import _Drained, _Worker, embedded_unless, produce_all
from simulator.company import AGENCY_PBX, TZ
from sinks import metrics
from streams.settings import Settings, Topics

FAMILIES = ("harassment", "conduct", "mail")
"""The key families the events fill, in the order they take turns."""
SOURCE = "bench/memory"
OFFICE_LINE = "+862160000001"
RSS_METRIC = "process_resident_memory_bytes"


def base_time(now: datetime | None = None) -> datetime:
    """10:00 local time of yesterday: outside the quiet hours, in the past on every clock."""
    local = (now or datetime.now(TZ)).astimezone(TZ) - timedelta(days=1)
    return local.replace(hour=10, minute=0, second=0, microsecond=0)


def memory_events(keys: int, base: datetime | None = None) -> Iterator[tuple[str, bytes]]:
    """``keys`` events as ``(type, CloudEvents JSON)``, each with a key of its own in its family
    (``FAMILIES``, in turn); none raises an alert. Event times spread over an hour from ``base``."""
    start = base or base_time()
    times = [(start + timedelta(seconds=s)).isoformat() for s in range(3600)]
    call = {
        "specversion": "1.0",
        "source": SOURCE,
        "type": "telephony.call.completed",
    }
    mail = {
        "specversion": "1.0",
        "source": SOURCE,
        "type": "mail.message.received",
    }
    for i in range(keys):
        turn, n = i % 3, i // 3
        at = times[i % 3600]
        if turn == 0:  # harassment: key = the external number
            data: dict[str, Any] = {
                "call_id": f"mem-h{n}",
                "caller": f"+86137{n:08d}",
                "callee": OFFICE_LINE,
                "direction": "inbound",
                "duration_s": 30,
                "answered": True,
            }
            event = {**call, "id": f"mem-{i}", "time": at, "data": data}
        elif turn == 1:  # conduct: key = the debtor
            data = {
                "call_id": f"mem-c{n}",
                "caller": AGENCY_PBX,
                "callee": f"+86138{n:08d}",
                "direction": "outbound",
                "answered": False,
                "collection": {
                    "agent_id": "A1",
                    "case_id": f"K-mem-{n}",
                    "debtor_id": f"D-mem-{n}",
                    "contact_role": "debtor",
                },
            }
            event = {**call, "id": f"mem-{i}", "time": at, "data": data}
        else:  # mail: key = the sender's domain
            data = {
                "message_id": f"<mem-{n}@d{n}.example.net>",
                "from_address": f"news@d{n}.example.net",
                "to": ["staff@acme.example.cn"],
                "subject": "Product news",
                "body_text": "Our new catalogue is online.",
            }
            event = {**mail, "id": f"mem-{i}", "time": at, "data": data}
        yield event["type"], orjson.dumps(event)


def rss(text: str) -> float:
    """``process_resident_memory_bytes`` of a ``/metrics`` page (0 if the page has none)."""
    for line in text.splitlines():
        if line.startswith(RSS_METRIC + " "):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def run_memory_bench(
    settings: Settings,
    keys: int,
    broker_configured: bool,
    say: Callable[[str], None],
    sweep_interval: float = 60.0,
) -> dict[str, Any]:
    """Fill a real worker with ``keys`` distinct keys of detector state; report its RSS before
    and after, per key, and the live keys its next sweep counts. ``sweep_interval``: the
    worker's ``CM_STATE_SWEEP_INTERVAL`` (60 s, its default, unless a test wants it sooner)."""
    work = Path(tempfile.mkdtemp(prefix="cm-bench-memory-"))
    settings, broker = embedded_unless(broker_configured, settings, work)
    tag = uuid.uuid4().hex[:6]
    topics = Topics(**{name: f"mem{tag}.{value}" for name, value in Topics().model_dump().items()})
    settings = settings.model_copy(update={"topics": topics})
    base = base_time()
    first = next(memory_events(1, base))
    try:
        from streams.topics import ensure_topics

        asyncio.run(ensure_topics(settings))
        worker = _Worker(settings, work / "worker", {"CM_STATE_SWEEP_INTERVAL": str(sweep_interval)})
        try:
            worker.wait(lambda: orjson.loads(worker.get("/healthz"))["ready"], 180, "the worker")
            time.sleep(2)  # let start-up settle (imports done, first fetches in flight)
            rss_start = rss(worker.get("/metrics").decode())
            say(f"worker ready, RSS {rss_start / 2**20:,.0f} MiB; producing {keys:,} events")
            started = time.perf_counter()
            sent, produce_s = asyncio.run(produce_all(settings, memory_events(keys, base)))
            say(f"produced {sent:,} in {produce_s:.1f} s; waiting for the worker")
            peak = [rss_start]
            drained = _Drained(worker, keys)

            def done() -> bool:
                page = worker.get("/metrics").decode()
                peak.append(rss(page))
                return drained() and metrics.totals(page).get("cm_sink_pending_rows", 0) == 0

            finished = worker.wait(done, max(600.0, keys / 500), "the worker to drain", every=0.5)
            seconds = finished - started
            page = worker.get("/metrics").decode()
            rss_after, totals = rss(page), metrics.totals(page)
            say(f"drained in {seconds:.1f} s, RSS {rss_after / 2**20:,.0f} MiB; waiting for a sweep")
            state_keys = _sweep_count(settings, worker, first, keys, sweep_interval)
            rss_swept = rss(worker.get("/metrics").decode())
        finally:
            worker.stop()
    finally:
        if broker:
            broker.stop()
    grown = rss_after - rss_start
    return {
        "keys": keys,
        "families": list(FAMILIES),
        "rss_bytes_start": int(rss_start),
        "rss_bytes_after": int(rss_after),
        "rss_bytes_per_key": round(grown / keys, 1) if keys else None,
        "rss_bytes_max": int(max(peak)),
        "rss_bytes_after_sweep": int(rss_swept),
        "state_keys": state_keys,
        "alerts": int(totals.get("cm_alerts_total", 0)),
        "keyed_copies": int(totals.get("cm_keyed_sent_total", 0)),
        "seconds": round(seconds, 1),
        "produce_seconds": round(produce_s, 1),
        "sweep_interval_s": sweep_interval,
        "broker": "tansu" if broker else settings.kafka_broker,
        "partitions": settings.partitions,
        "work_dir": str(work),
    }


def _sweep_count(
    settings: Settings, worker: _Worker, poke: tuple[str, bytes], keys: int, sweep_interval: float
) -> int | None:
    """Live keys as the worker's next sweep counts them (``cm_state_keys``), or None if no sweep
    reported all of them in time. The sweep runs after a batch once ``sweep_interval`` has
    passed, so a duplicate of the first event (no new key) is sent every 2 s until one has."""
    deadline = time.monotonic() + sweep_interval + 120
    while time.monotonic() < deadline:
        live = metrics.totals(worker.get("/metrics").decode()).get("cm_state_keys", 0)
        if live >= keys:
            return int(live)
        asyncio.run(produce_all(settings, iter([poke])))
        time.sleep(2)
    return None
