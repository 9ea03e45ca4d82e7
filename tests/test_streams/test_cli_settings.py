"""Settings reach the commands: precedence, brokers, policy input bounds, phone region, outputs."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import ClassVar

import orjson
import pytest
from typer.testing import CliRunner

from streams.cli import _settings, app
from streams.settings import Settings
from tests.factories import at, call, claim

runner = CliRunner()
KEY = {"CM_PSEUDONYM_KEY": "cli-settings-key-0123456789"}


def test_flags_win_over_the_environment_which_wins_over_defaults(monkeypatch):
    monkeypatch.setenv("CM_WEB_PORT", "7001")
    monkeypatch.setenv("CM_PARTITIONS", "6")
    settings = _settings(web_port=7002)
    assert settings.web_port == 7002 and settings.partitions == 6
    monkeypatch.delenv("CM_PARTITIONS")
    assert _settings().partitions == Settings.model_fields["partitions"].default


def test_several_brokers_are_separated_by_semicolons():
    settings = Settings(kafka_broker="kafka://a:9092;kafka://b:9093")
    assert settings.broker_servers == "a:9092,b:9093"
    assert Settings(kafka_broker="c:9094").kafka_broker == "kafka://c:9094"


@pytest.fixture
def no_cm_environment(monkeypatch):
    """No ``CM_*`` variable of the environment the tests run in."""
    for name in [n for n in os.environ if n.startswith("CM_")]:
        monkeypatch.delenv(name)


def test_the_defaults_are_those_of_the_readme(tmp_path, monkeypatch, no_cm_environment):
    """README's configuration table and policy example, for every row with a default."""
    from detectors import load_policy
    from streams.app import create_app

    monkeypatch.chdir(tmp_path)
    settings = Settings()
    assert settings.kafka_broker == "kafka://localhost:9092" and settings.broker_servers == "localhost:9092"
    assert (settings.kafka.protocol, settings.kafka.sasl_mechanism) == ("PLAINTEXT", "SCRAM-SHA-512")
    assert settings.kafka.username is None and settings.kafka.ca_file is None
    assert settings.topic_replication_factor == 1 and settings.partitions == 4
    assert settings.data_dir == Path("data") and settings.policy is None
    assert settings.clickhouse_dsn == f"chdb://{tmp_path.resolve() / 'data' / 'clickhouse'}"
    assert (settings.web_port, settings.web_host) == (6066, "127.0.0.1")
    assert (settings.phone_region, settings.role) == ("CN", "all")
    assert (settings.alert_ttl_days, settings.event_ttl_days) == (730, 180)
    assert settings.users is None and settings.console_secret is None
    assert settings.trusted_proxy_header is None and settings.trusted_proxies == []
    assert (settings.flush_interval, settings.flush_rows) == (0.5, 2000)
    assert settings.state_sweep_interval == 60 and settings.fetch_max_wait_ms == 100
    assert settings.pseudonym_key is None
    conf = create_app(settings).conf  # what the worker binds and creates its topics with
    assert (conf.web_bind, conf.web_port) == ("127.0.0.1", 6066)
    assert (conf.topic_partitions, conf.topic_replication_factor) == (4, 1)
    defaults = load_policy(None)
    assert defaults.jurisdiction == "cn"
    assert defaults.privacy.distress and defaults.privacy.distress_retention == timedelta(days=180)


def test_the_alert_store_gets_the_retention_of_the_settings_and_the_policy(
    tmp_path, monkeypatch, no_cm_environment
):
    """``CM_ALERT_TTL_DAYS``, ``CM_EVENT_TTL_DAYS`` and ``privacy.distress_retention`` reach the store."""
    import streams.worker
    from tests.test_detectors.helpers import policy

    class Built(Exception):
        pass

    def sink(url, **retention):
        raise Built(retention)

    monkeypatch.setattr(streams.worker, "ClickHouseSink", sink)
    with pytest.raises(Built) as built:
        streams.worker.build_pipeline(Settings(data_dir=tmp_path), policy())
    assert built.value.args[0] == {"alert_ttl_days": 730, "distress_ttl_days": 180, "event_ttl_days": 180}
    settings = Settings(data_dir=tmp_path, alert_ttl_days=400, event_ttl_days=30)
    with pytest.raises(Built) as built:
        streams.worker.build_pipeline(settings, policy(privacy={"distress_retention": "90d"}))
    assert built.value.args[0] == {"alert_ttl_days": 400, "distress_ttl_days": 90, "event_ttl_days": 30}


