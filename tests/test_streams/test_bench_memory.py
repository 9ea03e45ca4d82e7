"""``bench memory``: its events (distinct keys, valid, no alert) and one run on a real broker."""

from __future__ import annotations

import shutil
from collections import Counter

import orjson
import pytest

from bench.memory import FAMILIES, memory_events, rss, run_memory_bench
from detectors import Engine, load_policy
from events import Alert
from events.parse import ParseContext, Rejection, parse_event, parse_event_dict
from streams.process import DEMO_POLICY
from streams.settings import Settings


def test_every_event_is_valid_and_fills_a_key_of_its_own_without_an_alert():
    """Each event passes the contract and gives exactly one keyed copy, whose (family, key) no
    other event has, in the three families in turn; the worker's engine (demo policy, every
    rule) keeps one state bundle per event and raises nothing."""
    keys = 3_000
    engine = Engine(load_policy(DEMO_POLICY))
    state: dict = {}
    context = ParseContext()
    families: Counter[str] = Counter()
    bundles = set()
    outputs = []
    events = list(memory_events(keys))
    assert len(events) == keys
    for event_type, value in events:
        event = parse_event(value, context)
        assert not isinstance(event, Rejection), event
        assert event.type == event_type
        routed = engine.route(event)
        assert len(routed) == 1, (event_type, routed)
        families[routed[0].family] += 1
        bundles.add(f"{routed[0].family}|{routed[0].key}")
        outputs.extend(engine.run(event, state))
    assert set(families) == set(FAMILIES) and max(families.values()) - min(families.values()) <= 1
    assert len(bundles) == keys
    assert sorted(state) == sorted(bundles)
    assert not [o for o in outputs if isinstance(o, Alert)]
    assert not outputs


def test_event_ids_are_distinct_and_the_events_are_plain_json_objects():
    values = [orjson.loads(value) for _, value in memory_events(900)]
    assert len({(v["source"], v["id"]) for v in values}) == 900
    assert not [r for v in values if isinstance(r := parse_event_dict(v), Rejection)]


def test_rss_is_read_from_the_metrics_page():
    page = "# HELP process_resident_memory_bytes Resident memory size in bytes.\n"
    page += "process_resident_memory_bytes 1.234e+08\nprocess_virtual_memory_bytes 9e+09\n"
    assert rss(page) == 1.234e08
    assert rss("cm_state_keys 3.0\n") == 0.0


@pytest.mark.broker
def test_bench_memory_fills_a_real_worker_and_reports_its_memory(broker):
    keys = 2_000
    report = run_memory_bench(
        Settings(kafka_broker=broker.url),
        keys,
        broker_configured=True,
        say=lambda text: None,
        sweep_interval=2,
    )
    shutil.rmtree(report["work_dir"], ignore_errors=True)
    assert report["keys"] == keys and report["families"] == list(FAMILIES)
    assert report["rss_bytes_start"] > 0 and report["rss_bytes_after"] > 0
    assert report["rss_bytes_max"] >= report["rss_bytes_after"]
    assert report["rss_bytes_after_sweep"] > 0
    assert isinstance(report["rss_bytes_per_key"], float)
    assert report["state_keys"] == keys  # the poke is a duplicate: no key of its own
    assert report["alerts"] == 0 and report["keyed_copies"] >= keys
    assert report["seconds"] > 0


def test_bench_memory_command_takes_keys_and_a_broker_and_writes_the_report(tmp_path, monkeypatch):
    import json

    from typer.testing import CliRunner

    import bench.memory
    from streams.cli import app

    calls: list[tuple] = []
    monkeypatch.setattr(
        bench.memory,
        "run_memory_bench",
        lambda settings, keys, configured, say: calls.append((keys, configured)) or {"keys": keys},
    )
    runner = CliRunner()
    out = tmp_path / "memory.json"

    def run(*args: str) -> dict:
        result = runner.invoke(app, ["bench", "memory", *args], env={"CM_KAFKA_BROKER": None})
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    assert run("--keys", "2000", "--json", str(out)) == {"keys": 2000} == json.loads(out.read_text())
    run()
    run("--broker", "kafka://kafka-1:9092")
    assert calls == [(2000, False), (1_000_000, False), (1_000_000, True)]
