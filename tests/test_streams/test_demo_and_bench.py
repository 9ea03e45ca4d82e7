"""``demo`` and ``bench`` without a broker: fresh demo logins, the console's port, the pseudonym key
their workers get, and the bench's runs, report and commands."""

from __future__ import annotations

import re
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

import streams.process
from bench.pipeline import _Worker
from streams.demo import write_demo_users
from streams.process import spawn_worker
from streams.settings import Settings


@pytest.fixture
def launched(monkeypatch):
    """Stands in for ``subprocess.Popen``: the environments workers would have started with."""
    envs: list[dict[str, str]] = []
    monkeypatch.setattr(streams.process.subprocess, "Popen", lambda args, env, **kwargs: envs.append(env))
    return envs


def test_demo_passwords_are_new_every_run(tmp_path):
    first, _ = write_demo_users(tmp_path / "users.yaml")
    second, _ = write_demo_users(tmp_path / "users.yaml")
    assert [role for _, role, _ in first] == ["officer", "hr", "it", "auditor", "admin"]
    assert all(a != b for (_, _, a), (_, _, b) in zip(first, second, strict=True))


def test_demo_and_bench_workers_keep_a_key_the_user_set(tmp_path, monkeypatch, launched):
    monkeypatch.setenv("CM_PSEUDONYM_KEY", "the-users-own-key-0123")
    spawn_worker(tmp_path / "demo", {"CM_WEB_PORT": "0"})
    _Worker(Settings(), tmp_path)
    assert [env["CM_PSEUDONYM_KEY"] for env in launched] == ["the-users-own-key-0123"] * 2


def test_demo_and_bench_workers_get_a_fresh_key_when_none_is_set(tmp_path, monkeypatch, launched):
    monkeypatch.delenv("CM_PSEUDONYM_KEY", raising=False)
    spawn_worker(tmp_path / "demo", {"CM_WEB_PORT": "0"})
    _Worker(Settings(), tmp_path)
    _Worker(Settings(), tmp_path)
    keys = [env["CM_PSEUDONYM_KEY"] for env in launched]
    assert all(re.fullmatch(r"[0-9a-f]{64}", key) for key in keys) and len(set(keys)) == 3


def test_bench_runs_the_floor_before_and_after_the_pipeline_and_reports_every_key_of_the_doc(
    tmp_path, monkeypatch
):
    """docs/performance.md, *What bench measures*: the floors before and after the pipeline and
    their mean, 40 latency samples, 2 hops; brokers, processes and clocks are stood in for."""
    import bench.pipeline
    import streams.topics

    steps: list[str] = []
    floors = iter([100.0, 300.0])
    stock_floors = iter([400.0, 600.0])
    latency_events: list[int] = []

    class Tansu:
        url = "kafka://127.0.0.1:1"

        def stop(self) -> None:
            steps.append("broker stopped")

    class Worker:
        def __init__(self, settings, data_dir) -> None:
            steps.append("pipeline")

        def wait(self, check, timeout, what, every=0.05) -> float:
            return {"the worker": 10.0, "the pipeline to drain": 20.0}.get(what, time.perf_counter() + 0.25)

        def stop(self) -> None:
            steps.append("pipeline stopped")

    async def produce(settings, values, types) -> float:
        if len(values) == 1:
            latency_events.append(1)
        return 0.1

    async def bare(settings, expected) -> float:
        return 1000.0

    def floor(settings, expected, data_dir, stock=False) -> float:
        steps.append("stock floor" if stock else "floor")
        return next(stock_floors if stock else floors)

    async def no_topics(settings) -> None:
        pass

    def backtest(settings, events, work, say) -> dict:
        steps.append(f"backtest {events}")
        return {
            "backtest_events": 100_000,
            "backtest_rate": 30.0,
            "backtest_parallel_rate": 50.0,
            "backtest_jobs": 2,
            "parse_floor_rate": 400.0,
        }

    monkeypatch.setattr(bench.pipeline, "start_tansu", lambda work: Tansu())
    monkeypatch.setattr(streams.topics, "ensure_topics", no_topics)
    monkeypatch.setattr(bench.pipeline, "_produce", produce)
    monkeypatch.setattr(bench.pipeline, "_bare_rate", bare)
    monkeypatch.setattr(bench.pipeline, "_floor_rate", floor)
    monkeypatch.setattr(bench.pipeline, "quix_floor_rate", lambda *args: steps.append("quix") or 900.0)
    monkeypatch.setattr(bench.pipeline, "_Worker", Worker)
    monkeypatch.setattr(bench.pipeline, "run_backtest_bench", backtest)

    report = bench.pipeline.run_bench(Settings(), 500, broker_configured=False, say=lambda text: None)

    assert steps == [
        *["backtest 500", "floor", "stock floor", "pipeline", "pipeline stopped"],
        *["stock floor", "floor", "quix", "broker stopped"],
    ]
    assert report["backtest_rate"] == 30.0 and report["backtest_parallel_rate"] == 50.0
    assert report["faust_floor_rates"] == [100.0, 300.0] and report["faust_floor_rate"] == 200.0
    assert report["stock_floor_rates"] == [400.0, 600.0] and report["stock_floor_rate"] == 500.0
    assert report["stock_floor_ratio"] == 0.1 and report["quix_floor_rate"] == 900.0
    assert report["pipeline_rate"] == 50.0 and report["floor_ratio"] == 0.25 and report["ratio"] == 0.05
    assert report["hops"] == 2 and len(latency_events) == 40
    assert 240 <= report["latency_p50_ms"] <= report["latency_p99_ms"] < 1000
    assert report["broker"] == "tansu" and report["events"] == 500
    doc = (Path(__file__).resolve().parents[2] / "docs" / "performance.md").read_text(encoding="utf-8")
    table = doc.split("## What `bench` measures", 1)[1].split("\n## ", 1)[0]
    keys = {
        key
        for line in table.splitlines()
        if line.startswith("| `")
        for key in re.findall(r"`(\w+)`", line.split("|")[1])
    }
    assert keys and keys <= set(report), keys - set(report)


