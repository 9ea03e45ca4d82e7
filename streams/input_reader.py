"""The input hop's consumer: input topics read in batches by aiokafka, not through Faust's streams.

Faust hands every message to an agent one at a time (drain loop, conductor, stream queue,
per-message acknowledgement), which the input hop, reading every event, paid once per event.
Here a consumer group of its own (``<group_id>-input``) takes what each fetch brought, the
partitions interleaved, and hands it to the pipeline's route function ``ROUTE_BATCH``
records at a time. The route function sends what a batch publishes and returns a wait for
the broker to have it all (every keyed copy, dead letter and directory change); once that
wait ends, the batch's offsets are committed. Meanwhile the next batch is routed, so the
worker computes while the broker confirms; commits keep the batches' order, and at most one
batch waits for its confirmation while the next is routed. What a fetch brought is finished
and committed before its partitions are given up in a rebalance or the worker stops, so a
handover reads nothing twice; a crash before a commit reads the batch again (at least once,
and detection's deterministic ids make the second reading change nothing).

Reading starts after Faust has recovered the tables, so routing sees the whole directory.
A partition this group has never committed starts where the worker's Faust group had
committed it (an upgrade from workers whose agents read the input topics), else at the
beginning.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from itertools import zip_longest
from typing import Any, Protocol

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from aiokafka.structs import ConsumerRecord, TopicPartition
from mode import Service

from streams.delivery import fail_stop, finish_before_ack
from streams.settings import Settings

log = logging.getLogger(__name__)

ROUTE_BATCH = 1000
"""Most records handed to the route function at once."""
FETCH_BYTES = 256 * 1024
"""Most bytes one fetch brings of a partition (aiokafka's ``max_partition_fetch_bytes``).

aiokafka hands out a partition's fetched records before the next partition's, so each fetch
is taken whole and its partitions interleaved (:func:`interleaved`), as Faust's consumer
interleaves them; this bounds how far one partition runs ahead of the others (in event time:
calls routed before the HR records of the same hour in another partition) to one fetch."""
POLL_MS = 200
"""Longest wait for records of one fetch when there are none."""


class Record(Protocol):
    """What the input hop reads of a Kafka record (aiokafka's ``ConsumerRecord``, Faust's ``Message``)."""

    topic: str
    partition: int
    offset: int
    value: bytes | None


Route = Callable[[Sequence[Record]], Awaitable[Awaitable[None]]]
"""Routes a batch and sends what it publishes; returns what to await for the broker to have it all."""


def interleaved(partitions: Iterable[list[ConsumerRecord]]) -> list[ConsumerRecord]:
    """The records of several partitions taken in turn, one of each, each partition in order."""
    return [record for turn in zip_longest(*partitions) for record in turn if record is not None]


def input_group(settings: Settings) -> str:
    """The consumer group of the input hop."""
    return f"{settings.group_id}-input"


class InputReader(Service, ConsumerRebalanceListener):
    """Reads ``topics`` in batches and commits each batch once the broker has what ``route`` sent."""

    def __init__(
        self,
        settings: Settings,
        topics: Sequence[str],
        route: Route,
        recovered: Callable[[], Awaitable[object]],
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.settings = settings
        self.topics = list(topics)
        self.route = route
        self.recovered = recovered
        """Returns once the worker's tables are recovered: reading starts then."""
        self.consumer: AIOKafkaConsumer | None = None
        self.joined = False
        """Whether the group has given this reader its partitions (possibly none) at least once."""
        self._batch = asyncio.Lock()
        """Held while a fetch's batches are routed: a rebalance waits for it."""
        self._settling: asyncio.Future[None] | None = None
        """The last routed batch's wait for the broker, then its commit."""

    async def on_start(self) -> None:
        settings = self.settings
        await self._carry_over_faust_offsets()
        self.consumer = AIOKafkaConsumer(
            bootstrap_servers=settings.broker_servers,
            group_id=input_group(settings),
            client_id=f"{settings.group_id}-input",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            fetch_max_wait_ms=settings.fetch_max_wait_ms,
            max_partition_fetch_bytes=FETCH_BYTES,
            session_timeout_ms=15_000,
            heartbeat_interval_ms=3_000,
            **settings.kafka.aiokafka_options(),
        )
        self.consumer.subscribe(self.topics, listener=self)
        await self.consumer.start()

    async def _carry_over_faust_offsets(self) -> None:
        """Commit, for the input group, the Faust group's offsets of partitions it never committed.

        Done before joining, by a client outside the group: the broker takes such a commit
        only while the group has no member (the first upgraded worker); otherwise the
        members are reading already and it is skipped.
        """
        options = self.settings.kafka.aiokafka_options()
        servers = self.settings.broker_servers
        group = input_group(self.settings)
        consumer = AIOKafkaConsumer(bootstrap_servers=servers, group_id=group, **options)
        admin = AIOKafkaAdminClient(bootstrap_servers=servers, **options)
        await consumer.start()
        await admin.start()
        try:
            partitions = [  # the admin's metadata: a new consumer may not have the topics' yet (Kafka)
                TopicPartition(topic["topic"], partition["partition"])
                for topic in await admin.describe_topics(self.topics)
                for partition in topic["partitions"]
            ]
            if not partitions:
                return
            mine = await admin.list_consumer_group_offsets(group, partitions=partitions)
            fresh = [tp for tp in partitions if tp not in mine or mine[tp].offset < 0]
            if not fresh:
                return
            found = await admin.list_consumer_group_offsets(self.settings.group_id, partitions=fresh)
            offsets = {tp: meta.offset for tp, meta in found.items() if meta.offset >= 0}
            if offsets:
                consumer.assign(list(offsets))
                await consumer.commit(offsets)
                log.info("input offsets carried over from the Faust group for %d partitions", len(offsets))
        except KafkaError as error:
            log.warning("input offsets not carried over from the Faust group: %r", error)
        finally:
            await admin.close()
            await consumer.stop()

    async def on_shutdown(self) -> None:
        """Leave the group once the batches in hand are committed (mode stops the futures before this)."""
        await self.settled()
        if self.consumer is not None:
            await self.consumer.stop()

    async def on_started(self) -> None:
        self.add_future(self.read())

    async def read(self) -> None:
        """Route batches of records until the reader stops (once the tables are recovered)."""
        consumer = self.consumer
        assert consumer is not None  # noqa: S101 - started
        await self.recovered()
        while not self.should_stop:
            fetched = await consumer.getmany(timeout_ms=POLL_MS)
            if not fetched:
                continue
            # a stop finishes routing the records in hand; on_shutdown waits for their commit
            await finish_before_ack(self._handle(fetched))

    async def _handle(self, fetched: Mapping[TopicPartition, list[ConsumerRecord]]) -> None:
        """Route what one fetch brought, partitions interleaved, ``ROUTE_BATCH`` records at a time;
        each batch is committed once the broker has what it published, while the next is routed."""
        records = interleaved(fetched.values())
        async with self._batch:
            for start in range(0, len(records), ROUTE_BATCH):
                batch = records[start : start + ROUTE_BATCH]
                confirmed = await self.route(batch)
                ends = {(r.topic, r.partition): r.offset + 1 for r in batch}
                await self.settled()  # the batch before: committed first, so commits keep their order
                self._settling = asyncio.ensure_future(
                    self._settle(confirmed, {TopicPartition(*tp): offset for tp, offset in ends.items()})
                )

    async def _settle(self, confirmed: Awaitable[None], offsets: dict[TopicPartition, int]) -> None:
        """Commit ``offsets`` once ``confirmed``; stop the worker if that wait fails unexpectedly
        (a later batch's commit would otherwise cover records never confirmed)."""
        try:
            await confirmed
        except Exception as error:
            log.exception("input batch not confirmed, stopping before any later commit")
            fail_stop(error)
        else:
            await self._commit(offsets)

    async def settled(self) -> None:
        """Return once every batch routed so far is confirmed and committed (a cancelled caller
        leaves that to go on)."""
        if self._settling is not None:
            await asyncio.shield(self._settling)

    async def _commit(self, offsets: dict[TopicPartition, int]) -> None:
        assert self.consumer is not None  # noqa: S101 - started
        try:
            await self.consumer.commit(offsets)
        except KafkaError as error:  # a later batch's commit covers it; else it is read again
            log.warning("input offsets not committed (the records may be read again): %r", error)
        except Exception:  # the same, for what aiokafka raises outside KafkaError (ValueError)
            log.exception("input offsets not committed (the records may be read again)")

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        """Finish (route, confirm and commit) the batches in hand before the partitions move."""
        async with self._batch:
            await self.settled()

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        self.joined = True

    def assignment(self) -> set[TopicPartition]:
        """The input partitions this worker reads now."""
        return set(self.consumer.assignment()) if self.consumer is not None else set()

    async def highwaters(self, *partitions: TopicPartition) -> Mapping[TopicPartition, int]:
        """The end offset of each of ``partitions`` (for ``cm_consumer_lag``)."""
        assert self.consumer is not None  # noqa: S101 - started
        return await self.consumer.end_offsets(list(partitions))

    async def position(self, tp: TopicPartition) -> int | None:
        """The next offset this worker fetches from ``tp``."""
        assert self.consumer is not None  # noqa: S101 - started
        return await self.consumer.position(tp)
