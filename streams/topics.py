"""Topics of the pipeline, and creating the ones that are missing."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass

import faust

from streams.settings import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PipelineTopics:
    """Every topic the worker reads or writes. Values are raw bytes (orjson does the codec work)."""

    inputs: dict[str, faust.TopicT]
    keyed: faust.TopicT
    alerts: faust.TopicT
    deadletter: faust.TopicT
    actions: faust.TopicT
    pseudonyms: faust.TopicT
    """Restricted rows pseudonym -> employee for the alert store (internal, like the state changelog)."""


def declare_topics(app: faust.App, settings: Settings) -> PipelineTopics:
    """Declare the topics on ``app``; the keyed one is the worker's own repartition topic."""
    names = settings.topics

    def topic(name: str, **options: object) -> faust.TopicT:
        return app.topic(name, key_type=bytes, value_type=bytes, value_serializer="raw", **options)

    return PipelineTopics(
        inputs={name: topic(name) for name in names.inputs()},
        keyed=topic(f"{settings.app_id}-keyed", partitions=settings.partitions, internal=True),
        alerts=topic(names.alerts),
        deadletter=topic(names.deadletter),
        actions=topic(names.actions),
        pseudonyms=topic(f"{settings.app_id}-pseudonyms", partitions=settings.partitions, internal=True),
    )


async def ensure_topics(settings: Settings) -> None:
    """Create the input and output topics that do not exist yet (``settings.partitions`` each)."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    from aiokafka.errors import TopicAlreadyExistsError

    names = settings.topics
    wanted = [*names.inputs(), names.alerts, names.actions, names.deadletter]
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.broker_servers)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [NewTopic(n, settings.partitions, 1) for n in wanted if n not in existing]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(missing)
            log.info("created topics %s", [t.name for t in missing])
    finally:
        await admin.close()
