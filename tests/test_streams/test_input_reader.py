"""The input hop's consumer (``streams.input_reader``): batches, commits, stops, rebalances, upgrades.

The first tests stand a small fake in for aiokafka's consumer (a unit edge) to hold a batch
half-way; the ones marked ``broker`` run the reader on the real brokers.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence

import pytest
from aiokafka import AIOKafkaConsumer
from aiokafka.errors import CommitFailedError
from aiokafka.partitioner import murmur2
from aiokafka.structs import ConsumerRecord, TopicPartition

from streams.input_reader import FETCH_BYTES, ROUTE_BATCH, InputReader, input_group
from streams.settings import Settings, Topics
from streams.topics import ensure_topics
from tests.fixtures.brokers import produce

TP = TopicPartition("hr.events", 0)


def record(offset: int, tp: TopicPartition = TP) -> ConsumerRecord:
    return ConsumerRecord(tp.topic, tp.partition, offset, 0, 0, None, b"{}", None, 0, 2, ())


class FakeConsumer:
    """Hands out ``batches`` one per ``getmany``, then nothing; notes commits."""

    def __init__(
        self, batches: list[dict[TopicPartition, list[ConsumerRecord]]], refuse: Exception | None = None
    ) -> None:
        self.batches = batches
        self.refuse = refuse
        self.asked: list[int] = []
        """The ``timeout_ms`` of each ``getmany``."""
        self.committed: list[dict[TopicPartition, int]] = []
        self.stopped: list[list[dict[TopicPartition, int]]] = []
        """The commits made before each ``stop``."""

    async def getmany(self, timeout_ms: int) -> dict[TopicPartition, list[ConsumerRecord]]:
        self.asked.append(timeout_ms)
        if self.batches:
            return self.batches.pop(0)
        await asyncio.sleep(timeout_ms / 1000)
        return {}

    async def stop(self) -> None:
        self.stopped.append(list(self.committed))

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        if self.refuse is not None:
            raise self.refuse
        self.committed.append(offsets)


async def nothing_to_recover() -> None:
    return None


class HeldRoute:
    """A route whose batches the broker confirms only once :attr:`release` is set; notes what it
    was handed, and counts the batches confirmed in ``done``."""

    def __init__(self) -> None:
        self.handed: list[list[int]] = []
        self.entered = asyncio.Event()
        self.release = asyncio.Event()
        self.done = 0

    async def __call__(self, records: Sequence[ConsumerRecord]) -> Awaitable[None]:
        self.handed.append([r.offset for r in records])
        self.entered.set()
        return self._confirmed()

    async def _confirmed(self) -> None:
        await self.release.wait()
        self.done += 1


async def read_batches(reader: InputReader, route: HeldRoute, batches: int) -> None:
    """Run the reader until ``route`` has finished ``batches`` batches and they are committed."""
    task = asyncio.ensure_future(reader.read())
    deadline = time.monotonic() + 10
    while route.done < batches:
        assert time.monotonic() < deadline and not task.done(), "the reader stopped reading"
        await asyncio.sleep(0.01)
    task.cancel()
    await reader.settled()


def fake_reader(consumer: FakeConsumer, route: HeldRoute) -> InputReader:
    reader = InputReader(Settings(), ["hr.events"], route, nothing_to_recover)
    reader.consumer = consumer  # type: ignore[assignment]
    return reader


def test_a_batch_is_routed_whole_then_each_partition_committed_past_its_last_record():
    other = TopicPartition("hr.events", 3)
    consumer = FakeConsumer([{TP: [record(4), record(5)], other: [record(9, other)]}])
    route = HeldRoute()
    reader = fake_reader(consumer, route)

    async def run() -> None:
        task = asyncio.ensure_future(reader.read())
        await route.entered.wait()
        assert consumer.committed == []  # nothing committed while the batch is routed
        route.release.set()
        while not consumer.committed:
            await asyncio.sleep(0.01)
        task.cancel()

    asyncio.run(run())

    assert route.handed == [[4, 9, 5]]  # the partitions in turn
    assert consumer.committed == [{TP: 6, other: 10}]


def test_a_fetch_is_routed_partitions_in_turn_1000_records_a_batch_each_batch_committed():
    """aiokafka hands out one partition's records before the next's; a partition must not run
    a whole fetch ahead of the others (in event time: calls before the HR records of their hour)."""
    other = TopicPartition("hr.events", 3)
    consumer = FakeConsumer(
        [{TP: [record(i) for i in range(1500)], other: [record(i, other) for i in range(1000)]}]
    )
    route = HeldRoute()
    route.release.set()
    reader = fake_reader(consumer, route)

    asyncio.run(read_batches(reader, route, 3))

    assert [len(batch) for batch in route.handed] == [ROUTE_BATCH, ROUTE_BATCH, 500] and ROUTE_BATCH == 1000
    assert route.handed[0][:4] == [0, 0, 1, 1] and route.handed[1][-2:] == [999, 999]
    assert route.handed[2] == list(range(1000, 1500))
    assert consumer.committed == [{TP: 500, other: 500}, {TP: 1000, other: 1000}, {TP: 1500}]
    assert FETCH_BYTES == 256 * 1024


def test_the_next_batch_is_routed_while_the_broker_confirms_the_one_before_and_commits_keep_their_order():
    """The worker computes while the broker confirms; at most one batch waits for the broker while
    the next is routed, and no batch is committed before its confirmation."""
    consumer = FakeConsumer([{TP: [record(i) for i in range(2500)]}])
    confirmations: list[asyncio.Future[None]] = []

    async def route(records: Sequence[ConsumerRecord]) -> Awaitable[None]:
        confirmations.append(asyncio.get_running_loop().create_future())
        return confirmations[-1]

    reader = InputReader(Settings(), ["hr.events"], route, nothing_to_recover)
    reader.consumer = consumer  # type: ignore[assignment]

    async def until(done: Callable[[], bool]) -> None:
        while not done():
            await asyncio.sleep(0.01)

    async def run() -> None:
        task = asyncio.ensure_future(reader.read())
        await asyncio.wait_for(until(lambda: len(confirmations) == 2), 5)
        await asyncio.sleep(0.05)
        assert len(confirmations) == 2  # the third waits for the first to be committed
        confirmations[1].set_result(None)  # the second confirmed first
        await asyncio.sleep(0.05)
        assert consumer.committed == []  # not before the first
        confirmations[0].set_result(None)
        await asyncio.wait_for(until(lambda: len(confirmations) == 3), 5)
        confirmations[2].set_result(None)
        await asyncio.wait_for(until(lambda: len(consumer.committed) == 3), 5)
        task.cancel()

    asyncio.run(run())

    assert consumer.committed == [{TP: 1000}, {TP: 2000}, {TP: 2500}]


def test_a_batch_whose_confirmation_fails_unexpectedly_stops_the_worker_before_any_commit(monkeypatch):
    """Offsets are cumulative: a later batch's commit would cover records never confirmed."""
    import streams.input_reader

    stops: list[BaseException] = []
    monkeypatch.setattr(streams.input_reader, "fail_stop", stops.append)
    consumer = FakeConsumer([{TP: [record(0)]}])

    async def broken() -> None:
        raise RuntimeError("a bug")

    async def route(records: Sequence[ConsumerRecord]) -> Awaitable[None]:
        return broken()

    reader = InputReader(Settings(), ["hr.events"], route, nothing_to_recover)
    reader.consumer = consumer  # type: ignore[assignment]

    async def run() -> None:
        task = asyncio.ensure_future(reader.read())
        while not stops:
            await asyncio.sleep(0.01)
        task.cancel()

    asyncio.run(run())

    assert [type(e) for e in stops] == [RuntimeError] and consumer.committed == []