def write(path, events):
    path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))
    return path


def test_the_policy_input_bounds_and_the_phone_region_reach_backtest(tmp_path):
    policy = tmp_path / "p.yaml"
    policy.write_text("input: {max_amount: 100}\n", encoding="utf-8")
    events = write(
        tmp_path / "claims.jsonl",
        [claim("E1", "200", at(0), limit=None), claim("E1", "50", at(1), limit=None)],
    )
    out = tmp_path / "a.jsonl"
    result = runner.invoke(
        app, ["backtest", str(events), "--out", str(out), "--policy", str(policy)], env=KEY
    )
    assert result.exit_code == 0, result.output
    assert "1 valid, 1 rejected" in result.output and "data.amount" in result.output

    us_calls = [call("(212) 555-0100", "+862160000001", at(i / 10)) for i in range(5)]
    events = write(tmp_path / "calls.jsonl", us_calls)
    result = runner.invoke(
        app, ["backtest", str(events), "--out", str(out)], env={**KEY, "CM_PHONE_REGION": "US"}
    )
    assert result.exit_code == 0, result.output
    subjects = {orjson.loads(line)["subject"]["id"] for line in out.read_bytes().splitlines()}
    assert subjects == {"+12125550100"}  # the US national form, read in the US region


def test_simulate_writes_whole_days_backtest_writes_actions_and_score_reads_both(tmp_path):
    events, alerts, actions = tmp_path / "e.jsonl", tmp_path / "a.jsonl", tmp_path / "x.jsonl"
    made = runner.invoke(app, ["simulate", "--out", str(events), "--days", "2", "--seed", "5"], env=KEY)
    assert made.exit_code == 0 and events.stat().st_size > 0, made.output
    ran = runner.invoke(
        app,
        [
            "backtest",
            str(events),
            "--out",
            str(alerts),
            "--actions",
            str(actions),
            "--policy",
            "infra/policy/demo.yaml",
        ],
        env=KEY,
    )
    assert ran.exit_code == 0, ran.output
    requests = [orjson.loads(line) for line in actions.read_bytes().splitlines()]
    assert requests and {r["kind"] for r in requests} <= {"block_sender", "block_domain"}
    scored = runner.invoke(app, ["score", str(events), str(alerts)], env=KEY)
    assert scored.exit_code == 0 and "recall" in scored.output, scored.output


def test_the_tuning_values_of_docs_performance_md_are_the_code_s(tmp_path, monkeypatch):
    from types import SimpleNamespace

    from faust.transport.drivers import aiokafka as driver

    from streams.app import create_app
    from streams.input_reader import ROUTE_BATCH

    settings = Settings(data_dir=tmp_path)
    assert settings.fetch_max_wait_ms == 100 and settings.flush_interval == 0.5
    assert ROUTE_BATCH == 1000
    monkeypatch.setattr(  # Faust's own consumer, faked: the fetch wait is set on what it creates
        driver.AIOKafkaConsumerThread, "_create_worker_consumer", lambda self, transport: SimpleNamespace()
    )
    conf = create_app(settings).conf
    assert driver.AIOKafkaConsumerThread._create_worker_consumer(None, None)._fetch_max_wait_ms == 100
    assert (conf.broker_commit_every, conf.broker_commit_interval) == (10_000, 1.0)
    assert conf.producer_max_batch_size == 512 * 1024


