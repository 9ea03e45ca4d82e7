"""``bench --rate R --duration S``: probes among a paced load, and their latency."""

from __future__ import annotations

import orjson
import pytest

from bench.load import _Probes, run_load_bench
from streams.settings import Settings


class Api:
    """Stands in for the worker's alert API: the rows it returns."""

    def __init__(self, *subjects: str) -> None:
        self.subjects = subjects

    def get(self, path: str) -> bytes:
        assert "rule_id=conduct.quiet_hours" in path and "q=D-load-x-" in path
        return orjson.dumps({"alerts": [{"subject": {"id": subject}} for subject in self.subjects]})


def test_a_probe_counts_from_its_send_to_the_first_poll_that_returns_its_alert():
    probes = _Probes("D-load-x-")
    probes.sent = {"D-load-x-0": 1.0, "D-load-x-1": 2.0}
    probes.poll(Api("D-load-x-0", "D-someone-else"))
    first = probes.seen["D-load-x-0"]
    probes.poll(Api("D-load-x-0", "D-load-x-1"))
    assert probes.seen["D-load-x-0"] == first and set(probes.seen) == {"D-load-x-0", "D-load-x-1"}
    assert probes.outstanding() == 0
    assert probes.latencies() == [first - 1.0, probes.seen["D-load-x-1"] - 2.0]


@pytest.mark.broker
def test_a_worker_under_a_paced_load_returns_every_probes_alert(broker):
    report = run_load_bench(Settings(kafka_broker=broker.url), 300, 4, True, lambda text: None)
    assert report["latency_samples"] == 16 and report["probes_missed"] == 0
    assert 0 < report["latency_p50_ms"] <= report["latency_p99_ms"] <= report["latency_max_ms"] < 30_000
    assert 240 <= report["produced_rate"] <= 330
    assert report["worker_rss_bytes"] > 50_000_000
