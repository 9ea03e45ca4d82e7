"""The fixes to Faust's consumer (the consumer is faked: a unit edge)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

from faust.transport.drivers import aiokafka as driver
from faust.types import TP

from streams.consumer_fixes import _seek_uncommitted_to_beginning


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