def test_the_worker_runs_on_uvloop_with_a_frozen_collector(monkeypatch):
    import gc
    from types import SimpleNamespace

    import faust
    import uvloop

    import streams.worker

    steps = []

    async def no_topics(settings):
        steps.append("topics")

    class Worker:
        def __init__(self, app, **options):
            steps.append("worker")

        def execute_from_commandline(self):
            steps.append("run")

    monkeypatch.setattr(streams.worker, "ensure_topics", no_topics)
    monkeypatch.setattr(uvloop, "install", lambda: steps.append("uvloop"))
    monkeypatch.setattr(
        streams.worker, "build_pipeline", lambda *a: steps.append("pipeline") or SimpleNamespace(app=None)
    )
    monkeypatch.setattr(gc, "freeze", lambda: steps.append("freeze"))
    monkeypatch.setattr(gc, "set_threshold", lambda *t: steps.append(t))
    monkeypatch.setattr(faust, "Worker", Worker)

    streams.worker.run_worker(Settings(), None)

    assert steps == ["topics", "uvloop", "pipeline", "freeze", (50_000, 50, 100), "worker", "run"]


def test_the_clickhouse_url_is_kept_secret(monkeypatch):
    monkeypatch.setenv("CM_CLICKHOUSE_URL", "https://monitor:pa55word@ch.example:8443/cm")
    settings = Settings()
    assert settings.clickhouse_dsn == "https://monitor:pa55word@ch.example:8443/cm"  # for the client
    assert "pa55word" not in repr(settings) and "pa55word" not in settings.model_dump_json()


def test_simulate_out_writes_as_many_lines_as_events_asks(tmp_path):
    events = tmp_path / "e.jsonl"
    made = runner.invoke(app, ["simulate", "--out", str(events), "--events", "300", "--seed", "5"])
    assert made.exit_code == 0, made.output
    lines = events.read_bytes().splitlines()
    assert len(lines) == 300 and all(orjson.loads(line)["specversion"] == "1.0" for line in lines)


def test_store_processes_form_a_consumer_group_of_their_own(tmp_path):
    """docs/architecture.md, *Roles*: ``<app id>-store``; ``detect`` and ``all`` share the app id.
    Faust's consumer joins the group named by the app's id."""
    from streams.app import create_app

    groups = {
        role: create_app(Settings(role=role, data_dir=tmp_path, app_id="acme-cm")).conf.id
        for role in ("all", "detect", "store")
    }
    assert groups == {"all": "acme-cm", "detect": "acme-cm", "store": "acme-cm-store"}


class Producer:
    """Stands in for aiokafka's producer: its options and what it was given to send."""

    made: ClassVar[list[Producer]] = []

    def __init__(self, **options) -> None:
        self.options = options
        self.sent: list[tuple[str, bytes | None, bytes]] = []
        Producer.made.append(self)

    async def start(self) -> None:
        pass

    async def send(self, topic, value, key=None, partition=None) -> None:
        self.sent.append((topic, key, value))

    async def flush(self) -> None:
        pass

    async def stop(self) -> None:
        pass


@pytest.fixture
def producers(monkeypatch):
    import aiokafka

    Producer.made = []
    monkeypatch.setattr(aiokafka, "AIOKafkaProducer", Producer)
    return Producer.made


def test_simulate_produces_seeded_events_to_the_input_topics_of_their_type(producers):
    from streams.settings import Topics

    argv = ["simulate", "--broker", "kafka://b1:9092;kafka://b2:9092", "--rate", "0", "--events", "800"]
    for seed in ("3", "3", "4"):
        result = runner.invoke(app, [*argv, "--seed", seed])
        assert result.exit_code == 0, result.output
    first, again, other = producers
    assert first.options["bootstrap_servers"] == "b1:9092,b2:9092"
    assert len(first.sent) == 800
    topics = Topics()
    assert all(topic == topics.for_event(orjson.loads(value)["type"]) for topic, _, value in first.sent)
    assert {topic for topic, _, _ in first.sent} == set(topics.inputs())  # a company's every kind of traffic
    assert first.sent == again.sent and first.sent != other.sent  # the seed decides the events


def test_simulate_keeps_to_its_rate_and_stops_after_its_duration(producers):
    result = runner.invoke(
        app, ["simulate", "--broker", "kafka://b1:9092", "--rate", "100", "--duration", "0.5"]
    )
    assert result.exit_code == 0, result.output
    assert 0 < len(producers[0].sent) <= 51  # 100 events/s for half a second


