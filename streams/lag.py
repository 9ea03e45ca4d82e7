"""``cm_consumer_lag``: how far this worker's consumers are behind the broker, per partition.

Every few seconds a timer asks the broker for the end offset (highwater) of each partition
assigned to the worker's Faust consumer whose topic one of its agents reads (keyed, alerts,
action commands and the store's internal topics; not the tables' changelogs, which it only
reads to recover) and of each input partition its input reader owns, and each consumer for
its position there (the next offset it fetches). The lag is the difference. Off the
per-event path: one ListOffsets request per consumer and refresh.
A partition no longer assigned leaves the gauge at the next refresh.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple, Protocol

import faust

from sinks import metrics

log = logging.getLogger(__name__)

LAG_INTERVAL = 5.0
"""Seconds between two refreshes of ``cm_consumer_lag``."""
REFRESH_TIMEOUT = 10.0
"""A refresh that takes longer (a broker that does not answer, a rebalance) is dropped."""
WARN_AFTER = 3
"""Failed refreshes in a row before a warning (the first ones may meet a consumer starting)."""


class Partition(NamedTuple):
    """A topic partition (Faust's ``TP`` and aiokafka's ``TopicPartition`` compare equal to it)."""

    topic: str
    partition: int


class OffsetSource(Protocol):
    """The part of Faust's consumer the lag needs."""

    def assignment(self) -> set[Any]: ...

    async def highwaters(self, *partitions: Any) -> Mapping[Any, int]: ...

    async def position(self, tp: Any) -> int | None: ...


def partition_lags(
    highwaters: Mapping[Any, int | None], positions: Mapping[Any, int | None]
) -> dict[Partition, int]:
    """Highwater minus position for each partition that has both (never below 0).

    Both offsets are *next* offsets (the one the broker gives the next record, the one the
    consumer fetches next), so a consumer that has read everything is at lag 0. A position
    past the highwater (a highwater older than the position) counts as 0, not a negative lag.
    """
    lags: dict[Partition, int] = {}
    for tp, highwater in highwaters.items():
        position = positions.get(tp)
        if highwater is None or position is None:
            continue
        lags[Partition(tp[0], tp[1])] = max(0, highwater - position)
    return lags


class LagGauge:
    """Publishes lags on ``cm_consumer_lag`` and removes the labels of partitions that left."""

    def __init__(self, gauge: Any = metrics.CONSUMER_LAG) -> None:
        self.gauge = gauge
        self.shown: set[Partition] = set()

    def publish(self, lags: Mapping[Partition, int]) -> None:
        """Set each partition's lag; drop the ones published before and absent now."""
        for tp in self.shown - lags.keys():
            self.gauge.remove(tp.topic, str(tp.partition))
        for tp, lag in lags.items():
            self.gauge.labels(tp.topic, str(tp.partition)).set(lag)
        self.shown = set(lags)


def agent_topics(app: faust.App) -> frozenset[str]:
    """Names of the topics the agents of ``app`` read."""
    names: set[str] = set()
    for agent in app.agents.values():
        names.update(getattr(agent.channel, "topics", ()))
    return frozenset(names)


async def read_lags(consumer: OffsetSource, topics: Iterable[str]) -> dict[Partition, int]:
    """The lag of every partition of ``topics`` assigned to ``consumer``."""
    wanted = set(topics)
    assigned = [tp for tp in consumer.assignment() if tp.topic in wanted]
    if not assigned:
        return {}
    highwaters = await consumer.highwaters(*assigned)
    positions = {tp: await consumer.position(tp) for tp in assigned}
    return partition_lags(highwaters, positions)


class ConsumerLag:
    """Refreshes ``cm_consumer_lag`` on a timer of ``app`` (every worker, not only the leader)."""

    def __init__(
        self, app: faust.App, readers: Iterable[OffsetSource] = (), interval: float = LAG_INTERVAL
    ) -> None:
        self.app = app
        self.readers = list(readers)
        """Consumers of the worker's own besides Faust's (the input hop's): every partition they read."""
        self.gauge = LagGauge()
        self.failures = 0
        """Failed refreshes in a row."""
        app.timer(interval, name="consumer_lag")(self.refresh)

    async def refresh(self) -> None:
        """Read and publish the lags; a failed read keeps the last values (warned once a streak)."""
        try:
            lags = await asyncio.wait_for(self._read(), REFRESH_TIMEOUT)
        except Exception as error:  # rebalancing, consumer starting, broker slow: next time
            self.failures += 1
            level = logging.WARNING if self.failures == WARN_AFTER else logging.DEBUG
            log.log(level, "consumer lag not refreshed (%d times): %r", self.failures, error)
            return
        self.failures = 0
        self.gauge.publish(lags)

    async def _read(self) -> dict[Partition, int]:
        lags = await read_lags(self.app.consumer, agent_topics(self.app))
        for reader in self.readers:
            lags |= await read_lags(reader, {tp.topic for tp in reader.assignment()})
        return lags
