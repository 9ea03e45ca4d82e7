"""The worker's agents: validate and route input, detect per key, store alerts.

Hops: an input event is read once by the input hop (``streams.input_reader`` fetches the
input topics in batches and hands them to :meth:`Pipeline.route_batch`, which also applies
HR records to the global directory table) and, for each key family that wants it, once
more by ``detect_by_key``, in a batch of copies whose keys hash to one partition of the
repartition topic (so each key's state lives in one table partition, and Faust's
per-message cost of the second hop is shared by the batch). ``store_alerts`` and
``store_pseudonyms`` write what detection published to the alert store.

Every hop confirms what a batch publishes before the batch is acknowledged, and the
second hop writes its state only after that (``streams.delivery``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

import faust
import orjson
from aiokafka.partitioner import murmur2

from detectors import Engine
from detectors.base import Routed
from detectors.distress.risk_score import Signal
from detectors.engine import Output
from detectors.privacy import PseudonymRecord
from events import Action, Alert, Rejection, parse_event, parse_event_dict
from sinks import metrics
from sinks.base import Sink
from sinks.exceptions import SinkError
from sinks.kafka import alert_record, deadletter_record
from streams import frames
from streams.actions.commands import RequestCommand
from streams.console.triage import AuditRecord
from streams.consumer_fixes import fetched_before_seek
from streams.delivery import DeliveryError, Outbox, fail_stop, finish_before_ack
from streams.handoff import Handoff
from streams.input_reader import InputReader, Record
from streams.logs import position
from streams.tables import PipelineTables, StateTable
from streams.topics import PipelineTopics

log = logging.getLogger(__name__)
MAX_BATCH_BYTES = 256 * 1024
MAX_COPY_BYTES = 900_000
"""Largest keyed copy forwarded: below Kafka's default message size (1 MB) with room for the batch.
A bigger event is dead-lettered (``too_large``) instead of failing its whole batch."""
KEYED_BATCH = 64
KEYED_WITHIN = 0.02
"""Most keyed messages, and longest wait, of one batch of the keyed hop: their outputs are
confirmed and their state flushed together, one or two broker round trips for all of them
instead of for each (docs/performance.md, *Keyed batches*)."""
RISK = "risk"
"""Keyed-topic family of risk-score signals (alerts about an employee, keyed by employee)."""


@lru_cache(maxsize=1 << 16)
def _murmur2(key: str) -> int:
    """Kafka's key hash (aiokafka's is pure Python, 2.5 µs; keys repeat across events)."""
    return murmur2(key.encode()) & 0x7FFFFFFF


@dataclass(slots=True)
class _Tally:
    """An input batch's counts, added to the metrics once per batch instead of once per event."""

    consumed: Counter[str] = field(default_factory=Counter)
    processed: Counter[tuple[str, str]] = field(default_factory=Counter)
    sent: Counter[str] = field(default_factory=Counter)
    event_time: dict[str, float] = field(default_factory=dict)
    """Per topic, the event time of its last valid event (``cm_event_time_lag_seconds``)."""

    def publish(self) -> None:
        for topic, count in self.consumed.items():
            metrics.child(metrics.EVENTS_CONSUMED, topic).inc(count)
        for (topic, event_type), count in self.processed.items():
            metrics.child(metrics.EVENTS_PROCESSED, topic, event_type).inc(count)
        for family, count in self.sent.items():
            metrics.child(metrics.KEYED_SENT, family).inc(count)
        now = time.time()
        for topic, event_time in self.event_time.items():
            metrics.child(metrics.EVENT_TIME_LAG, topic).set(now - event_time)


def _copies(value: bytes) -> list[tuple[dict[str, Any], bytes]]:
    """A keyed message's copies: each one's head and the bytes of its event, all read before any
    is detected. Messages of earlier versions are JSON arrays of heads with the event inside."""
    if frames.is_framed(value):
        return frames.decoded(value)
    return [(copy, orjson.dumps(copy.pop("event"))) for copy in orjson.loads(value)]


