"""Topics of the pipeline, and creating the ones that are missing."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from typing import Any

import faust

from events.exceptions import ComplianceMonitorError
from streams.actions.commands import commands_topic
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
    action_commands: faust.TopicT
    """Requests and decisions for the action keeper (internal, one partition: one keeper)."""
    evidence: faust.TopicT
    """Forwarded input events, in batches, for the store's ``events`` table (internal)."""
    triage: faust.TopicT
    """The console's audit records (key ``alert_id``), written to ClickHouse by the store."""
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
        action_commands=topic(commands_topic(settings.app_id), partitions=1, internal=True),
        triage=topic(names.triage),
        evidence=topic(f"{settings.app_id}-evidence", partitions=settings.partitions, internal=True),
        pseudonyms=topic(f"{settings.app_id}-pseudonyms", partitions=settings.partitions, internal=True),
    )


async def _why_unreachable(settings: Settings) -> BaseException | None:
    """What one direct connection to the first broker says (aiokafka's bootstrap only says it
    could not bootstrap, and logs the cause, such as refused credentials)."""
    from aiokafka.conn import create_conn

    host, _, port = settings.broker_servers.split(",")[0].rpartition(":")
    try:
        conn = await create_conn(
            host, int(port), request_timeout_ms=10_000, **settings.kafka.aiokafka_options()
        )
    except Exception as error:
        return error
    conn.close()
    return None


class BrokerUnreachableError(ComplianceMonitorError):
    """The brokers could not be reached or refused the credentials; says which, and as whom."""

    def __init__(self, settings: Settings, error: BaseException) -> None:
        kafka = settings.kafka
        as_whom = f" as {kafka.username!r} ({kafka.sasl_mechanism})" if kafka.username else ""
        cause = error
        while cause.__cause__ is not None:
            cause = cause.__cause__
        failed = (
            "authentication failed" if "auth" in f"{type(cause).__name__} {cause}".lower() else "no answer"
        )
        super().__init__(
            f"{failed} at broker {settings.broker_servers} over {kafka.protocol}{as_whom}: "
            f"{type(cause).__name__}: {cause}"
        )


async def ensure_topics(settings: Settings) -> None:
    """Create the input and output topics that do not exist yet (``settings.partitions`` each)."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    from aiokafka.errors import TopicAlreadyExistsError

    names = settings.topics
    wanted = [
        *names.inputs(),
        names.alerts,
        names.actions,
        names.deadletter,
        names.triage,
        names.actions_deadletter,
    ]
    compacted = {names.actions}
    admin = AIOKafkaAdminClient(
        bootstrap_servers=settings.broker_servers, **settings.kafka.aiokafka_options()
    )
    try:
        await admin.start()
        existing = set(await admin.list_topics())
    except Exception as error:
        await admin.close()
        raise BrokerUnreachableError(settings, await _why_unreachable(settings) or error) from error
    try:
        replicas = settings.topic_replication_factor
        missing = [
            NewTopic(
                n,
                settings.partitions,
                replicas,
                topic_configs={"cleanup.policy": "compact"} if n in compacted else None,
            )
            for n in wanted
            if n not in existing
        ]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(missing)
            log.info("created topics %s", [t.name for t in missing])
        for name in compacted - {t.name for t in missing}:
            policy = await cleanup_policy(admin, name)
            if policy is not None and "compact" not in policy:
                log.warning(
                    "topic %s has cleanup.policy=%s: actions older than its retention will be "
                    "forgotten; set cleanup.policy=compact",
                    name,
                    policy,
                )
    finally:
        await admin.close()


async def cleanup_policy(admin: Any, topic: str) -> str | None:
    """The topic's ``cleanup.policy``, or None if the broker does not say."""
    from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

    try:
        [response] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
        for *_, entries in response.resources:
            for entry in entries:
                if entry[0] == "cleanup.policy":
                    return str(entry[1])
    except Exception as error:  # not every Kafka-compatible broker answers DescribeConfigs
        log.debug("no configuration of %s: %r", topic, error)
    return None