def test_a_stop_during_a_batch_finishes_and_commits_it_before_the_reader_leaves_its_group(monkeypatch):
    consumer = FakeConsumer([{TP: [record(0), record(1)]}])
    route = HeldRoute()
    reader = fake_reader(consumer, route)

    async def connect(self: InputReader) -> None:
        self.consumer = consumer  # the service as the worker runs it, on the fake consumer

    monkeypatch.setattr(InputReader, "on_start", connect)

    async def run() -> None:
        await reader.start()
        await route.entered.wait()
        stopping = asyncio.ensure_future(reader.stop())  # the worker stops while the batch is in flight
        await asyncio.sleep(0.05)
        assert not stopping.done() and not consumer.stopped  # still finishing the batch
        route.release.set()
        await stopping

    asyncio.run(run())

    assert route.done == 1 and consumer.committed == [{TP: 2}]
    assert consumer.stopped == [[{TP: 2}]]  # left the group after the commit


def test_a_rebalance_waits_for_the_batch_in_hand_to_be_committed():
    consumer = FakeConsumer([{TP: [record(0)]}])
    route = HeldRoute()
    reader = fake_reader(consumer, route)

    async def run() -> None:
        task = asyncio.ensure_future(reader.read())
        await route.entered.wait()
        revoked = asyncio.ensure_future(reader.on_partitions_revoked({TP}))
        await asyncio.sleep(0.05)
        assert not revoked.done()  # the partition is not given up half-way through its batch
        route.release.set()
        await revoked
        assert consumer.committed == [{TP: 1}]
        task.cancel()

    asyncio.run(run())