class Pipeline:
    """Wires the engine, topics, tables and sinks into agents on one Faust app.

    ``role`` picks the agents: ``detect`` (both hops, RocksDB state), ``store`` (alerts and
    pseudonym rows into the alert store) or ``all``. With embedded chDB one process owns the
    store, so several ``detect`` workers share a box with one ``store`` process.
    """

    def __init__(
        self,
        app: faust.App,
        engine: Engine,
        topics: PipelineTopics,
        tables: PipelineTables | None,
        sink: Sink | None,
        flush_rows: int,
        flush_interval: float,
        keyed_partitions: int,
        role: str = "all",
        sweep_interval: float = 60.0,
    ) -> None:
        self.app = app
        self.engine = engine
        self.topics = topics
        self.tables = tables
        self.sink = sink
        self.role = role
        self.flush_rows = flush_rows
        self.flush_interval = flush_interval
        self.context = engine.policy.parse_context()
        self.keyed_partitions = keyed_partitions
        self.sweep_interval = sweep_interval
        """Seconds between two sweeps of idle keys' state."""
        self._swept = time.monotonic()
        self.on_stored: list[Callable[[list[Alert]], Awaitable[None]]] = []
        """Called after each write of the store with the alerts it wrote (the console's stream)."""
        self._written: list[Alert] = []
        self.handoff = Handoff()
        self.input_reader: InputReader | None = None
        """The input hop's consumer (``streams.input_reader``), when this worker detects."""
        self._stored: list[tuple[faust.StreamT, faust.EventT]] = []
        self._store_lock = asyncio.Lock()
        self.failing_since = 0.0
        """Wall time of the first failed store flush of the current streak (0: writes succeed)."""
        if tables is not None:
            self.engine.directory.store = tables.directory
            app.agent(topics.keyed, name="detect_by_key")(self.detect_by_key)
        if sink is not None:
            app.agent(topics.alerts, name="store_alerts")(self.store_alerts)
            app.agent(topics.pseudonyms, name="store_pseudonyms")(self.store_pseudonyms)
            app.agent(topics.triage, name="store_triage")(self.store_triage)
            app.agent(topics.evidence, name="store_evidence")(self.store_evidence)
            app.timer(flush_interval, name="flush_store")(self.flush_store)

    def outbox(self) -> Outbox:
        """A new outbox on Faust's producer, for one batch's records."""
        return Outbox(self.app.producer._ensure_producer())

    async def _reject(
        self, outbox: Outbox, rejection: Rejection, message: Record, raw: bytes | None = None
    ) -> None:
        """Dead-letter ``message`` (or, for one copy of a keyed batch, ``raw``) with its reason.

        Counted once the dead-letter topic has it; if even that fails, counted as lost and
        logged with topic, partition and offset (never the content), and the stream goes on.
        """
        topic, partition, offset = message.topic, message.partition, message.offset
        original = message.value if raw is None else raw
        value = deadletter_record(rejection, original, topic, partition, offset)

        def delivered() -> None:
            metrics.child(metrics.EVENTS_REJECTED, rejection.reason, topic).inc()

        def lost(error: BaseException) -> None:
            metrics.child(metrics.DEADLETTER_FAILURES, topic).inc()
            log.error(
                "dead letter of %s[%d]@%d (%s) not delivered, message skipped: %r",
                topic,
                partition,
                offset,
                rejection.reason,
                error,
                extra={**position(message), "reason": rejection.reason, "error": repr(error)},
            )

        await outbox.send(
            self.topics.deadletter.get_topic_name(), value, on_failure=lost, on_delivered=delivered
        )

    async def _confirm(self, outbox: Outbox) -> None:
        """Wait for the broker to have the batch's records; stop the worker if it never will."""
        try:
            await outbox.confirm()
        except DeliveryError as error:
            fail_stop(error)

    async def route_batch(self, messages: Sequence[Record]) -> Awaitable[None]:
        """Parse a batch of input records; dead-letter what is invalid; forward keyed copies.

        The keyed copies are grouped by the keyed-topic partition their key hashes to, so the
        second hop handles one Faust message per partition and batch instead of one per
        event. Returns once all is sent, with what to await for the broker to have every copy,
        dead letter and directory change (the worker stops if it never will): the input reader
        commits the batch only then. The batch's directory changes are confirmed before its
        copies are sent.
        """
        outbox = self.outbox()
        outgoing: dict[int, list[bytes]] = defaultdict(list)
        evidence: list[bytes] = []
        tally = _Tally()
        for message in messages:
            tally.consumed[message.topic] += 1
            try:
                routed = self._validate(message, evidence, tally)
            except Exception as error:  # a bug must not take the good events of the batch down
                log.exception(
                    "validating %s[%d]@%d failed",
                    message.topic,
                    message.partition,
                    message.offset,
                    extra={**position(message), "error": type(error).__name__},
                )
                routed = Rejection("internal_error", f"{type(error).__name__} while validating")
            if isinstance(routed, Rejection):
                await self._reject(outbox, routed, message)
                continue
            for partition, value in routed:
                outgoing[partition].append(value)
        tally.publish()
        assert self.tables is not None  # noqa: S101 - only registered with tables
        if self.tables.directory.pending:  # the HR records the copies were routed with go first
            await self.tables.directory.flush(outbox)
            await self._confirm(outbox)
        for partition, records in outgoing.items():
            await self._send_chunked(outbox, self.topics.keyed, partition, records)
        if evidence:  # with the batch's copies: confirmed before the batch is acknowledged
            await self._send_chunked(outbox, self.topics.evidence, None, evidence)
        return asyncio.ensure_future(self._confirm(outbox))  # retries start now, not when awaited

    def _validate(
        self, message: Record, evidence: list[bytes], tally: _Tally
    ) -> list[tuple[int, bytes]] | Rejection:
        """One input message: its keyed copies (partition, frame), or why it is rejected. A
        forwarded event is also added to ``evidence``, framed: ``[uid, type, time]`` and the event."""
        try:
            obj = orjson.loads(message.value)
        except orjson.JSONDecodeError as error:
            return Rejection("not_json", f"not valid JSON: {error}")
        parsed = parse_event_dict(obj, self.context)
        if isinstance(parsed, Rejection):
            return parsed
        copies = self.engine.route(parsed)
        ref = self.handoff.put(parsed, len(copies)) if copies else None
        out = []
        for item in copies:  # the event goes in as received: not encoded again per copy
            head = orjson.dumps({"family": item.family, "key": item.key, "facts": item.facts, "ref": ref})
            value = frames.frame(head, message.value)
            if len(value) > MAX_COPY_BYTES:
                return Rejection("too_large", f"event of {len(message.value)} bytes: too large to forward")
            out.append((self._partition(item.key), value))
        # only a valid event that will be forwarded counts and changes the directory
        if copies:  # the event as received, which the store keeps without decoding it (evidence)
            evidence.append(
                frames.frame(orjson.dumps([parsed.uid, parsed.type, parsed.timestamp]), message.value)
            )
        self.engine.observe_reference(parsed)  # the directory is a global table: update it here
        for item in copies:
            tally.sent[item.family] += 1
        tally.processed[message.topic, parsed.type] += 1
        if currency := self.engine.other_currency(parsed):
            metrics.child(metrics.OTHER_CURRENCY_CLAIMS, currency).inc()
        tally.event_time[message.topic] = parsed.timestamp
        return out

    def _partition(self, key: str) -> int:
        """The keyed-topic partition of ``key`` (Kafka's default murmur2 partitioner)."""
        return _murmur2(key) % self.keyed_partitions

    async def _send_chunked(
        self, outbox: Outbox, topic_of: faust.TopicT, partition: int | None, records: list[bytes]
    ) -> None:
        """Framed ``records`` in batches of at most ``MAX_BATCH_BYTES`` each, to one partition."""
        topic = topic_of.get_topic_name()
        chunk: list[bytes] = []
        size = len(frames.MAGIC)
        for record in records:
            if chunk and size + len(record) > MAX_BATCH_BYTES:
                await outbox.send(topic, frames.batch(chunk), partition=partition)
                chunk, size = [], len(frames.MAGIC)
            chunk.append(record)
            size += len(record)
        if chunk:
            await outbox.send(topic, frames.batch(chunk), partition=partition)

    async def detect_by_key(self, stream: faust.StreamT) -> None:
        """Run the detectors of each keyed copy against its key's state; publish what they yield.

        Each message is a batch of copies whose keys all hash to its partition, so every
        key's bundle is read and written in its own table partition. Up to ``KEYED_BATCH``
        messages (or what ``KEYED_WITHIN`` seconds bring) are taken at once, and in this
        order: their alerts, actions, signals and dead letters are confirmed by the broker,
        then their state goes to the changelog and RocksDB (``StateTable.flush``), then they
        are acknowledged; a crash anywhere before that replays them against the state before
        them. A detector that raises dead-letters its event (``detector_error``); a message
        that cannot be read at all is dead-lettered whole (``internal_error``) and its state
        writes are taken back (``StateTable.rollback``), while those of the others stay.
        """
        assert self.tables is not None  # noqa: S101 - only registered with tables
        state = self.tables.state
        async for events in stream.take_events(KEYED_BATCH, within=KEYED_WITHIN):
            await finish_before_ack(self._detect_group(list(events), state))
            if time.monotonic() - self._swept > self.sweep_interval:
                await self._expire(state)

    async def _detect_group(self, events: list[faust.EventT], state: StateTable) -> None:
        outbox = self.outbox()
        for event in events:
            if fetched_before_seek(event.message):
                continue  # read again from where its partition was sought
            state.begin(event.message.partition)
            try:
                await self._detect_batch(event, state, outbox)
            except Exception as error:
                state.rollback()
                message = event.message
                log.exception(
                    "keyed batch %s[%d]@%d failed",
                    message.topic,
                    message.partition,
                    message.offset,
                    extra={**position(message), "error": type(error).__name__},
                )
                await self._reject(outbox, Rejection("internal_error", type(error).__name__), message)
        try:
            await outbox.confirm()
            await state.flush()
        except DeliveryError as error:
            fail_stop(error)

    async def _expire(self, state: StateTable) -> None:
        """Delete the state of keys idle past their family's horizon (``Engine.expired``)."""
        try:
            live, deleted = await state.expire(self.engine.expired)
        except DeliveryError as error:
            fail_stop(error)
        self._swept = time.monotonic()
        metrics.STATE_KEYS.set(live)
        metrics.STATE_KEYS_EXPIRED.inc(deleted)

    async def _detect_batch(self, event: faust.EventT, state: StateTable, outbox: Outbox) -> None:
        for message, raw in _copies(event.value):
            parsed = self.handoff.take(message.get("ref")) or parse_event(raw, self.context)
            if isinstance(parsed, Rejection):  # validated on the way in; only a changed region can
                await self._reject(outbox, parsed, event.message, raw)
                continue
            started = time.perf_counter()
            try:
                outputs = self._detect(message, parsed, state)
            except Exception as error:
                failure = Rejection("detector_error", f"{type(error).__name__}: {error}")
                log.exception(
                    "detectors of family %s failed on %s",
                    message["family"],
                    parsed.uid,
                    extra={
                        **position(event.message),
                        "family": message["family"],
                        "rule_id": getattr(error, "rule_id", None),
                        "event_uid": parsed.uid,
                        "error": failure.message,
                    },
                )
                await self._reject(outbox, failure, event.message, raw)
                continue
            elapsed = time.perf_counter() - started
            state.advance(event.message.partition, parsed.timestamp)
            metrics.child(metrics.DETECTOR_SECONDS, message["family"]).observe(elapsed)
            for output in outputs:
                await self._publish(outbox, output, raw)

    def _detect(self, message: dict[str, Any], parsed: Any, state: Any) -> list[Output]:
        if message["family"] == RISK:
            return self.engine.process_signal(Signal.from_dict(message["signal"]), state)
        return self.engine.process(Routed(message["family"], message["key"], parsed, message["facts"]), state)

    async def _publish(self, outbox: Outbox, output: Output, raw: bytes) -> None:
        """Send one output of the detectors; a risk signal goes with ``raw``, the event behind it."""
        if isinstance(output, Alert):
            metrics.ALERTS.labels(output.rule_id, output.severity).inc()
            key, payload = alert_record(output)
            await outbox.send(self.topics.alerts.get_topic_name(), payload, key=key)
        elif isinstance(output, Action):  # to the action keeper, which opens or extends the action
            metrics.ACTIONS.labels(output.kind).inc()
            payload = RequestCommand(action=output).model_dump_json().encode()
            await outbox.send(
                self.topics.action_commands.get_topic_name(), payload, key=output.target.encode()
            )
        elif isinstance(output, PseudonymRecord):  # restricted: an internal topic, like the state's
            payload = orjson.dumps({"pseudonym": output.pseudonym, "employee_id": output.employee_id})
            await outbox.send(self.topics.pseudonyms.get_topic_name(), payload, key=output.pseudonym.encode())
        else:  # a risk-score signal: keyed by the employee, one more hop
            value = frames.frame(orjson.dumps({"family": RISK, "signal": output.as_dict()}), raw)
            await self._send_chunked(outbox, self.topics.keyed, self._partition(output.employee_id), [value])
            metrics.KEYED_SENT.labels(RISK).inc()

    async def store_alerts(self, stream: faust.StreamT) -> None:
        """Buffer alerts from the alerts topic in the sink; :meth:`flush_store` writes them.

        Messages are acknowledged only once the rows are written, so a store that fails (or
        a worker stopped meanwhile) loses nothing: the rows are read again.
        """
        await self._store(stream, self._add_alert)

    async def store_pseudonyms(self, stream: faust.StreamT) -> None:
        """Buffer rows of the restricted pseudonym mapping; written with the alerts."""
        await self._store(stream, self._add_pseudonym)

    async def store_triage(self, stream: faust.StreamT) -> None:
        """Buffer the console's audit records (and the triage states they lead to)."""
        await self._store(stream, self._add_audit)

    async def store_evidence(self, stream: faust.StreamT) -> None:
        """Buffer the input events the input hop forwarded, kept as the evidence the console shows."""
        await self._store(stream, self._add_evidence)

    async def publish_audit(self, record: bytes, alert_id: str | None) -> None:
        """Send one audit record to the triage topic and wait until the broker has it."""
        outbox = self.outbox()
        await outbox.send(self.topics.triage.get_topic_name(), record, key=(alert_id or "").encode() or None)
        await outbox.confirm()

    async def _store(self, stream: faust.StreamT, add: Any) -> None:
        records = stream.noack()
        async for event in records.events():
            if fetched_before_seek(event.message):
                continue  # read again from where its partition was sought
            try:
                add(event.value)
            except ValueError:  # not ours: skipped, counted and logged by position, never stored
                message = event.message
                metrics.child(metrics.INVALID_RECORDS, message.topic).inc()
                log.error(
                    "unreadable record %s[%d]@%d skipped",
                    message.topic,
                    message.partition,
                    message.offset,
                    extra=position(message),
                )
            self._stored.append((records, event))
            if len(self._stored) >= self.flush_rows:
                await self.flush_store()

    def _add_alert(self, value: bytes) -> None:
        assert self.sink is not None  # noqa: S101 - only registered with a sink
        alert = Alert.model_validate_json(value)
        self.sink.add(alert)
        self._written.append(alert)

    def _add_audit(self, value: bytes) -> None:
        assert self.sink is not None  # noqa: S101 - only registered with a sink
        record = AuditRecord.model_validate_json(value)  # not one: a ValueError, skipped and counted
        self.sink.add_audit(record.model_dump())

    def _add_evidence(self, value: bytes) -> None:
        """Each ``[uid, type, time]`` of a framed batch with its event as received. Batches of
        earlier versions are JSON arrays of ``[uid, type, time, event]``, the event a JSON string
        or (before 2026-12) an object, re-encoded. All rows are read before any is added; a
        batch that is not one raises ``ValueError``."""
        assert self.sink is not None  # noqa: S101 - only registered with a sink
        try:
            if frames.is_framed(value):
                rows = [(*head, raw) for head, raw in frames.decoded(value)]
            else:
                rows = [
                    (*row[:3], row[3] if isinstance(row[3], str) else orjson.dumps(row[3]))
                    for row in orjson.loads(value)
                ]
            rows = [(uid, kind, datetime.fromtimestamp(at, UTC), raw) for uid, kind, at, raw in rows]
        except (TypeError, IndexError, OverflowError, OSError) as error:
            raise ValueError(f"not a batch of evidence rows: {error!r}") from error
        for row in rows:
            self.sink.add_event(*row)

    def _add_pseudonym(self, value: bytes) -> None:
        assert self.sink is not None  # noqa: S101 - only registered with a sink
        row = orjson.loads(value)
        self.sink.add_pseudonym(str(row["pseudonym"]), str(row["employee_id"]))

    async def flush_store(self) -> None:
        """Write the buffered rows (retrying until the store takes them), then acknowledge them."""
        async with self._store_lock:
            if not self._stored:
                return
            events, self._stored = self._stored, []
            written, self._written = self._written, []
            await self._flush()
            for records, event in events:
                await records.ack(event)
            for hook in self.on_stored:
                try:
                    await hook(written)
                except Exception:  # the console's stream must not stop the store
                    log.exception("after-store hook failed")

    async def _flush(self) -> None:
        assert self.sink is not None  # noqa: S101 - only registered with a sink
        sink = self.sink
        delay = 0.5
        while True:
            metrics.child(metrics.SINK_PENDING, sink.name).set(sink.pending)
            started = time.perf_counter()
            try:
                rows = await asyncio.to_thread(sink.flush)
            except SinkError as error:
                metrics.SINK_FLUSH_FAILURES.labels(sink.name).inc()
                if not self.failing_since:
                    self.failing_since = time.time()
                    metrics.child(metrics.SINK_FAILING_SINCE, sink.name).set(self.failing_since)
                log.error(
                    "%s flush failed, %d rows kept, retrying in %.1fs: %s",
                    sink.name,
                    sink.pending,
                    delay,
                    error,
                    extra={"sink": sink.name, "pending_rows": sink.pending, "error": str(error)},
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
                continue
            self.failing_since = 0.0
            metrics.child(metrics.SINK_FAILING_SINCE, sink.name).set(0)
            metrics.child(metrics.SINK_PENDING, sink.name).set(sink.pending)
            metrics.SINK_FLUSH_SECONDS.labels(sink.name).observe(time.perf_counter() - started)
            metrics.SINK_ROWS.labels(sink.name).inc(rows)
            return

    def status(self) -> dict[str, Any]:
        """A small health document: role, policy, key families, owned partitions and the store."""
        partitions = set(self.app.assignor.assigned_actives())
        if self.input_reader is not None:
            partitions |= self.input_reader.assignment()
        assigned = sorted(f"{tp.topic}:{tp.partition}" for tp in partitions)
        out: dict[str, Any] = {
            "role": self.role,
            "policy_version": self.engine.policy.policy_version,
            "families": sorted(self.engine.families),
            "ready": bool(assigned) and not self.app.rebalancing and self._reading(),
            "assigned": assigned,
        }
        if self.sink is not None:
            out["store"] = self.store_status()
        return out

    def _reading(self) -> bool:
        """Whether the input hop reads (its group has given it its partitions), or has none here."""
        return self.input_reader is None or self.input_reader.joined

    def store_status(self) -> dict[str, Any]:
        """Whether the alert store is behind: rows read and not yet written, failing since when."""
        pending = len(self._stored)
        return {
            "behind": bool(self.failing_since),
            "pending_rows": pending,
            "failing_since": self.failing_since or None,
        }
