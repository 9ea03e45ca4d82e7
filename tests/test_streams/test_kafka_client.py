"""Kafka client settings: one set of options for every client, checked at start-up."""

from __future__ import annotations

import ssl

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from streams.cli import app
from streams.kafka_client import KafkaClient
from streams.settings import Settings


def test_sasl_needs_a_user_and_a_password_and_start_up_names_the_setting(tmp_path):
    with pytest.raises(ValidationError, match="needs username and password"):
        KafkaClient(protocol="SASL_SSL", username="u")
    env = {"CM_KAFKA__PROTOCOL": "SASL_PLAINTEXT", "CM_PSEUDONYM_KEY": "k" * 20}
    result = CliRunner().invoke(app, ["worker", "--data-dir", str(tmp_path)], env=env)
    assert result.exit_code == 2 and "invalid setting CM_KAFKA" in result.output, result.output


def test_every_client_gets_the_same_credentials_and_tls():
    settings = Settings(
        kafka={
            "protocol": "SASL_SSL",
            "sasl_mechanism": "SCRAM-SHA-256",
            "username": "u",
            "password": "pass-XYZ",
        },
        topic_replication_factor=3,
    )
    options = settings.kafka.aiokafka_options()
    assert options["security_protocol"] == "SASL_SSL" and options["sasl_mechanism"] == "SCRAM-SHA-256"
    assert options["sasl_plain_password"] == "pass-XYZ" and isinstance(options["ssl_context"], ssl.SSLContext)
    credentials = settings.kafka.faust_credentials()
    assert credentials.protocol.value == "SASL_SSL" and credentials.mechanism.value == "SCRAM-SHA-256"
    assert "pass-XYZ" not in repr(settings.kafka) and settings.topic_replication_factor == 3
    assert KafkaClient().aiokafka_options() == {"security_protocol": "PLAINTEXT"}
    assert KafkaClient().faust_credentials() is None


def test_the_replication_factor_reaches_the_app_and_the_topics_it_creates(tmp_path, monkeypatch):
    import asyncio

    import aiokafka.admin

    from streams.app import create_app
    from streams.topics import ensure_topics

    settings = Settings(topic_replication_factor=3, data_dir=tmp_path)
    assert create_app(settings).conf.topic_replication_factor == 3
    created = []

    class Admin:
        def __init__(self, **options):
            assert options["security_protocol"] == "PLAINTEXT"

        async def start(self):
            pass

        async def list_topics(self):
            return []

        async def create_topics(self, topics):
            created.extend(topics)

        async def close(self):
            pass

    monkeypatch.setattr(aiokafka.admin, "AIOKafkaAdminClient", Admin)
    asyncio.run(ensure_topics(settings))
    assert created and {(t.replication_factor, t.num_partitions) for t in created} == {
        (3, settings.partitions)
    }


def test_the_tls_files_reach_the_context(tmp_path):
    import subprocess

    key, cert = tmp_path / "client.key", tmp_path / "client.pem"
    make_cert = [
        "openssl",
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "1",
        "-subj",
        "/CN=cm-test-ca",
    ]
    subprocess.run([*make_cert, "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    client = KafkaClient(protocol="SSL", ca_file=cert, cert_file=cert, key_file=key)
    context = client.ssl_context()
    assert any(("commonName", "cm-test-ca") in rdn for ca in context.get_ca_certs() for rdn in ca["subject"])
    assert client.aiokafka_options()["ssl_context"] is not None
    with pytest.raises(ValidationError, match="go together"):
        KafkaClient(protocol="SSL", cert_file=cert)
    with pytest.raises(ValidationError, match="not a readable file"):
        KafkaClient(protocol="SSL", ca_file=tmp_path / "missing.pem")
