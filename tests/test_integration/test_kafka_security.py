"""A worker on a cluster that wants credentials: Apache Kafka with a SASL_PLAINTEXT SCRAM listener."""

from __future__ import annotations

import subprocess
import sys
import uuid

import pytest

from infra.brokers import start_kafka
from streams.settings import Topics
from tests.factories import at, call, employee, mobile, office
from tests.fixtures.brokers import produce
from tests.fixtures.workers import WorkerProcess

pytestmark = pytest.mark.broker
USER, PASSWORD = "cm-worker", "scram-secret-0123456789"


@pytest.fixture(scope="module")
def scram_broker(tmp_path_factory):
    broker = start_kafka(tmp_path_factory.mktemp("kafka-scram"), scram=(USER, PASSWORD))
    yield broker
    broker.stop()


def credentials(password: str) -> dict[str, str]:
    return {
        "CM_KAFKA__PROTOCOL": "SASL_PLAINTEXT",
        "CM_KAFKA__SASL_MECHANISM": "SCRAM-SHA-512",
        "CM_KAFKA__USERNAME": USER,
        "CM_KAFKA__PASSWORD": password,
    }


def test_the_worker_consumes_and_alerts_with_the_right_credentials(scram_broker, tmp_path):
    tag = uuid.uuid4().hex[:8]
    worker = WorkerProcess(
        scram_broker,
        tmp_path / "w",
        app_id=f"cm-scram-{tag}",
        topic_prefix=f"s{tag}.",
        env=credentials(PASSWORD),
    ).start()
    try:
        topics = Topics(**{name: worker.topic(name) for name in Topics.model_fields})
        number = "+8615011119999"
        staff = employee("E-s1", office(901), mobile(901))
        calls = [call(number, office(901), at(i / 10)) for i in range(5)]
        produce(scram_broker.bootstrap, [(topics.hr, staff, "E-s1")], scram_broker.client_options)
        worker.wait_for(
            lambda: worker.metric("cm_events_consumed_total", topic=topics.hr) >= 1, what="HR read"
        )
        produce(
            scram_broker.bootstrap, [(topics.calls, c, number) for c in calls], scram_broker.client_options
        )
        alert = worker.wait_for(lambda: worker.alerts("harassment.repeated_calls"), what="an alert")
        assert alert[0]["subject"]["id"] == number
    finally:
        worker.stop()


def test_a_wrong_password_stops_start_up_saying_authentication_failed_at_the_broker(scram_broker, tmp_path):
    env = WorkerProcess(scram_broker, tmp_path / "bad", env=credentials("not-the-password-123")).env
    result = subprocess.run(
        [sys.executable, "-m", "streams", "worker"], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2, result.stderr[-2000:]
    assert "authentication failed" in result.stderr, result.stderr[-2000:]
    assert scram_broker.bootstrap in result.stderr
