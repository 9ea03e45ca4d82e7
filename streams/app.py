"""The Faust App and nothing else: its configuration from :class:`~streams.settings.Settings`."""

from __future__ import annotations

import faust

from streams.settings import Settings


def create_app(settings: Settings) -> faust.App:
    """A Faust app for ``settings``: RocksDB tables under ``data_dir``, raw-bytes codecs."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return faust.App(
        settings.app_id,
        broker=settings.kafka_broker,
        store="rocksdb://",
        datadir=str(settings.data_dir / "faust"),
        topic_partitions=settings.partitions,
        topic_replication_factor=1,
        topic_allow_declare=True,
        consumer_auto_offset_reset="earliest",
        key_serializer="raw",
        value_serializer="raw",
        web_enabled=True,
        web_port=settings.web_port,
        web_bind=settings.web_host,
        web_in_thread=False,
        producer_linger_ms=5,
        stream_wait_empty=False,
        broker_commit_every=1000,
        broker_commit_interval=1.0,
    )
