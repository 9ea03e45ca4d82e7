"""The Faust App and nothing else: its configuration from :class:`~streams.settings.Settings`."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import faust
from mode import ServiceT

from streams import eager_drain
from streams.consumer_fixes import apply_consumer_fixes
from streams.settings import Settings


class App(faust.App):
    """Faust's app without its ``Monitor`` sensor, and with services of ours started after Faust's.

    Faust feeds the monitor four calls per message (in, stream in, stream out, out: counters,
    clocks, a state dict, a deque) for statistics kept in memory, which nothing here reads:
    the worker's metrics are its own (``sinks.metrics``, Prometheus). The monitor object
    stays (Faust's code may read it); it is only no longer fed.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.late_services: list[ServiceT] = []
        """Started with the app after Faust's own services (producer, consumer, tables), stopped
        before them: the input reader, whose last batch needs the producer (``streams.input_reader``)."""

    def on_init_dependencies(self) -> Iterable[ServiceT]:
        dependencies = list(super().on_init_dependencies())
        self.sensors.remove(self.monitor)
        return [*dependencies, *self.late_services]


App.logger = faust.App.logger  # mode names a subclass's logger by its module: Faust's lines stay Faust's


def create_app(settings: Settings) -> faust.App:
    """A Faust app for ``settings``: RocksDB tables under ``data_dir``, raw-bytes codecs."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    apply_consumer_fixes(settings.fetch_max_wait_ms)
    eager_drain.install()
    return App(
        settings.group_id,
        broker=settings.kafka_broker,
        store="rocksdb://",
        datadir=str(settings.data_dir / ("faust-store" if settings.role == "store" else "faust")),
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.topic_replication_factor,
        broker_credentials=settings.kafka.faust_credentials(),
        topic_allow_declare=True,
        consumer_auto_offset_reset="earliest",
        key_serializer="raw",
        value_serializer="raw",
        web_enabled=True,
        web_port=settings.web_port,
        web_bind=settings.web_host,
        web_in_thread=False,
        producer_linger_ms=5,
        # keyed batches (up to 256 KiB) and a batch's changelog share producer batches instead of
        # each waiting for the previous one of its partition to be sent (the broker takes 1 MB)
        producer_max_batch_size=512 * 1024,
        stream_wait_empty=False,
        # Faust commits inline in its consumer's drain loop, after waiting for the producer to
        # flush; every 1,000 messages that stalled the pipeline (about 10 %, measured), so it
        # commits every 10,000 messages or every second, whichever comes first
        broker_commit_every=10_000,
        broker_commit_interval=1.0,
        broker_session_timeout=15.0,  # a dead worker's partitions move on within seconds, not a minute
        broker_heartbeat_interval=3.0,
    )
