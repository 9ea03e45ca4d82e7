"""The action keeper: the one writer of ``compliance.actions``.

It reads the command topic (one partition, so one worker at a time keeps the actions) and
applies each command to the :class:`~detectors.action_book.ActionBook`: a rule's request
opens or extends an action, a person's decision moves it on. A timer ends actions at their
``expires_at``. Each change is published to the actions topic, and each decision also as an
audit record on the triage topic, confirmed by the broker before the command is
acknowledged; a command read again after a crash changes nothing twice.

When the worker is given the command partition (at start or after a rebalance) the keeper
reads the actions topic from its start before applying anything, so the book holds what
the previous keeper wrote.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import faust
from faust.types import TP
from pydantic import ValidationError

from detectors import Policy
from detectors.action_book import DECISIONS, ActionBook, DecisionError, UnknownActionError
from detectors.harassment.collection_email import may_block
from events import Action
from sinks import metrics
from sinks.kafka import action_record
from streams.actions.commands import COMMAND, DecisionCommand, RequestCommand
from streams.actions.follower import read_actions
from streams.console.triage import AuditRecord
from streams.consumer_fixes import fetched_before_seek
from streams.delivery import DeliveryError, Outbox, fail_stop
from streams.logs import position
from streams.settings import Settings

log = logging.getLogger(__name__)


def wall_clock() -> datetime:
    return datetime.now(UTC)


def apply_command(
    book: ActionBook,
    command: RequestCommand | DecisionCommand,
    now: datetime,
    allow_mail_domains: list[str] | None = None,
) -> tuple[list[Action], list[AuditRecord]]:
    """Apply one command to ``book``: the actions it changed, and the audit record of a decision.

    A request for a target the policy never lets IT block (an allow-listed domain, a whole
    free-mail domain) is refused: the command topic is the only way in. A decision the book
    refuses (unknown action, wrong state, or read after its ``deadline``, when its sender has
    told its user it was not applied) is counted and changes nothing, except that an action
    found past its ``expires_at`` is published as expired. One read again after a restart
    finds itself applied and publishes its audit record again (same ``audit_id``: the store
    keeps one), in case the crash came between the two records.
    """
    if isinstance(command, RequestCommand):
        action = command.action
        if not may_block(action.kind, action.target, allow_mail_domains or []):
            metrics.ACTION_DECISIONS_REFUSED.inc()
            log.warning(
                "request %s refused: its target may not be blocked",
                action.action_id,
                extra={"action_id": action.action_id, "alert_id": action.alert_id},
            )
            return [], []
        return book.request(action, now), []
    before = book.actions.get(command.action_id)
    try:
        if now > command.deadline:
            raise DecisionError(f"sent at {command.at.isoformat()}, too late: its sender gave up")
        decided = book.decide(command.action_id, command.decision, command.by, command.at, command.comment)
    except (UnknownActionError, DecisionError) as error:
        metrics.ACTION_DECISIONS_REFUSED.inc()
        log.warning(
            "decision %s not applied: %s",
            command.audit_id,
            error,
            extra={"action_id": command.action_id, "audit_id": command.audit_id, "error": str(error)},
        )
        after = book.actions.get(command.action_id)
        return ([after] if after is not None and after is not before else []), []  # expired on the way
    changed = [decided] if decided is not None else []
    action = decided or book.actions[command.action_id]
    [from_state] = DECISIONS[command.decision][0]
    audit = AuditRecord(
        audit_id=command.audit_id,
        at=command.at,
        user=command.by,
        role=command.role,
        action=f"{command.decision}_action",  # type: ignore[arg-type]
        alert_id=action.alert_id,
        action_id=action.action_id,
        from_status=from_state,
        to_status=action.state,
        comment=command.comment,
        client=command.client,
    )
    return changed, [audit]


class ActionKeeper:
    """Applies commands and expiry to the action book and publishes every change."""

    def __init__(
        self,
        app: faust.App,
        settings: Settings,
        policy: Policy,
        commands: faust.TopicT,
        outbox: Callable[[], Outbox],
        clock: Callable[[], datetime] = wall_clock,
        expire_every: float = 1.0,
    ) -> None:
        self.app = app
        self.settings = settings
        self.require_approval = policy.actions.require_approval
        self.allow_mail_domains = list(policy.company.allow_mail_domains)
        self.commands = commands
        self.outbox = outbox
        self.clock = clock
        self.book: ActionBook | None = None
        """None until loaded, and again whenever the command partition may have moved."""
        self._lock = asyncio.Lock()
        self._assignments = 0
        """Counts assignments, so a book read before the latest one is read again."""
        app.agent(commands, name="keep_actions")(self.keep)
        app.timer(expire_every, name="expire_actions")(self.expire_due)
        app.on_partitions_assigned.connect(self._assigned, weak=False)

    async def _assigned(self, sender: Any, assigned: set[TP], **kwargs: Any) -> None:
        self._assignments += 1
        self.book = None  # another keeper may have written meanwhile: read the topic again

    def _holds_commands(self) -> bool:
        return TP(self.commands.get_topic_name(), 0) in self.app.consumer.assignment()

    async def _loaded(self) -> ActionBook:
        """The book, read from the actions topic first if needed (retried until the broker answers)."""
        delay = 1.0
        while self.book is None:
            assignments = self._assignments
            try:
                actions = await read_actions(self.settings)
            except Exception as error:  # a broker that does not answer now may answer soon
                log.warning(
                    "reading %s failed, again in %.0fs: %r", self.settings.topics.actions, delay, error
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
                continue
            if assignments != self._assignments:
                continue  # reassigned while reading: what was read may be stale already
            book = ActionBook(self.require_approval)
            book.load_all(actions.values())
            self.book = book
            metrics.ACTIONS_IN_FORCE.set(len(book.in_force))
        return self.book

    async def keep(self, stream: faust.StreamT) -> None:
        """Apply each command, publish what changed, then acknowledge it."""
        commands = stream.noack()
        async for event in commands.events():
            if fetched_before_seek(event.message):
                continue
            async with self._lock:
                book = await self._loaded()
                try:
                    command = COMMAND.validate_json(event.value)
                except ValidationError as error:
                    metrics.child(metrics.INVALID_RECORDS, event.message.topic).inc()
                    log.error(
                        "skipping an unreadable action command: %s",
                        error.errors()[0]["msg"],
                        extra={**position(event.message), "error": error.errors()[0]["msg"]},
                    )
                else:
                    await self._publish(*apply_command(book, command, self.clock(), self.allow_mail_domains))
            await commands.ack(event)

    async def expire_due(self) -> None:
        """End the actions whose ``expires_at`` has come (on the worker holding the commands)."""
        if not self._holds_commands():
            return
        async with self._lock:
            book = await self._loaded()
            await self._publish(book.expire(self.clock()), [])

    async def _publish(self, changed: list[Action], audits: list[AuditRecord]) -> None:
        if not changed and not audits:
            return
        outbox = self.outbox()
        for action in changed:
            key, value = action_record(action)
            await outbox.send(self.settings.topics.actions, value, key=key)
        for audit in audits:
            record = audit.model_dump_json(exclude_none=True).encode()
            await outbox.send(self.settings.topics.triage, record, key=(audit.alert_id or "").encode())
        try:
            await outbox.confirm()
        except DeliveryError as error:
            fail_stop(error)
        for action in changed:
            metrics.ACTION_STATES.labels(action.kind, action.state).inc()
        if self.book is not None:
            metrics.ACTIONS_IN_FORCE.set(len(self.book.in_force))
