"""``StateTable``, the keyed hop's detector state (docs/architecture.md, docs/performance.md):
reads through a cache of encoded values, writes held until the batch is done, then each key
once to the changelog and, once the broker has it, to RocksDB; idle keys expire per partition.

A real Faust table on RocksDB; the aiokafka producer is faked (a unit edge) so the test
decides when the broker confirms a changelog batch.
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import orjson
import pytest
from faust.types import TP
from faust.utils import json

from detectors import load_policy
from streams.delivery import DeliveryError
from streams.process import DEMO_POLICY
from streams.settings import Settings
from streams.tables import StateTable
from streams.worker import build_pipeline


class Batch:
    """aiokafka's record batch, as the table fills it."""

    def __init__(self) -> None:
        self.records: list[tuple[bytes, bytes | None]] = []

    def append(self, key, value, timestamp):
        self.records.append((key, value))
        return object()


class ChangelogProducer:
    """Keeps every batch sent with a future the test resolves: the broker's answer."""

    def __init__(self, confirm_at_once: bool = False) -> None:
        self.confirm_at_once = confirm_at_once
        self.sent: list[tuple[int, list[tuple[bytes, bytes | None]], asyncio.Future[object]]] = []

    def create_batch(self) -> Batch:
        return Batch()

    async def send_batch(self, batch, topic, partition):
        future = asyncio.get_running_loop().create_future()
        self.sent.append((partition, batch.records, future))
        if self.confirm_at_once:
            self.confirm()
        return future

    def confirm(self, error: Exception | None = None) -> None:
        for partition, _, future in self.sent:
            if not future.done():
                if error:
                    future.set_exception(error)
                else:
                    future.set_result(SimpleNamespace(topic_partition=TP("changelog", partition), offset=0))


@pytest.fixture
def table(tmp_path, monkeypatch):
    """The worker's ``detector_state`` table; a key ``family|<text><digit>`` is on partition digit % 2."""
    pipeline = build_pipeline(Settings(role="detect", data_dir=tmp_path), load_policy(DEMO_POLICY))
    state = pipeline.tables.state
    producer = ChangelogProducer()
    pipeline.app.producer = SimpleNamespace(_ensure_producer=lambda: producer)
    # Faust takes the partition from the event being processed; here, from the key
    monkeypatch.setattr(state, "partition_for_key", lambda key: int(key[-1]) % 2)
    state.test_producer = producer
    state.test_engine = pipeline.engine
    return state


def in_rocksdb(table, key: str):
    value = table.data._db_for_partition(int(key[-1]) % 2).get(json.dumps(key))
    return None if value is None else orjson.loads(value)


def test_a_batch_writes_each_key_once_to_the_changelog_and_to_rocksdb_only_once_the_broker_has_it(table):
    producer = table.test_producer

    async def batch():
        for n in range(3):
            table["conduct|D0"] = {"n": n}
        table["conduct|D1"] = {"n": 10}
        table["conduct|D2"] = {"n": 20}
        assert table.get("conduct|D0") == {"n": 2}  # the batch reads its own writes
        assert producer.sent == [] and in_rocksdb(table, "conduct|D0") is None  # held until done
        flushing = asyncio.create_task(table.flush())
        await asyncio.sleep(0.05)
        sent = sorted((partition, records) for partition, records, _ in producer.sent)
        assert sent == [  # one producer batch per partition, each key once with its last value
            (0, [(b'"conduct|D0"', b'{"n":2}'), (b'"conduct|D2"', b'{"n":20}')]),
            (1, [(b'"conduct|D1"', b'{"n":10}')]),
        ]
        assert not flushing.done() and in_rocksdb(table, "conduct|D0") is None  # not before the broker
        producer.confirm()
        await flushing

    asyncio.run(batch())
    assert in_rocksdb(table, "conduct|D0") == {"n": 2} and in_rocksdb(table, "conduct|D1") == {"n": 10}


