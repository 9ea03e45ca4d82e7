"""The Faust App and nothing else: its configuration from :class:`~streams.settings.Settings`."""

from __future__ import annotations

import faust

from streams.settings import Settings


def _lower_fetch_wait(max_wait_ms: int) -> None:
    """Make Faust's consumers long-poll for at most ``max_wait_ms`` (Faust hard-codes 1500 ms).

    A broker that does not answer a waiting fetch as soon as data arrives (Tansu, measured:
    median 553 ms per fetch at 1500 ms, 3 ms at 100 ms) otherwise adds up to 1.5 s per hop.
    Apache Kafka answers at once either way, so a short wait costs only idle polls.
    """
    from faust.transport.drivers import aiokafka as driver

    original = driver.AIOKafkaConsumerThread._create_worker_consumer
    if getattr(original, "_cm_patched", False):
        return

    def create(self, transport):
        consumer = original(self, transport)
        consumer._fetch_max_wait_ms = max_wait_ms
        return consumer

    create._cm_patched = True  # type: ignore[attr-defined]
    driver.AIOKafkaConsumerThread._create_worker_consumer = create


def _seek_uncommitted_to_beginning() -> None:
    """Make "seek to committed" start partitions without a committed offset at their beginning.

    aiokafka's ``seek_to_committed`` seeks only partitions whose committed offset is above
    0 and leaves the others where its fetcher happens to be. A restarted worker fetches
    while it recovers its tables, and Faust drops those records (their partitions are not
    active yet) before seeking the stream partitions to their committed offsets; so input
    partitions that had no commit yet resumed after the dropped records and were skipped
    until the next restart (found by the kill -9 tests: 37 of 44 alerts missing). The
    consumer starts "earliest", so a partition without a commit belongs at its beginning.
    Table changelogs are left alone: recovery positions them itself.
    """
    from faust.transport.drivers import aiokafka as driver

    original = driver.AIOKafkaConsumerThread.seek_to_committed
    if getattr(original, "_cm_patched", False):
        return

    async def seek_to_committed(self):
        committed = await original(self)
        changelogs = self.app.tables.changelog_topics
        fresh = [tp for tp, offset in committed.items() if not offset and tp.topic not in changelogs]
        if fresh:
            consumer = self._ensure_consumer()
            await self.call_thread(consumer.seek_to_beginning, *fresh)
        return committed

    seek_to_committed._cm_patched = True  # type: ignore[attr-defined]
    driver.AIOKafkaConsumerThread.seek_to_committed = seek_to_committed


def create_app(settings: Settings) -> faust.App:
    """A Faust app for ``settings``: RocksDB tables under ``data_dir``, raw-bytes codecs."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    _lower_fetch_wait(settings.fetch_max_wait_ms)
    _seek_uncommitted_to_beginning()
    return faust.App(
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
