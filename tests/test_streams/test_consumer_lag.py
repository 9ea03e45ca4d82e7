"""``cm_consumer_lag`` without a broker: the arithmetic, the labels of partitions that leave,
which topics count, and a refresh that fails keeping the last values.

The offsets come from a small stand-in for Faust's consumer (a unit edge: the worker's real
consumer is read in tests/test_integration/test_prometheus_scrape.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from prometheus_client import CollectorRegistry, Gauge

from detectors import load_policy
from streams.lag import ConsumerLag, LagGauge, Partition, agent_topics, partition_lags, read_lags
from streams.process import DEMO_POLICY
from streams.settings import Settings
from streams.worker import build_pipeline


class Offsets:
    """Assignment, highwaters and positions as a consumer would report them."""

    def __init__(
        self, highwaters: Mapping[Partition, int], positions: Mapping[Partition, int | None]
    ) -> None:
        self._highwaters = dict(highwaters)
        self._positions = dict(positions)
        self.asked: list[Partition] = []

    def assignment(self) -> set[Partition]:
        return set(self._highwaters)

    async def highwaters(self, *partitions: Partition) -> Mapping[Partition, int]:
        self.asked.extend(partitions)
        return {tp: self._highwaters[tp] for tp in partitions}

    async def position(self, tp: Partition) -> int | None:
        return self._positions[tp]


def samples(registry: CollectorRegistry) -> dict[tuple[str, str], float]:
    """``(topic, partition) -> value`` of the registry's ``cm_consumer_lag``."""
    return {
        (s.labels["topic"], s.labels["partition"]): s.value
        for family in registry.collect()
        for s in family.samples
        if s.name == "cm_consumer_lag"
    }


def fresh_gauge() -> tuple[Gauge, CollectorRegistry]:
    registry = CollectorRegistry()
    return Gauge("cm_consumer_lag", "lag", ["topic", "partition"], registry=registry), registry


def test_lag_is_highwater_minus_position_never_negative_and_unknown_offsets_skipped():
    a0, a1, a2, a3 = (Partition("a", p) for p in range(4))
    lags = partition_lags(
        {a0: 120, a1: 50, a2: None, a3: 10},
        {a0: 100, a1: 50, a2: 7, a3: 12},  # a3: a highwater older than the position
    )
    assert lags == {a0: 20, a1: 0, a3: 0}
    assert partition_lags({a0: 5}, {a0: None}) == {}


def test_a_partition_no_longer_assigned_leaves_the_gauge():
    gauge, registry = fresh_gauge()
    lags = LagGauge(gauge)
    lags.publish({Partition("hr.events", 0): 3, Partition("hr.events", 1): 0})
    assert samples(registry) == {("hr.events", "0"): 3.0, ("hr.events", "1"): 0.0}

    lags.publish({Partition("hr.events", 1): 7})  # partition 0 moved to another worker

    assert samples(registry) == {("hr.events", "1"): 7.0}
    lags.publish({})
    assert samples(registry) == {}


def test_only_partitions_of_topics_the_agents_read_are_measured(tmp_path):
    pipeline = build_pipeline(Settings(role="detect", data_dir=tmp_path), load_policy(DEMO_POLICY))
    topics = agent_topics(pipeline.app)
    changelogs = {table.changelog_topic.get_topic_name() for table in pipeline.app.tables.values()}
    assert {
        pipeline.topics.keyed.get_topic_name(),
        pipeline.topics.action_commands.get_topic_name(),
    } == topics
    assert not changelogs & topics  # the input topics are the input reader's (next test)

    keyed, changelog = pipeline.topics.keyed.get_topic_name(), sorted(changelogs)[0]
    leader = f"{pipeline.app.conf.id}-__assignor-__leader"
    consumer = Offsets(
        {
            Partition(keyed, 0): 10,
            Partition(keyed, 1): 4,
            Partition(changelog, 0): 900,
            Partition(leader, 0): 1,
        },
        {Partition(keyed, 0): 6, Partition(keyed, 1): 4, Partition(changelog, 0): 0, Partition(leader, 0): 0},
    )

    lags = asyncio.run(read_lags(consumer, topics))

    assert lags == {Partition(keyed, 0): 4, Partition(keyed, 1): 0}
    assert sorted(consumer.asked) == [Partition(keyed, 0), Partition(keyed, 1)]


def test_the_input_partitions_the_input_reader_owns_are_measured_with_faust_s(tmp_path):
    pipeline = build_pipeline(Settings(role="detect", data_dir=tmp_path), load_policy(DEMO_POLICY))
    keyed, hr = pipeline.topics.keyed.get_topic_name(), Settings().topics.hr
    faust = Offsets({Partition(keyed, 0): 5}, {Partition(keyed, 0): 5})
    reader = Offsets({Partition(hr, 0): 30, Partition(hr, 2): 9}, {Partition(hr, 0): 12, Partition(hr, 2): 9})
    gauge, registry = fresh_gauge()
    lag = ConsumerLag(pipeline.app, [reader])
    lag.gauge = LagGauge(gauge)
    pipeline.app.consumer.assignment = faust.assignment  # Faust's consumer, not started: its offsets
    pipeline.app.consumer.highwaters = faust.highwaters
    pipeline.app.consumer.position = faust.position

    asyncio.run(lag.refresh())

    assert samples(registry) == {(keyed, "0"): 0.0, (hr, "0"): 18.0, (hr, "2"): 0.0}


def test_nothing_assigned_reads_no_offsets():
    consumer = Offsets({Partition("other", 0): 5}, {Partition("other", 0): 0})
    assert asyncio.run(read_lags(consumer, {"hr.events"})) == {}
    assert consumer.asked == []


def test_a_refresh_before_the_consumer_runs_keeps_the_last_values(tmp_path):
    pipeline = build_pipeline(Settings(role="detect", data_dir=tmp_path), load_policy(DEMO_POLICY))
    gauge, registry = fresh_gauge()
    lag = ConsumerLag(pipeline.app)
    lag.gauge = LagGauge(gauge)
    lag.gauge.publish({Partition("hr.events", 0): 2})

    async def refresh_twice() -> None:
        await lag.refresh()  # Faust's consumer is not started: no assignment to read
        await lag.refresh()

    asyncio.run(refresh_twice())

    assert lag.failures == 2
    assert samples(registry) == {("hr.events", "0"): 2.0}