def test_the_bench_commands_take_their_options_and_print_and_write_the_report(tmp_path, monkeypatch):
    import json

    from typer.testing import CliRunner

    import bench
    import bench.console
    import bench.postfix
    from streams.cli import app

    calls: list[tuple] = []
    monkeypatch.setattr(
        bench, "run_bench", lambda settings, n, configured, say: calls.append((n, configured)) or {"bench": n}
    )
    monkeypatch.setattr(
        bench.postfix,
        "run_postfix_bench",
        lambda settings, configured, c, r, b, say: calls.append((c, r, b)) or {"postfix": c},
    )
    monkeypatch.setattr(
        bench.console, "run_console_bench", lambda alerts, say: calls.append((alerts,)) or {"console": alerts}
    )
    monkeypatch.setattr(
        bench,
        "run_load_bench",
        lambda settings, rate, seconds, broker, say: calls.append(("load", rate, seconds)) or {"load": rate},
    )
    runner = CliRunner()
    env = {"CM_KAFKA_BROKER": None}

    def run(*args: str) -> dict:
        result = runner.invoke(app, ["bench", *args], env=env)
        assert result.exit_code == 0, result.output
        return json.loads(result.stdout)

    out = tmp_path / "bench.json"
    assert run("--events", "300", "--json", str(out)) == {"bench": 300} == json.loads(out.read_text())
    run()
    run("--broker", "kafka://kafka-1:9092")
    assert (
        run("postfix", "--connections", "20", "--json", str(out))
        == {"postfix": 20}
        == json.loads(out.read_text())
    )
    run("postfix")
    assert run("console", "--alerts", "500") == {"console": 500}
    run("console")
    assert run("--rate", "2000", "--duration", "30") == {"load": 2000}
    run("--rate", "500")
    assert calls == [
        (300, False),  # a Tansu of its own unless a broker is named
        (50_000, False),
        (50_000, True),
        (20, 100_000, 10_000),
        (200, 100_000, 10_000),
        (500,),
        (1_000_000,),
        ("load", 2000, 30.0),
        ("load", 500, 120),
    ]


def test_demo_serves_on_6066_or_a_free_port_when_it_is_taken(tmp_path, monkeypatch):
    """README, *What you get from make demo*; the broker, worker and simulator are stood in for."""
    import io
    import socket

    from rich.console import Console

    import streams.demo
    from infra.brokers import free_port

    workers: list[dict[str, str]] = []

    class Worker:
        def send_signal(self, signal) -> None:
            pass

        def wait(self, timeout) -> None:
            pass

    async def nothing(*args) -> None:
        pass

    monkeypatch.setattr(
        streams.demo,
        "start_tansu",
        lambda path: SimpleNamespace(url="kafka://x:1", bootstrap="x:1", stop=lambda: None),
    )
    monkeypatch.setattr(
        streams.demo, "spawn_worker", lambda data, env, policy: workers.append(env) or Worker()
    )
    monkeypatch.setattr(streams.demo, "_run", nothing)

    def console_port(wanted: int) -> int:
        printed = io.StringIO()
        monkeypatch.setattr(streams.demo, "console", Console(file=printed, width=200))
        assert streams.demo.run_demo(Settings(data_dir=tmp_path, web_port=wanted), duration=0) == 0
        [port] = re.findall(r"console\s+http://127\.0\.0\.1:(\d+)/", printed.getvalue())
        assert workers[-1]["CM_WEB_PORT"] == port
        return int(port)

    assert Settings(data_dir=tmp_path).web_port == 6066
    free = free_port()
    assert console_port(free) == free
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        assert console_port(busy) != busy


def test_bench_asks_whether_the_pipeline_drained_every_0_25_s_then_every_0_05_s_once_input_is_read():
    """docs/performance.md: /metrics costs the worker's loop, so it is read rarely until all input is
    read; then often, so that the end of a run is found within 0.05 s."""
    from bench.pipeline import _Drained

    totals = [
        {"cm_events_consumed_total": 600.0, "cm_keyed_sent_total": 500.0, "cm_detector_seconds_count": 400.0},
        {
            "cm_events_consumed_total": 1000.0,
            "cm_keyed_sent_total": 900.0,
            "cm_detector_seconds_count": 890.0,
        },
        {
            "cm_events_consumed_total": 1000.0,
            "cm_keyed_sent_total": 900.0,
            "cm_detector_seconds_count": 900.0,
        },
    ]
    drained = _Drained(SimpleNamespace(metrics=lambda: totals.pop(0)), 1000)

    assert drained.every() == 0.25
    assert (drained(), drained.every()) == (False, 0.25)
    assert (drained(), drained.every()) == (False, 0.05)
    assert drained()
