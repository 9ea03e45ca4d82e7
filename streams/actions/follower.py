"""Reading ``compliance.actions``: every action's latest state, loaded from the topic's start
and, for a follower, kept up to date as records arrive.

The Postfix policy service, the console, ``actions list|decide`` and the action keeper read
the topic this way, without a consumer group: each reader sees every partition.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition
from pydantic import ValidationError

from events import Action
from streams.settings import Settings

log = logging.getLogger(__name__)


class ActionFollower:
    """The latest state of every action on the actions topic; :attr:`loaded` once caught up."""

    def __init__(self, settings: Settings, on_action: Callable[[Action], None] | None = None) -> None:
        self.settings = settings
        self.topic = settings.topics.actions
        self.on_action = on_action
        self.actions: dict[str, Action] = {}
        self.loaded = asyncio.Event()
        """Set once every record that was on the topic at start has been read."""
        self.unreadable = 0
        """Records that are not an action (skipped and logged)."""
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self._changed = asyncio.Condition()
        self._next: dict[TopicPartition, int] = {}
        """Per partition, the offset after the last record taken."""

    async def start(self) -> None:
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.broker_servers,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            **self.settings.kafka.aiokafka_options(),
        )
        await self._consumer.start()
        self._task = asyncio.create_task(self._follow(), name="follow-actions")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._consumer is not None:
            await self._consumer.stop()

    async def wait_loaded(self, timeout: float) -> None:
        """Wait until caught up; ``TimeoutError`` if that takes longer than ``timeout`` seconds."""
        await asyncio.wait_for(self.loaded.wait(), timeout)

    async def wait_for(self, done: Callable[[], bool], timeout: float) -> bool:
        """Whether ``done()`` holds within ``timeout`` seconds of new records."""
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(done), timeout)
            except TimeoutError:
                return False
        return True

    async def _partitions(self) -> list[TopicPartition]:
        assert self._consumer is not None  # noqa: S101 - started
        while True:
            partitions = self._consumer.partitions_for_topic(self.topic)
            if partitions:
                return [TopicPartition(self.topic, p) for p in sorted(partitions)]
            log.warning("topic %s does not exist yet; waiting for the worker to create it", self.topic)
            await self._consumer._client.force_metadata_update()
            await asyncio.sleep(1.0)

    async def _follow(self) -> None:
        """Read the topic for ever; after an error, start over where it stopped."""
        delay = 1.0
        while True:
            try:
                await self._read()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("following %s failed; again in %.0fs", self.topic, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)

    async def _read(self) -> None:
        consumer = self._consumer
        assert consumer is not None  # noqa: S101 - started
        partitions = await self._partitions()
        consumer.assign(partitions)
        for tp in partitions:
            if tp in self._next:
                consumer.seek(tp, self._next[tp])
            else:
                await consumer.seek_to_beginning(tp)
        ends = await consumer.end_offsets(partitions)
        while True:
            if not self.loaded.is_set() and await self._caught_up(ends):
                self.loaded.set()
                log.info("actions loaded: %d", len(self.actions))
            batches = await consumer.getmany(timeout_ms=200)
            for tp, records in batches.items():
                for record in records:
                    self._take(record.value)
                    self._next[tp] = record.offset + 1
            if batches:
                async with self._changed:
                    self._changed.notify_all()

    async def _caught_up(self, ends: dict[TopicPartition, int]) -> bool:
        assert self._consumer is not None  # noqa: S101 - started
        for tp, end in ends.items():
            if await self._consumer.position(tp) < end:
                return False
        return True

    def _take(self, value: bytes | None) -> None:
        if value is None:
            return  # a tombstone: compaction's business
        try:
            action = Action.model_validate_json(value)
        except ValidationError as error:
            self.unreadable += 1
            log.warning(
                "skipping a record of %s that is not an action: %s", self.topic, error.errors()[0]["msg"]
            )
            return
        self.actions[action.action_id] = action
        if self.on_action is not None:
            self.on_action(action)


async def read_actions(settings: Settings, timeout: float = 30.0) -> dict[str, Action]:
    """Every action's latest state on the topic now."""
    follower = ActionFollower(settings)
    await follower.start()
    try:
        await follower.wait_loaded(timeout)
    finally:
        await follower.stop()
    return follower.actions
