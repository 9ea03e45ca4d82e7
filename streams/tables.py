"""Faust tables: detector state (per key, RocksDB) and the company directory (global)."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass
from typing import Any

import faust
import orjson
from aiokafka.structs import RecordMetadata
from faust.types import TP
from faust.utils import json
from rocksdict import WriteBatch

from streams.delivery import DeliveryError, Outbox
from streams.settings import Settings

log = logging.getLogger(__name__)

JSON_SCHEMA = faust.Schema(key_serializer="json", value_serializer="json")
"""Table keys are strings and values JSON documents (detector state is plain dicts and lists).
``StateTable`` encodes with ``faust.utils.json.dumps``, the function behind this codec, without
the serializer registry around it (3.6 -> 1.4 µs a value)."""
CACHE_KEYS = 50_000
"""Encoded detector-state values a worker keeps in memory (about 1 KB each)."""
_ABSENT = object()
"""What an undo entry holds for a key that had no value (:meth:`StateTable.begin`)."""

ROCKSDB_OPTIONS: dict[str, int] = {
    "write_buffer_size": 16 * 1024**2,
    "max_write_buffer_number": 2,
    "block_cache_size": 64 * 1024**2,
}
"""RocksDB sizes of each partition's state database, so that memory stays bounded as keys grow.

