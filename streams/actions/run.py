"""The ``actions list|decide`` commands: one short-lived reader (and producer) each."""

from __future__ import annotations

from aiokafka import AIOKafkaProducer

from detectors.action_book import Decision
from events import Action
from events.alert import ActionState
from streams.actions.commands import DecisionCommand, commands_topic
from streams.actions.desk import ActionDesk, newest_first
from streams.actions.follower import ActionFollower, read_actions
from streams.settings import Settings


async def list_actions(settings: Settings, state: ActionState | None) -> list[Action]:
    """The actions on the topic now (of ``state``), newest request first."""
    return newest_first((await read_actions(settings)).values(), state)


async def decide_action(
    settings: Settings,
    action_id: str,
    decision: Decision,
    by: str,
    role: str,
    comment: str | None,
    timeout: float = 15.0,
) -> Action:
    """Send ``decision`` to the action keeper and wait until it is applied (see :class:`ActionDesk`)."""
    follower = ActionFollower(settings)
    producer = AIOKafkaProducer(
        bootstrap_servers=settings.broker_servers, acks="all", **settings.kafka.aiokafka_options()
    )
    await follower.start()
    await producer.start()
    try:
        await follower.wait_loaded(30.0)

        async def send(command: DecisionCommand) -> None:
            await producer.send_and_wait(commands_topic(settings.app_id), command.model_dump_json().encode())

        return await ActionDesk(follower, send).decide(
            action_id, decision, by, role, comment, client="cli", timeout=timeout
        )
    finally:
        await producer.stop()
        await follower.stop()
