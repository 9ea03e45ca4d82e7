"""``bench.quix``: the optional Quix Streams floor, absent without its interpreter and measured
for real on the brokers with it (``make quix-floor``, which ``make test`` runs)."""

from __future__ import annotations

import asyncio
import os
import uuid

import orjson
import pytest

import bench.quix
from bench.pipeline import _produce
from bench.quix import connection, quix_floor_rate, quix_python
from streams.kafka_client import KafkaClient
from streams.settings import Settings, Topics
from streams.topics import ensure_topics

EVENTS = 2000
TYPES = ["hr.employee.upserted", "finance.reimbursement.submitted", "telephony.call.completed"]


def test_the_quix_floor_is_none_without_its_interpreter(tmp_path, monkeypatch):
    def run(*args, **kwargs):
        raise AssertionError("no child process without quixstreams")

    monkeypatch.setenv("CM_BENCH_QUIX_PYTHON", str(tmp_path / "no-such-python"))
    monkeypatch.setattr(bench.quix.subprocess, "run", run)
    assert quix_floor_rate(Settings(), EVENTS, tmp_path / "quix") is None


def test_the_quix_floor_connects_with_the_brokers_and_credentials_of_the_settings(tmp_path):
    """The ``CM_KAFKA_*`` settings as librdkafka's: brokers without their scheme, SASL, TLS files."""
    pem = {name: tmp_path / f"{name}.pem" for name in ("ca", "cert", "key")}
    for path in pem.values():
        path.write_text("-")
    files = {"ca_file": pem["ca"], "cert_file": pem["cert"], "key_file": pem["key"]}
    client = KafkaClient(protocol="SASL_SSL", username="u", password="p", **files)
    settings = Settings(kafka_broker="kafka://a:9092;kafka://b:9093", kafka=client)
    assert connection(settings) == {
        "bootstrap_servers": "a:9092,b:9093",
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_username": "u",
        "sasl_password": "p",
        "ssl_ca_location": str(pem["ca"]),
        "ssl_certificate_location": str(pem["cert"]),
        "ssl_key_location": str(pem["key"]),
    }
    assert connection(Settings(kafka_broker="kafka://a:9092")) == {
        "bootstrap_servers": "a:9092",
        "security_protocol": "PLAINTEXT",
    }


@pytest.mark.broker
def test_the_quix_floor_reads_every_input_event_on_a_real_broker(broker, tmp_path):
    """Small JSON events over the input topics (created as ``bench`` creates them): the Quix
    Streams child reads all of them and reports a rate."""
    if quix_python() is None:
        message = "no Quix Streams interpreter: run `make quix-floor`"
        if os.environ.get("CM_TEST_ALL"):
            pytest.fail(message)
        pytest.skip(message)
    tag = uuid.uuid4().hex[:6]
    topics = Topics(**{name: f"quix{tag}.{value}" for name, value in Topics().model_dump().items()})
    settings = Settings(kafka_broker=broker.url, topics=topics)
    asyncio.run(ensure_topics(settings))
    types = [TYPES[i % len(TYPES)] for i in range(EVENTS)]
    values = [orjson.dumps({"id": f"q-{i}", "type": kind}) for i, kind in enumerate(types)]
    asyncio.run(_produce(settings, values, types))

    rate = quix_floor_rate(settings, EVENTS, tmp_path / "quix")

    assert rate is not None and rate > 0
    written = orjson.loads((tmp_path / "quix" / "quix.json").read_bytes())
    assert written["rate"] == rate and written["seconds"] > 0