def test_simulate_noise_adds_duplicate_broken_and_out_of_order_lines(tmp_path):
    clean, noisy = tmp_path / "clean.jsonl", tmp_path / "noisy.jsonl"
    for path, noise in ((clean, "0"), (noisy, "0.05")):
        made = runner.invoke(app, ["simulate", "--out", str(path), "--events", "2000", "--noise", noise])
        assert made.exit_code == 0, made.output
    events, lines = clean.read_bytes().splitlines(), noisy.read_bytes().splitlines()
    assert set(events) <= set(lines) and len(lines) > len(events)  # every event, and more
    assert len(set(lines)) < len(lines)  # repeated lines

    def broken(line: bytes) -> bool:
        try:
            return "data" not in orjson.loads(line)
        except orjson.JSONDecodeError:
            return True

    assert any(broken(line) for line in lines)
    arrival = [line for line in dict.fromkeys(lines) if line in set(events)]
    assert arrival != events  # some arrive out of order


def test_simulate_and_bench_log_in_with_the_cm_kafka_settings(tmp_path, monkeypatch, producers):
    """README, *Configuration*: ``CM_KAFKA__*`` is the same for ``simulate`` and ``bench`` (its
    producers and consumer here, and the worker and Faust floor it starts)."""
    import asyncio
    from types import SimpleNamespace

    import aiokafka

    import bench.pipeline
    import bench.postfix
    import streams.process

    login = {"CM_KAFKA__PROTOCOL": "SASL_PLAINTEXT", "CM_KAFKA__USERNAME": "u", "CM_KAFKA__PASSWORD": "p-XYZ"}
    for name, value in login.items():
        monkeypatch.setenv(name, value)
    consumers: list[dict] = []

    class Consumer:
        def __init__(self, *topics, **options) -> None:
            consumers.append(options)

        async def start(self) -> None:
            pass

        async def getmany(self, timeout_ms, max_records):
            return {"tp": [SimpleNamespace(value=b"{}")]}

        async def stop(self) -> None:
            pass

    monkeypatch.setattr(aiokafka, "AIOKafkaConsumer", Consumer)
    monkeypatch.setattr(bench.postfix, "AIOKafkaProducer", Producer)
    children: list[dict[str, str]] = []
    monkeypatch.setattr(streams.process.subprocess, "Popen", lambda args, env, **kw: children.append(env))

    def floor(args, env, **kw):
        children.append(env)
        Path(args[-1]).write_bytes(b'{"rate": 1.0}')

    monkeypatch.setattr(bench.pipeline.subprocess, "run", floor)

    assert runner.invoke(app, ["simulate", "--events", "1", "--rate", "0"]).exit_code == 0
    settings = Settings()
    asyncio.run(bench.pipeline._produce(settings, [b"{}"], ["hr.employee.upserted"]))
    asyncio.run(bench.pipeline._bare_rate(settings, 1))
    asyncio.run(bench.postfix._publish_blocks(settings, 1))
    bench.pipeline._Worker(settings, tmp_path / "worker")
    bench.pipeline._floor_rate(settings, 1, tmp_path / "floor")

    clients = [p.options for p in producers] + consumers
    assert len(clients) == 4
    for options in clients:
        assert options["security_protocol"] == "SASL_PLAINTEXT"
        assert (options["sasl_plain_username"], options["sasl_plain_password"]) == ("u", "p-XYZ")
    assert len(children) == 2 and all(login.items() <= env.items() for env in children)


@pytest.mark.parametrize("variable", ["CM_ALERT_TTL_DAYS", "CM_EVENT_TTL_DAYS"])
def test_a_retention_past_what_clickhouse_dates_hold_is_refused(monkeypatch, variable):
    """An expiry past 2106 wraps ClickHouse's DateTime into the past: every row would go."""
    from pydantic import ValidationError

    monkeypatch.setenv(variable, "36500")
    with pytest.raises(ValidationError, match=variable.removeprefix("CM_").lower()):
        Settings()


def test_a_distress_retention_past_what_clickhouse_dates_hold_is_refused():
    from detectors.exceptions import PolicyError
    from detectors.policy import policy_from_mapping

    with pytest.raises(PolicyError, match=r"privacy.distress_retention: .*at most 10000 days"):
        policy_from_mapping({"privacy": {"distress_retention": "36500d"}}, "<test>", "CN")
