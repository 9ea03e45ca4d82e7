"""Fixes to Faust's consumer, applied once before the app is built.

Each one closes a way input was skipped or read too slowly, found by the restart tests
(``tests/test_integration/test_failures.py``) or the bench, and says how.
"""

from __future__ import annotations

import weakref
from collections import defaultdict
from typing import Any

STALE = -1
"""The ``generation_id`` given to a message fetched before a seek (:func:`_forget_fetched_before_seek`)."""


def apply_consumer_fixes(fetch_max_wait_ms: int) -> None:
    """Apply every fix (each at most once per process)."""
    _lower_fetch_wait(fetch_max_wait_ms)
    _seek_uncommitted_to_beginning()
    _forget_fetched_before_seek()
    _ack_only_taken_in()


def fetched_before_seek(message: Any) -> bool:
    """Whether ``message`` was fetched before its partition was sought back: it is read again."""
    return message.generation_id == STALE


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


class _Fetched(dict):
    """Records of one fetch, with each partition's seek count when they were fetched."""

    seeks_then: dict[Any, int]
    seeks_now: dict[Any, int]


def _seek_counts(fetcher: Any) -> defaultdict[Any, int]:
    """How often each partition of aiokafka's ``fetcher`` was sought (its consumer thread bumps it)."""
    return fetcher.__dict__.setdefault("_cm_seeks", defaultdict(int))


def _forget_fetched_before_seek() -> None:
    """Make a seek also forget the records fetched before it.

    Faust seeks every stream partition back to its committed offset at the end of a
    rebalance (and when it fetched while flow was stopped), but its drain loop goes on
    handing out the rest of the batch it fetched before: the first of those sets the read
    offset ahead again, Faust books the offsets in between as a gap that counts as done,
    and the records read again from the committed offset are dropped as already read.
    The two-worker restart test lost 4-25 keyed batches per partition this way.

    Now every fetch notes how often each of its partitions had been sought (aiokafka's
    consumer thread seeks and fetches in turn, so the count is exact), and a record whose
    partition was sought since it was fetched is not handed out: aiokafka fetches it again
    from the new position. One handed out already is marked :data:`STALE` once the seek is
    done (a stream skips a record of another generation, the agents skip it, and it is never
    acknowledged: :func:`_ack_only_taken_in`), and the read offset it set is put back.
    """
    from aiokafka.consumer.fetcher import Fetcher
    from faust.transport.consumer import Consumer
    from faust.transport.drivers import aiokafka as driver

    original_seek_to, original_reset = Fetcher.seek_to, Fetcher.request_offset_reset
    original_fetch = driver.AIOKafkaConsumerThread._fetch_records
    original_wait, original_getmany = Consumer._wait_next_records, Consumer.getmany
    original_seek = Consumer.perform_seek
    if getattr(original_seek, "_cm_patched", False):
        return

    def seek_to(self, tp, offset):
        _seek_counts(self)[tp] += 1
        return original_seek_to(self, tp, offset)

    def request_offset_reset(self, tps, strategy):
        counts = _seek_counts(self)
        for tp in tps:
            counts[tp] += 1
        return original_reset(self, tps, strategy)

    async def _fetch_records(self, consumer, active_partitions, timeout=None, max_records=None):
        records = await original_fetch(
            self, consumer, active_partitions, timeout=timeout, max_records=max_records
        )
        fetched = _Fetched(records)
        fetched.seeks_now = _seek_counts(consumer._fetcher)
        fetched.seeks_then = {tp: fetched.seeks_now[tp] for tp in records}
        return fetched

    async def _wait_next_records(self, timeout):
        records, active = await original_wait(self, timeout)
        self.__dict__["_cm_fetched"] = records
        return records, active

    def sought_since(fetched: Any, tp: Any) -> bool:
        return isinstance(fetched, _Fetched) and fetched.seeks_then.get(tp) != fetched.seeks_now.get(tp)

    def handed_out(consumer: Any) -> weakref.WeakKeyDictionary:
        return consumer.__dict__.setdefault("_cm_handed_out", weakref.WeakKeyDictionary())

    async def getmany(self, timeout):
        records = original_getmany(self, timeout)
        try:
            async for tp, message in records:
                fetched = self.__dict__.get("_cm_fetched")
                if sought_since(fetched, tp):
                    continue  # aiokafka fetches it again from the new position
                handed_out(self)[message] = fetched
                yield tp, message
                if sought_since(fetched, tp):  # the seek came while this record was handed on
                    read_offsets = self.__dict__.get("_cm_read_offsets", {})
                    if tp in read_offsets:
                        self._read_offset[tp] = read_offsets[tp]
        finally:
            await records.aclose()

    async def perform_seek(self):
        await original_seek(self)
        changelogs = self.app.tables.changelog_topics  # recovery reads these by its own offsets
        records = handed_out(self)
        for message, fetched in list(records.items()):
            if message.topic not in changelogs and sought_since(fetched, message.tp):
                message.generation_id = STALE
                del records[message]
        self.__dict__["_cm_read_offsets"] = {
            tp: offset for tp, offset in self._read_offset.items() if tp.topic not in changelogs
        }

    perform_seek._cm_patched = True  # type: ignore[attr-defined]
    Fetcher.seek_to, Fetcher.request_offset_reset = seek_to, request_offset_reset
    driver.AIOKafkaConsumerThread._fetch_records = _fetch_records
    Consumer._wait_next_records, Consumer.getmany = _wait_next_records, getmany
    Consumer.perform_seek = perform_seek


def _ack_only_taken_in() -> None:
    """Make the consumer count as done only records a stream took in, and not stale ones.

    Faust's pure-Python stream acknowledges a record it skips (fetched under an earlier
    generation, or while flow is stopped) as if processed, and a batch taken before a seek
    (:func:`_forget_fetched_before_seek`) is acknowledged when its agent ends it: their
    offsets would be committed before the records are read again, and lost if the worker
    dies or the partition moves meanwhile. A record a stream took in is ``tracked``.
    """
    from faust.transport.consumer import Consumer

    original = Consumer.ack
    if getattr(original, "_cm_patched", False):
        return

    def ack(self, message):
        if not message.tracked or message.generation_id == STALE:
            return False
        return original(self, message)

    ack._cm_patched = True  # type: ignore[attr-defined]
    Consumer.ack = ack