def test_a_changelog_batch_the_broker_refuses_writes_nothing_to_rocksdb(table):
    async def batch():
        table["conduct|D0"] = {"n": 1}
        flushing = asyncio.create_task(table.flush())
        await asyncio.sleep(0.05)
        table.test_producer.confirm(RuntimeError("refused"))
        await flushing

    with pytest.raises(DeliveryError, match="changelog"):
        asyncio.run(batch())
    assert in_rocksdb(table, "conduct|D0") is None


def test_a_rollback_takes_back_one_message_s_writes_and_keeps_the_earlier_ones_of_the_batch(table):
    """The keyed hop flushes several messages at once; one that fails is taken back alone."""
    table.test_producer.confirm_at_once = True

    async def batch():
        table["conduct|D0"] = {"n": 0}
        await table.flush()  # D0 is in RocksDB from an earlier batch
        table.begin(0)
        table["conduct|D0"] = {"n": 1}  # the first message of the batch
        table["conduct|D1"] = {"n": 1}
        table.begin(0)
        table["conduct|D0"] = {"n": 2}  # the second, which then fails
        table["conduct|D2"] = {"n": 2}
        table["conduct|D2"] = {"n": 3}
        table.rollback()
        assert table.get("conduct|D0") == {"n": 1} and table.get("conduct|D2") is None
        table.begin(0)
        table["conduct|D3"] = {"n": 3}  # the third
        await table.flush()

    asyncio.run(batch())
    changelog = sorted(record for _, records, _ in table.test_producer.sent[1:] for record in records)
    assert changelog == [
        (b'"conduct|D0"', b'{"n":1}'),
        (b'"conduct|D1"', b'{"n":1}'),
        (b'"conduct|D3"', b'{"n":3}'),
    ]
    assert in_rocksdb(table, "conduct|D0") == {"n": 1} and in_rocksdb(table, "conduct|D2") is None


def test_a_rollback_of_a_message_s_only_writes_to_a_partition_sends_it_nothing(table):
    table.test_producer.confirm_at_once = True

    async def batch():
        table["conduct|D0"] = {"n": 0}
        table.begin(0)
        table["conduct|D1"] = {"n": 1}
        table.rollback()
        await table.flush()

    asyncio.run(batch())
    assert [partition for partition, _, _ in table.test_producer.sent] == [0]


def test_a_keyed_message_s_keys_are_read_and_written_in_the_message_s_own_partition(table, monkeypatch):
    """The hop takes several messages at once, outside Faust's per-event iteration, so the
    partition comes from the message in hand (``begin``), not from Faust's current event."""
    monkeypatch.setattr(
        table, "partition_for_key", StateTable.partition_for_key.__get__(table)
    )  # not the fixture's
    table.test_producer.confirm_at_once = True

    async def batch():
        table.begin(3)
        table["conduct|D0"] = {"n": 1}
        await table.flush()

    asyncio.run(batch())
    assert [partition for partition, _, _ in table.test_producer.sent] == [3]
    assert table.data._db_for_partition(3).get(b'"conduct|D0"') == b'{"n":1}'
    table._cache.clear()
    table.begin(3)
    assert table.get("conduct|D0") == {"n": 1}


def test_a_key_not_in_the_cache_is_looked_up_in_its_own_partition_s_rocksdb_only(table, monkeypatch):
    """Faust's own lookup, without a current event, tries every partition's database."""
    monkeypatch.setattr(table, "partition_for_key", StateTable.partition_for_key.__get__(table))
    table.data._db_for_partition(0).put(b'"conduct|X"', b'{"n":0}')
    table.begin(1)
    assert table.get("conduct|X") is None
    table.begin(0)
    assert table.get("conduct|X") == {"n": 0}


def test_a_partition_s_rows_and_changelog_offset_go_to_rocksdb_in_one_write(table, monkeypatch):
    table.test_producer.confirm_at_once = True
    writes: list[tuple[int, int]] = []
    open_db = table.data._db_for_partition

    class Counted:
        def __init__(self, partition: int) -> None:
            self.partition, self.db = partition, open_db(partition)

        def write(self, batch) -> None:
            writes.append((self.partition, batch.len()))
            self.db.write(batch)

        def put(self, key, value) -> None:
            writes.append((self.partition, 1))
            self.db.put(key, value)

        def get(self, key):
            return self.db.get(key)

    monkeypatch.setattr(table.data, "_db_for_partition", Counted)

    async def batch():
        table["conduct|D0"] = {"n": 0}
        table["conduct|D2"] = {"n": 2}
        await table.flush()

    asyncio.run(batch())
    assert writes == [(0, 3)]  # both keys and the offset, at once
    assert open_db(0).get(table.data.offset_key) == b"1"  # the changelog offset of the second row
    assert in_rocksdb(table, "conduct|D2") == {"n": 2}