@pytest.mark.parametrize("refusal", [CommitFailedError("rebalanced meanwhile"), ValueError("offsets")])
def test_a_commit_the_group_refuses_is_logged_and_reading_goes_on(caplog, refusal):
    consumer = FakeConsumer([{TP: [record(0)]}, {TP: [record(1)]}], refuse=refusal)
    route = HeldRoute()
    route.release.set()
    reader = fake_reader(consumer, route)

    asyncio.run(read_batches(reader, route, 2))

    assert route.handed == [[0], [1]]
    assert [r for r in caplog.records if "not committed" in r.getMessage()]


def test_reading_starts_only_once_the_tables_are_recovered():
    consumer = FakeConsumer([{TP: [record(0)]}])
    route = HeldRoute()
    route.release.set()
    recovered = asyncio.Event()
    reader = InputReader(Settings(), ["hr.events"], route, lambda: recovered.wait())
    reader.consumer = consumer  # type: ignore[assignment]

    async def run() -> None:
        task = asyncio.ensure_future(reader.read())
        await asyncio.sleep(0.1)
        assert route.handed == [] and consumer.asked == []
        recovered.set()
        while not route.done:
            await asyncio.sleep(0.01)
        task.cancel()

    asyncio.run(run())


def broker_settings(broker) -> Settings:
    tag = uuid.uuid4().hex[:6]
    topics = Topics(**{name: f"in{tag}.{value}" for name, value in Topics().model_dump().items()})
    settings = Settings(kafka_broker=broker.url, topics=topics, app_id=f"input-{tag}")
    asyncio.run(ensure_topics(settings))
    return settings


async def read_until(settings: Settings, count: int, timeout: float = 60.0) -> list[ConsumerRecord]:
    """Run a reader until its route has been handed ``count`` records; stop it; return them."""
    handed: list[ConsumerRecord] = []

    async def route(records: Sequence[ConsumerRecord]) -> Awaitable[None]:
        handed.extend(records)
        return asyncio.sleep(0)  # the broker has all they published

    reader = InputReader(settings, [settings.topics.hr], route, nothing_to_recover)
    await reader.start()
    try:
        deadline = time.monotonic() + timeout
        while len(handed) < count and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # anything more than ``count`` would come now
    finally:
        await reader.stop()
    return handed


async def committed(
    settings: Settings, group: str, partitions: list[TopicPartition]
) -> dict[TopicPartition, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=settings.broker_servers, group_id=group)
    await consumer.start()
    try:
        return {tp: offset for tp in partitions if (offset := await consumer.committed(tp)) is not None}
    finally:
        await consumer.stop()


@pytest.mark.broker
def test_an_upgraded_reader_starts_at_the_faust_group_s_commit_then_goes_on_after_its_own(broker):
    """The first start after an upgrade from workers whose Faust agents read the input reads
    nothing twice; from then on the input group's own commits count."""
    settings = broker_settings(broker)
    hr = settings.topics.hr
    produce(broker.bootstrap, [(hr, {"n": i}, "same-key") for i in range(10)])  # one partition
    tp = TopicPartition(hr, (murmur2(b"same-key") & 0x7FFFFFFF) % settings.partitions)

    async def faust_group_had_read_six() -> None:
        consumer = AIOKafkaConsumer(bootstrap_servers=settings.broker_servers, group_id=settings.group_id)
        await consumer.start()
        try:
            consumer.assign([tp])
            await consumer.commit({tp: 6})
        finally:
            await consumer.stop()

    asyncio.run(faust_group_had_read_six())
    upgraded = asyncio.run(read_until(settings, 4))
    produce(broker.bootstrap, [(hr, {"n": i}, f"k{i}") for i in range(10, 30)])
    restarted = asyncio.run(read_until(settings, 20))

    assert [r.offset for r in upgraded] == [6, 7, 8, 9]
    assert sorted(r.value for r in restarted) == sorted(f'{{"n":{i}}}'.encode() for i in range(10, 30))
    partitions = [TopicPartition(hr, p) for p in range(settings.partitions)]
    ends: dict[TopicPartition, int] = {}
    for r in upgraded + restarted:
        ends[TopicPartition(r.topic, r.partition)] = r.offset + 1
    assert asyncio.run(committed(settings, input_group(settings), partitions)) == ends