Faust's defaults are three 64 MiB write buffers and a 2 GiB block cache per partition: with a
million keys every partition's whole state still sat in its first write buffer. Recent values
are in :class:`StateTable`'s own cache anyway; RocksDB's cache serves the colder keys.
"""


class StateTable(faust.Table):
    """Detector state: a Faust table read through a cache and written back once per batch.

    Faust sends one changelog record per write through its producer buffer (``send_soon``),
    about 95 µs a record here against 17 µs for ``producer.send`` itself, and decodes every
    read through its serializer registry (measured; ``docs/performance.md``). This table
    keeps recently used values as encoded JSON (so a reader always gets its own copy and a
    detector that fails half-way cannot leave a half-changed value behind), and keeps the
    last value of each key written while a batch is processed. :meth:`flush` then sends
    each such key once to the changelog and, once the broker has it, writes it to RocksDB,
    before the batch's source message is acknowledged, with the persisted changelog offset
    in the same RocksDB write batch. On a rebalance the cache is dropped: another worker may have
    changed a partition in the meantime.
    """

    def __init__(self, app: faust.App, cache_keys: int = CACHE_KEYS, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self.cache_keys = cache_keys
        self._cache: OrderedDict[str, bytes] = OrderedDict()
        self._unflushed: dict[int, dict[str, bytes | None]] = defaultdict(dict)
        self._undo: list[tuple[int, str, Any]] | None = None
        self._partition: int | None = None
        self._watermarks: dict[int, float] = {}

    def get(self, key: str, default: Any = None) -> Any:
        """The value of ``key`` (a fresh copy), from the cache, the writes not flushed yet or RocksDB."""
        encoded = self._cache.get(key)
        if encoded is None:  # not flushed yet (a rebalance or a rollback dropped it), or cold
            partition = self.partition_for_key(key)
            unflushed = self._unflushed.get(partition, {})
            encoded = unflushed[key] if key in unflushed else self._read(partition, key)
            if encoded is None:
                return default
            self._cache[key] = encoded
        else:
            self._cache.move_to_end(key)
        return orjson.loads(encoded)

    def __setitem__(self, key: str, value: Any) -> None:
        encoded = json.dumps(value)
        partition = self.partition_for_key(key)
        assert partition is not None  # noqa: S101 - written only within a keyed message (begin)
        if self._undo is not None:
            self._undo.append((partition, key, self._unflushed[partition].get(key, _ABSENT)))
        self._cache[key] = encoded
        self._cache.move_to_end(key)
        self._unflushed[partition][key] = encoded

    def __delitem__(self, key: str) -> None:
        self._cache.pop(key, None)
        for records in self._unflushed.values():
            records.pop(key, None)
        super().__delitem__(key)

    async def flush(self) -> None:
        """Write every key set (or deleted) since the last flush to the changelog, then to RocksDB.

        Changelog records go out as one producer batch per partition (a ``send_batch`` of
        aiokafka's, not a future per record). Only once the broker has acknowledged them are
        they written to RocksDB and the persisted changelog offset recorded, so the local state
        (with its dedup memory) is never ahead of what a recovering worker would read back.
        The caller flushes after the batch's own records were delivered and before the batch
        is acknowledged. Raises :class:`~streams.delivery.DeliveryError` if the changelog
        refuses a batch: the caller must not acknowledge.
        """
        self._undo = None
        if self._unflushed:
            unflushed, self._unflushed = self._unflushed, defaultdict(dict)
            producer = self.app.producer._ensure_producer()  # the aiokafka producer
            topic = self.changelog_topic.get_topic_name()
            sent: list[tuple[int, list[tuple[bytes, bytes | None]], asyncio.Future[RecordMetadata]]] = []
            for partition, records in unflushed.items():
                if not records:  # every write of the partition was taken back
                    continue
                batch, rows = producer.create_batch(), []
                for key, encoded in records.items():
                    key_bytes = json.dumps(key)
                    if batch.append(key=key_bytes, value=encoded, timestamp=None) is None:
                        sent.append(
                            (partition, rows, await producer.send_batch(batch, topic, partition=partition))
                        )
                        batch, rows = producer.create_batch(), []
                        batch.append(key=key_bytes, value=encoded, timestamp=None)
                    rows.append((key_bytes, encoded))
                sent.append((partition, rows, await producer.send_batch(batch, topic, partition=partition)))
            for partition, rows, delivered in sent:
                try:
                    first = await delivered  # a batch's metadata carries its first offset
                except Exception as error:
                    raise DeliveryError(f"changelog batch of {self.name} not delivered: {error!r}") from error
                self._write(partition, rows, first.offset + len(rows) - 1)
        while len(self._cache) > self.cache_keys:
            self._cache.popitem(last=False)

    def advance(self, partition: int, event_time: float) -> None:
        """Note an event time partition ``partition`` has seen: its newest is the partition's
        expiry watermark (:meth:`expire`)."""
        if event_time > self._watermarks.get(partition, 0.0):
            self._watermarks[partition] = event_time

    async def expire(self, expired: Callable[[str, Any, float], bool]) -> tuple[int, int]:
        """Delete the keys of the partitions this worker detects on that
        ``expired(key, value, watermark)`` lets go: each as a tombstone to the changelog and,
        once the broker has it, a RocksDB delete (:meth:`flush`). Returns (live, deleted)."""
        store = self.data
        live = deleted = 0
        for partition, watermark in list(self._watermarks.items()):
            db = store._dbs.get(partition)
            if db is None:
                continue
            for key_bytes, value in store._visible_items(db):
                key = orjson.loads(key_bytes)
                if expired(key, orjson.loads(value), watermark):
                    self._cache.pop(key, None)
                    self._unflushed[partition][key] = None
                    deleted += 1
                else:
                    live += 1
        await self.flush()
        return live, deleted

    def begin(self, partition: int) -> None:
        """Start one keyed message of ``partition``: its keys are that partition's, and its
        writes are noted so that :meth:`rollback` can take them back.

        The keyed hop flushes once for several messages; one that fails is dead-lettered
        and its writes taken back, while the writes of the messages before it stay.
        """
        self._partition = partition
        self._undo = []

    def partition_for_key(self, key: Any) -> int | None:
        """The partition of the keyed message in hand (:meth:`begin`): all its keys hash to it.
        Faust's own takes it from the stream's current event, which a batch does not have."""
        return self._partition

    def rollback(self) -> None:
        """Take back every write since the last :meth:`begin`, newest first."""
        for partition, key, before in reversed(self._undo or []):
            if before is _ABSENT:
                self._unflushed[partition].pop(key, None)
            else:
                self._unflushed[partition][key] = before
            self._cache.pop(key, None)  # read again from the writes kept, or RocksDB
        self._undo = []

    def _read(self, partition: int | None, key: str) -> bytes | None:
        """RocksDB read of ``key`` in ``partition``'s database. Faust's ``Store._get`` knows
        the partition only from the current event, which a batch does not have, and then
        looks in every partition's database, one lookup each, for every key not stored yet."""
        assert partition is not None  # noqa: S101 - read only within a keyed message (begin)
        return self.data._db_for_partition(partition).get(json.dumps(key))

    def _write(self, partition: int, rows: list[tuple[bytes, bytes | None]], offset: int) -> None:
        """One RocksDB write batch in ``partition``'s database: ``rows`` (``None`` deletes) and
        the changelog offset they reach, together. A write per key cost 2.6 µs against 0.9 µs
        in a batch (measured), and the state and its offset can no longer part in a crash."""
        store = self.data
        batch = WriteBatch(raw_mode=True)  # rocksdict, the only RocksDB driver installed
        for key, value in rows:
            if value is None:
                store._key_index.pop(key, None)
                batch.delete(key)
            else:
                store._key_index[key] = partition
                batch.put(key, value)
        batch.put(store.offset_key, str(offset).encode())
        store._db_for_partition(partition).write(batch)

    async def on_rebalance(
        self, assigned: set[TP], revoked: set[TP], newly_assigned: set[TP], generation_id: int = 0
    ) -> None:
        """Drop the cache, and writes of revoked partitions (their source was not acknowledged)."""
        self._cache.clear()
        for tp in revoked:
            self._unflushed.pop(tp.partition, None)
            self._watermarks.pop(tp.partition, None)
        if self._undo:
            gone = {tp.partition for tp in revoked}
            self._undo = [entry for entry in self._undo if entry[0] not in gone]
        await super().on_rebalance(assigned, revoked, newly_assigned, generation_id)


class DirectoryView(MutableMapping[str, Any]):
    """The directory table as routing and the detectors use it.

    The directory is a global table on the ``memory://`` store, whose values are kept
    decoded in a plain dict; reads go to that dict directly (routing and detection read it
    about twice per event). Writes change the dict at once and are kept until
    :meth:`flush` sends them to the table's changelog through the batch's outbox: the
    input hop confirms them *before* it sends the keyed copies that were routed with them.
    Faust's own table writes (``send_soon``) would reach the changelog only at the next
    commit, so after a crash a keyed copy could be detected by a restarted worker whose
    recovered directory lacks the HR record that copy was routed with (an emergency contact
    who is a colleague would then not be recognised, and the copy's id would be remembered
    as seen). Changelog recovery and other workers' writes still arrive through Faust.
    """

    def __init__(self, table: faust.GlobalTable) -> None:
        self.table = table
        self._unflushed: dict[str, Any] = {}

    @property
    def _values(self) -> dict[str, Any]:
        return self.table.data.data

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def get(self, key: str, default: Any = None) -> Any:
        """The value of ``key``, or ``default``."""
        return self._values.get(key, default)

    def __contains__(self, key: object) -> bool:
        return key in self._values

    def __setitem__(self, key: str, value: Any) -> None:
        self._values[key] = value
        self._unflushed[key] = value

    def __delitem__(self, key: str) -> None:
        del self._values[key]
        self._unflushed[key] = None  # a tombstone in the changelog

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    @property
    def pending(self) -> int:
        """Keys changed since the last :meth:`flush`."""
        return len(self._unflushed)

    async def flush(self, outbox: Outbox) -> None:
        """Hand every changed key to ``outbox``, for the changelog (one partition), once each."""
        unflushed, self._unflushed = self._unflushed, {}
        topic = self.table.changelog_topic.get_topic_name()
        for key, value in unflushed.items():
            await outbox.send(
                topic, None if value is None else json.dumps(value), key=json.dumps(key), partition=0
            )


@dataclass(frozen=True)
class PipelineTables:
    """The worker's durable state."""

    state: StateTable
    directory: DirectoryView


def declare_tables(app: faust.App, settings: Settings) -> PipelineTables:
    """Declare the tables on ``app``."""
    state = StateTable(
        app,
        name="detector_state",
        beacon=app.tables.beacon,
        partitions=settings.partitions,
        schema=JSON_SCHEMA,
        options=dict(ROCKSDB_OPTIONS),  # Faust's store takes keys out of this dict
        help="Per-key detector state: event logs, dedup ids and open alerts, keyed like the keyed topic.",
    )
    app.tables.add(state)
    directory = app.GlobalTable(
        "directory",
        partitions=1,
        use_partitioner=True,
        recovery_buffer_size=1,
        store="memory://directory",  # small; rebuilt from its changelog at start
        schema=JSON_SCHEMA,
        help="Company directory (phone/e-mail -> employee); every worker holds all of it.",
    )
    return PipelineTables(state=state, directory=DirectoryView(directory))
