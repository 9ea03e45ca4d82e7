"""The fixes to Faust's consumer (the consumer is faked: a unit edge)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from aiokafka.consumer.fetcher import Fetcher
from faust.transport.consumer import Consumer
from faust.transport.drivers import aiokafka as driver
from faust.types import TP, Message

from streams.consumer_fixes import (
    _ack_only_taken_in,
    _forget_fetched_before_seek,
    _seek_uncommitted_to_beginning,
    fetched_before_seek,
)


class FakeConsumer:
    def __init__(self) -> None:
        self.to_beginning: list[TP] = []

    async def seek_to_beginning(self, *partitions: TP) -> None:
        self.to_beginning.extend(partitions)


def test_partitions_without_a_commit_start_at_their_beginning(monkeypatch):
    committed = {TP("calls", 0): 42, TP("calls", 1): None, TP("calls", 2): 0, TP("x-changelog", 0): None}

    async def seek_to_committed(self):
        return committed

    monkeypatch.setattr(driver.AIOKafkaConsumerThread, "seek_to_committed", seek_to_committed)
    _seek_uncommitted_to_beginning()
    consumer = FakeConsumer()

    async def call_thread(method, *args):
        return await method(*args)

    thread = SimpleNamespace(
        app=SimpleNamespace(tables=SimpleNamespace(changelog_topics={"x-changelog"})),
        _ensure_consumer=lambda: consumer,
        call_thread=call_thread,
    )
    result = asyncio.run(driver.AIOKafkaConsumerThread.seek_to_committed(thread))
    assert result == committed
    assert consumer.to_beginning == [TP("calls", 1), TP("calls", 2)]  # never a changelog: recovery's own


class FakeFetcher:
    """aiokafka's fetcher: only the seek calls the fix counts."""

    def seek_to(self, tp, offset) -> None: ...

    def request_offset_reset(self, tps, strategy) -> None: ...


def message_of(tp: TP, offset: int) -> Message:
    return Message(tp.topic, tp.partition, offset, 0.0, 0, {}, b"k", b"v", None, generation_id=3)


def test_records_fetched_before_a_seek_are_not_handed_out_or_acknowledged(monkeypatch):
    tp = TP("keyed", 0)
    fetcher = FakeFetcher()
    first, second = message_of(tp, 10), message_of(tp, 11)
    batches = []

    async def fetch_records(self, consumer, active_partitions, timeout=None, max_records=None):
        return {tp: ["record"]}

    async def wait_next_records(self, timeout):
        return batches.pop(0), None

    async def getmany(self, timeout):  # Faust's, reduced: one fetch, its records handed out in turn
        await Consumer._wait_next_records(self, timeout)
        for message in (first, second):
            yield tp, message

    async def perform_seek(self):
        Fetcher.seek_to(fetcher, tp, 5)
        self._read_offset[tp] = 5

    monkeypatch.setattr(Fetcher, "seek_to", FakeFetcher.seek_to)
    monkeypatch.setattr(Fetcher, "request_offset_reset", FakeFetcher.request_offset_reset)
    monkeypatch.setattr(driver.AIOKafkaConsumerThread, "_fetch_records", fetch_records)
    monkeypatch.setattr(Consumer, "_wait_next_records", wait_next_records)
    monkeypatch.setattr(Consumer, "getmany", getmany)
    monkeypatch.setattr(Consumer, "perform_seek", perform_seek)
    monkeypatch.setattr(Consumer, "ack", lambda self, message: True)
    _forget_fetched_before_seek()
    _ack_only_taken_in()
    consumer = SimpleNamespace(
        _read_offset={}, app=SimpleNamespace(tables=SimpleNamespace(changelog_topics=set()))
    )

    async def scenario() -> list[Message]:
        thread = SimpleNamespace()
        batches.append(
            await driver.AIOKafkaConsumerThread._fetch_records(
                thread, SimpleNamespace(_fetcher=fetcher), None
            )
        )
        handed = []
        async for _, message in Consumer.getmany(consumer, timeout=1.0):
            handed.append(message)
            consumer._read_offset[tp] = message.offset  # as Faust's drain loop does
            await Consumer.perform_seek(consumer)  # a rebalance ends while the first is handed on
        return handed

    assert asyncio.run(scenario()) == [first]  # the second was fetched before the seek: fetched again
    assert consumer._read_offset[tp] == 5  # the offset the seek set, not the first record's
    assert fetched_before_seek(first)
    first.tracked = True
    assert Consumer.ack(consumer, first) is False  # never counted as done
