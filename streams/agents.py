"""The worker's agents: validate and route input, detect per key, store alerts.

Hops: an input event is read once by ``validate_and_route`` (which also applies HR
records to the global directory table) and, for each key family that wants it, once
more by ``detect_by_key``, in a batch of copies whose keys hash to one partition of the
repartition topic (so each key's state lives in one table partition, and Faust's
per-message cost of the second hop is shared by the batch).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
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
from events import Action, Alert, ParseContext, Rejection, parse_event_dict
from sinks import metrics
from sinks.base import Sink
from sinks.exceptions import SinkError
from sinks.kafka import action_record, alert_record, deadletter_record
from streams.handoff import Handoff
from streams.tables import PipelineTables, StateTable
from streams.topics import PipelineTopics

log = logging.getLogger(__name__)
ROUTE_BATCH = 1000
ROUTE_WITHIN = 0.05
MAX_BATCH_BYTES = 256 * 1024
RISK = "risk"
"""Keyed-topic family of risk-score signals (alerts about an employee, keyed by employee)."""


@lru_cache(maxsize=1 << 16)
def _murmur2(key: str) -> int:
    """Kafka's key hash (aiokafka's is pure Python, 2.5 µs; keys repeat across events)."""
    return murmur2(key.encode()) & 0x7FFFFFFF


class Pipeline:
    """Wires the engine, topics, tables and sinks into agents on one Faust app."""

    def __init__(
        self,
        app: faust.App,
        engine: Engine,
        topics: PipelineTopics,
        tables: PipelineTables,
        sink: Sink,
        flush_rows: int,
        flush_interval: float,
        keyed_partitions: int,
    ) -> None:
        self.app = app
        self.engine = engine
        self.topics = topics
        self.tables = tables
        self.sink = sink
        self.flush_rows = flush_rows
        self.flush_interval = flush_interval
        self.context = ParseContext(region=engine.policy.region)
        self.keyed_partitions = keyed_partitions
        self.engine.directory.store = tables.directory
        self.listeners: list[asyncio.Queue[Alert]] = []
        self.handoff = Handoff()
        for name, topic in topics.inputs.items():
            app.agent(topic, name=f"validate_and_route.{name}")(self.validate_and_route)
        app.agent(topics.keyed, name="detect_by_key")(self.detect_by_key)
        app.agent(topics.alerts, name="store_alerts")(self.store_alerts)

    async def _reject(self, rejection: Rejection, event: faust.EventT, raw: bytes | None = None) -> None:
        """Dead-letter ``event`` (or, for one copy of a keyed batch, ``raw``) with its reason."""
        message = event.message
        metrics.EVENTS_REJECTED.labels(rejection.reason).inc()
        original = message.value if raw is None else raw
        value = deadletter_record(rejection, original, message.topic, message.partition, message.offset)
        await self.topics.deadletter.send(value=value)

    async def validate_and_route(self, stream: faust.StreamT) -> None:
        """Parse input messages; dead-letter what is invalid; forward keyed copies in batches.

        Up to ``ROUTE_BATCH`` events (or ``ROUTE_WITHIN`` seconds) are taken at once and their
        keyed copies grouped by the keyed-topic partition their key hashes to, so the second
        hop handles one Faust message per batch instead of one per event.
        """
        async for events in stream.take_events(ROUTE_BATCH, within=ROUTE_WITHIN):
            outgoing: dict[int, list[bytes]] = defaultdict(list)
            for event in events:
                copies, obj = await self._validate(event)
                ref = self.handoff.put(copies[0].event, len(copies)) if copies else None
                for item in copies:
                    value = orjson.dumps(
                        {
                            "family": item.family,
                            "key": item.key,
                            "facts": item.facts,
                            "event": obj,
                            "ref": ref,
                        }
                    )
                    outgoing[self._partition(item.key)].append(value)
                    metrics.child(metrics.KEYED_SENT, item.family).inc()
            for partition, records in outgoing.items():
                await self._send_keyed(partition, records)

    async def _validate(self, event: faust.EventT) -> tuple[list[Routed], Any]:
        """One input message: its keyed copies and its JSON, or no copies after dead-lettering it."""
        try:
            obj = orjson.loads(event.value)
        except orjson.JSONDecodeError as error:
            await self._reject(Rejection("not_json", f"not valid JSON: {error}"), event)
            return [], None
        parsed = parse_event_dict(obj, self.context)
        if isinstance(parsed, Rejection):
            await self._reject(parsed, event)
            return [], None
        metrics.child(metrics.EVENTS_CONSUMED, parsed.type).inc()
        metrics.child(metrics.EVENT_TIME_LAG, event.message.topic).set(time.time() - parsed.timestamp)
        self.engine.observe_reference(parsed)  # the directory is a global table: update it here
        return self.engine.route(parsed), obj

    def _partition(self, key: str) -> int:
        """The keyed-topic partition of ``key`` (Kafka's default murmur2 partitioner)."""
        return _murmur2(key) % self.keyed_partitions

    async def _send_keyed(self, partition: int, records: list[bytes]) -> None:
        chunk: list[bytes] = []
        size = 0
        for record in records:
            if chunk and size + len(record) > MAX_BATCH_BYTES:
                await self.topics.keyed.send(value=b"[" + b",".join(chunk) + b"]", partition=partition)
                chunk, size = [], 0
            chunk.append(record)
            size += len(record) + 1
        if chunk:
            await self.topics.keyed.send(value=b"[" + b",".join(chunk) + b"]", partition=partition)

    async def detect_by_key(self, stream: faust.StreamT) -> None:
        """Run the detectors of each keyed copy against its key's state; publish what they yield.

        Each message is a batch of copies whose keys all hash to this partition, so every
        key's bundle is read and written in its own table partition; the batch's state writes
        reach RocksDB and the changelog once it is done (``StateTable.flush``). A detector that
        raises does not stop the stream: that event goes to the dead-letter topic with reason
        ``detector_error`` and the exception, like invalid input does.
        """
        state = self.tables.state
        async for event in stream.events():
            try:
                await self._detect_batch(event, state)
            except BaseException:  # a batch that did not finish leaves no half-written state behind
                state.discard()
                raise
            await state.flush()

    async def _detect_batch(self, event: faust.EventT, state: StateTable) -> None:
        for message in orjson.loads(event.value):
            parsed = self.handoff.take(message.get("ref")) or parse_event_dict(message["event"], self.context)
            if isinstance(parsed, Rejection):  # validated on the way in; only a changed region can
                await self._reject(parsed, event, orjson.dumps(message["event"]))
                continue
            started = time.perf_counter()
            try:
                outputs = self._detect(message, parsed, state)
            except Exception as error:
                log.exception("detectors failed on %s", parsed.uid)
                failure = Rejection("detector_error", f"{type(error).__name__}: {error}")
                await self._reject(failure, event, orjson.dumps(message["event"]))
                continue
            elapsed = time.perf_counter() - started
            metrics.child(metrics.DETECTOR_SECONDS, message["family"]).observe(elapsed)
            for output in outputs:
                await self._publish(output, message)

    def _detect(self, message: dict[str, Any], parsed: Any, state: Any) -> list[Output]:
        if message["family"] == RISK:
            return self.engine.process_signal(Signal.from_dict(message["signal"]), state)
        return self.engine.process(Routed(message["family"], message["key"], parsed, message["facts"]), state)

    async def _publish(self, output: Output, message: dict[str, Any]) -> None:
        if isinstance(output, Alert):
            metrics.ALERTS.labels(output.rule_id, output.severity).inc()
            key, payload = alert_record(output)
            await self.topics.alerts.send(key=key, value=payload)
        elif isinstance(output, Action):
            metrics.ACTIONS.labels(output.kind).inc()
            key, payload = action_record(output)
            await self.topics.actions.send(key=key, value=payload)
        elif isinstance(output, PseudonymRecord):  # restricted: straight to the store, never a topic
            self.sink.add_pseudonym(output.pseudonym, output.employee_id)
        else:  # a risk-score signal: keyed by the employee, one more hop
            value = orjson.dumps({"family": RISK, "signal": output.as_dict(), "event": message["event"]})
            await self._send_keyed(self._partition(output.employee_id), [value])
            metrics.KEYED_SENT.labels(RISK).inc()

    async def store_alerts(self, stream: faust.StreamT) -> None:
        """Batch alerts from the alerts topic into the sink; retry a failed flush until it succeeds."""
        async for batch in stream.take(self.flush_rows, within=self.flush_interval):
            alerts = [Alert.model_validate_json(value) for value in batch]
            for alert in alerts:
                self.sink.add(alert)
            await self._flush()
            for alert in alerts:
                for queue in self.listeners:
                    queue.put_nowait(alert)

    async def _flush(self) -> None:
        delay = 0.5
        while True:
            started = time.perf_counter()
            try:
                rows = await asyncio.to_thread(self.sink.flush)
            except SinkError as error:
                metrics.SINK_FLUSH_FAILURES.labels(self.sink.name).inc()
                log.error(
                    "%s flush failed, %d rows kept, retrying in %.1fs: %s",
                    self.sink.name,
                    self.sink.pending,
                    delay,
                    error,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
                continue
            metrics.SINK_FLUSH_SECONDS.labels(self.sink.name).observe(time.perf_counter() - started)
            metrics.SINK_ROWS.labels(self.sink.name).inc(rows)
            return

    def status(self) -> dict[str, Any]:
        """A small health document: policy, key families and the partitions this worker owns."""
        assigned = sorted(f"{tp.topic}:{tp.partition}" for tp in self.app.assignor.assigned_actives())
        return {
            "policy_version": self.engine.policy.policy_version,
            "families": sorted(self.engine.families),
            "ready": bool(assigned) and not self.app.rebalancing,
            "assigned": assigned,
        }
