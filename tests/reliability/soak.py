"""Soak: a worker fed simulated traffic at a steady rate, its memory and state sampled each minute.

    python -m tests.reliability.soak --minutes 30 --rate 1000 --out soak.jsonl

Starts Apache Kafka (the pinned jars) and a worker on the demo policy, produces
``simulate`` traffic at ``--rate`` events/s, and every minute records the worker's RSS, the
size of its RocksDB state and of its embedded ClickHouse, the events it read, the alerts
it raised and how far it is behind the producer. One JSON line per minute; a table at the
end. Not part of ``make test`` (it runs for half an hour): ``make reliability`` runs it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path

from infra.brokers import free_port, start_kafka
from simulator import produce
from sinks import metrics
from streams.process import spawn_worker
from streams.settings import Settings, Topics


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _size_mib(folder: Path) -> float:
    """Bytes under ``folder``; files that merges and compactions remove meanwhile are skipped."""
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(FileNotFoundError):
                total += os.stat(os.path.join(root, name)).st_size
    return total / 2**20


def _metrics(port: int) -> dict[str, float]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        return metrics.totals(response.read().decode())


def soak(minutes: float, rate: float, out: Path) -> list[dict[str, float]]:
    """Run the soak; return one sample per minute (also written to ``out``)."""
    work = Path(tempfile.mkdtemp(prefix="cm-soak-"))
    broker = start_kafka(work / "kafka")
    tag = uuid.uuid4().hex[:6]
    topics = Topics(**{name: f"soak{tag}.{value}" for name, value in Topics().model_dump().items()})
    settings = Settings(kafka_broker=broker.url, topics=topics)
    port = free_port()
    env = {
        "CM_KAFKA_BROKER": broker.url,
        "CM_WEB_PORT": str(port),
        **{f"CM_TOPICS__{k.upper()}": v for k, v in topics.model_dump().items()},
    }
    data = work / "worker"
    worker = spawn_worker(data, env, loglevel="warning")
    samples: list[dict[str, float]] = []
    sent = {"count": 0}
    try:
        time.sleep(20)  # the worker joins its group and creates the topics

        def feed() -> None:
            sent["count"] = asyncio.run(produce(settings, rate=rate, duration=minutes * 60))

        producer = threading.Thread(target=feed, daemon=True)
        started = time.monotonic()
        producer.start()
        with out.open("w", encoding="utf-8") as handle:
            for minute in range(1, int(minutes) + 2):
                time.sleep(max(0.0, started + minute * 60 - time.monotonic()))
                if worker.poll() is not None:
                    raise RuntimeError(f"the worker exited with {worker.returncode}; see {data}/worker.log")
                m = _metrics(port)
                sample = {
                    "minute": minute,
                    "produced_about": min(minute * 60, minutes * 60) * rate,
                    "consumed": m.get("cm_events_consumed_total", 0.0),
                    "alerts": m.get("cm_alerts_total", 0.0),
                    "dead_lettered": m.get("cm_events_rejected_total", 0.0),
                    "rss_mib": round(_rss_mib(worker.pid), 1),
                    "rocksdb_mib": round(_size_mib(data / "faust"), 1),
                    "clickhouse_mib": round(_size_mib(data / "clickhouse"), 1),
                }
                samples.append(sample)
                handle.write(json.dumps(sample) + "\n")
                handle.flush()
                print(json.dumps(sample), flush=True)
        producer.join(timeout=120)
        print(json.dumps({"produced": sent["count"]}), flush=True)
    finally:
        worker.terminate()
        worker.wait(60)
        broker.stop()
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--rate", type=float, default=1000)
    parser.add_argument("--out", type=Path, default=Path("soak.jsonl"))
    args = parser.parse_args()
    soak(args.minutes, args.rate, args.out)


if __name__ == "__main__":
    main()
