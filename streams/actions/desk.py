"""Where people see and decide IT actions: the console's ``/actions`` endpoints and the
``actions list|decide`` commands run this same code.

A decision is checked against the action's state as followed from the actions topic, sent
to the action keeper as a command, and done once the keeper has published the new state
(with the decision's audit record). Without a running worker it is not applied, and the
caller is told so.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field

from detectors.action_book import DECISIONS, Decision, DecisionError, UnknownActionError
from events import Action
from events.alert import ActionState
from events.exceptions import ComplianceMonitorError
from streams.actions.commands import DecisionCommand
from streams.actions.follower import ActionFollower
from streams.console.triage import MAX_TEXT, audit_id

Send = Callable[[DecisionCommand], Awaitable[None]]


def newest_first(actions: Iterable[Action], state: ActionState | None = None) -> list[Action]:
    """``actions`` (of ``state``), newest request first: the order of the console and the CLI."""
    chosen = [a for a in actions if state is None or a.state == state]
    return sorted(chosen, key=lambda a: (a.requested_at, a.action_id), reverse=True)


class DecisionNotApplied(ComplianceMonitorError, TimeoutError):
    """The keeper did not apply a decision in time (no worker running, or it lost a race)."""


class DecisionRequest(BaseModel):
    """Body of ``POST /api/v1/actions/{action_id}/decision``."""

    model_config = ConfigDict(extra="forbid")

    decision: Decision
    comment: str | None = Field(None, max_length=MAX_TEXT)


class ActionDesk:
    """Lists actions and turns a person's decision into a command for the keeper."""

    def __init__(
        self, follower: ActionFollower, send: Send, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self.follower = follower
        self.send = send
        self.clock = clock

    def list(self, state: ActionState | None = None) -> list[Action]:
        """Actions (of ``state``), newest request first."""
        return newest_first(self.follower.actions.values(), state)

    async def decide(
        self,
        action_id: str,
        decision: Decision,
        by: str,
        role: str,
        comment: str | None = None,
        client: str | None = None,
        timeout: float = 15.0,
    ) -> Action:
        """The action after the keeper applied ``decision``.

        Raises :class:`UnknownActionError` (404), :class:`DecisionError` (409) or
        :class:`DecisionNotApplied` (no keeper answered within ``timeout`` seconds).
        """
        action = self.follower.actions.get(action_id)
        if action is None:
            raise UnknownActionError(f"no action {action_id}")
        allowed, leads_to = DECISIONS[decision]
        if action.state not in allowed:
            raise DecisionError(f"cannot {decision} an action that is {action.state}")
        at = self.clock()
        command = DecisionCommand(
            audit_id=audit_id(action_id, decision, by, at.isoformat(), secrets.token_hex(8)),
            action_id=action_id,
            decision=decision,
            by=by,
            role=role,
            at=at,
            comment=comment,
            client=client,
            deadline=at + timedelta(seconds=timeout),
        )
        await self.send(command)

        def applied() -> bool:
            now = self.follower.actions[action_id]
            return now.state == leads_to and now.decided_at == at

        if not await self.follower.wait_for(applied, timeout):
            now = self.follower.actions[action_id].state
            raise DecisionNotApplied(
                f"the decision was not applied within {timeout:.0f}s and will not be (the action is "
                f"{now}); is a worker running?"
            )
        return self.follower.actions[action_id]