def test_a_rollback_after_a_rebalance_writes_nothing_to_a_revoked_partition(table):
    """A rebalance drops the writes of revoked partitions; taking a message back must not
    bring them back (the partition's new owner reads its messages again)."""
    table.test_producer.confirm_at_once = True

    async def batch():
        table.begin(1)
        table["conduct|D1"] = {"n": 1}  # an earlier message of partition 1
        table.begin(1)
        table["conduct|D1"] = {"n": 2}  # the message that then fails
        await table.on_rebalance(set(), {TP(table.changelog_topic.get_topic_name(), 1)}, set())
        table.rollback()
        await table.flush()

    asyncio.run(batch())
    assert table.test_producer.sent == []


def test_writes_not_flushed_yet_are_read_even_after_the_cache_was_dropped(table):
    """A rebalance drops the cache while a batch may still hold writes of kept partitions."""
    table["conduct|D0"] = {"n": 1}
    table._cache.clear()
    assert table.get("conduct|D0") == {"n": 1}


def test_reads_come_from_a_cache_of_recent_values_each_reader_with_its_own_copy(table, monkeypatch):
    table.test_producer.confirm_at_once = True
    table.cache_keys = 2

    async def batch():
        for n in range(3):
            table[f"conduct|D{n}"] = {"n": n, "log": []}
        await table.flush()

    asyncio.run(batch())
    reads: list[str] = []
    read = table._read
    monkeypatch.setattr(table, "_read", lambda partition, key: reads.append(key) or read(partition, key))

    mine = table.get("conduct|D2")
    mine["log"].append("changed by a detector that then failed")
    assert table.get("conduct|D2") == {"n": 2, "log": []} and reads == []  # from the cache, a copy
    assert table.get("conduct|D0") == {"n": 0, "log": []}  # the least recently used went to RocksDB
    assert reads == ["conduct|D0"]


def test_idle_keys_expire_by_their_own_partition_s_newest_event_time(table):
    table.test_producer.confirm_at_once = True
    engine = table.test_engine
    horizon = engine.state_horizon["conduct"]
    last = 1_800_000_000.0

    async def sweep(partition: int, newest: float) -> tuple[int, int]:
        table.advance(partition, newest)
        return await table.expire(engine.expired)

    async def run() -> None:
        table["conduct|D0"] = {"last": last}
        table["conduct|D1"] = {"last": last}
        await table.flush()
        table.advance(1, last)  # partition 1 receives nothing newer than its key
        assert await sweep(0, last + horizon + 1) == (1, 1)
        assert in_rocksdb(table, "conduct|D0") is None and in_rocksdb(table, "conduct|D1") == {"last": last}
        assert await sweep(1, last + horizon) == (1, 0)  # within the horizon
        assert await sweep(1, last + horizon + 1) == (0, 1)  # until its own events move on

    asyncio.run(run())
    assert in_rocksdb(table, "conduct|D1") is None
    tombstones = [records for _, records, _ in table.test_producer.sent[-2:]]
    assert tombstones == [[(b'"conduct|D0"', None)], [(b'"conduct|D1"', None)]]


def test_each_partition_s_rocksdb_has_bounded_write_buffers_and_cache(table):
    """docs/performance.md, *Memory*: not Faust's three 64 MiB buffers and 2 GiB cache a partition."""
    options = table.data.rocksdb_options
    assert options.write_buffer_size == 16 * 1024**2 and options.max_write_buffer_number == 2
    assert options.block_cache_size == 64 * 1024**2
    in_rocksdb(table, "harassment|k0")  # opens partition 0's database with them
