"""The life of IT actions: requests from rules, people's decisions, expiry.

Pure: no clock, broker or store; times are arguments. The worker's action keeper and
``backtest`` run this same book, so both give an action the same states.

- A request for a target with no action in force opens one: ``active``, or
  ``pending_approval`` when the policy asks for approval.
- A request for a target that has an action in force (pending or active) extends its
  ``expires_at`` instead of adding a second one.
- ``approve`` and ``reject`` decide a pending action; ``revoke`` ends an active one.
- An action in force ends ``expired`` at ``expires_at``, approved or not.

Ended actions (rejected, revoked, expired) never change again; a later request for their
target opens a new action.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Literal

from events.alert import ENDED_STATES, Action, ActionState
from events.exceptions import ComplianceMonitorError

Decision = Literal["approve", "reject", "revoke"]
DECISIONS: dict[str, tuple[frozenset[str], ActionState]] = {
    "approve": (frozenset({"pending_approval"}), "active"),
    "reject": (frozenset({"pending_approval"}), "rejected"),
    "revoke": (frozenset({"active"}), "revoked"),
}
"""Decision -> (states it applies to, state it leads to)."""


class UnknownActionError(ComplianceMonitorError, LookupError):
    """No action has this id (HTTP 404)."""


class DecisionError(ComplianceMonitorError, ValueError):
    """The decision does not apply to the action's state (HTTP 409)."""


def target_key(action: Action) -> tuple[str, str]:
    """One action in force per kind and target; targets compare case-insensitively."""
    return action.kind, action.target.lower()


class ActionBook:
    """Every action by id, and the one in force per target."""

    def __init__(self, require_approval: bool = False) -> None:
        self.require_approval = require_approval
        self.actions: dict[str, Action] = {}
        self.in_force: dict[tuple[str, str], str] = {}

    def load(self, action: Action) -> None:
        """Take ``action`` as the latest state of its id (a record read from the actions topic)."""
        self.actions[action.action_id] = action
        key = target_key(action)
        if action.state in ENDED_STATES:
            if self.in_force.get(key) == action.action_id:
                del self.in_force[key]
        else:
            self.in_force[key] = action.action_id

    def load_all(self, actions: Iterable[Action]) -> None:
        for action in actions:
            self.load(action)

    def current(self, action: Action) -> Action | None:
        """The action in force for ``action``'s target, if any."""
        action_id = self.in_force.get(target_key(action))
        return self.actions[action_id] if action_id else None

    def request(self, request: Action, now: datetime) -> list[Action]:
        """Apply a rule's request at ``now``; the actions whose state changed, in order.

        A request read again after a restart changes nothing: its own action, or the extension
        it made, is already in the book.
        """
        if request.action_id in self.actions and self.actions[request.action_id].state in ENDED_STATES:
            return []
        changed = self.expire(now, [self.current(request)])
        current = self.current(request)
        if current is None:
            state: ActionState = "pending_approval" if self.require_approval else "active"
            opened = request.model_copy(
                update={"state": state, "decided_by": None, "decided_at": None, "comment": None}
            )
            self.load(opened)
            return [*changed, opened]
        if request.expires_at is None or (
            current.expires_at is not None and request.expires_at <= current.expires_at
        ):
            return changed
        extended = current.model_copy(update={"expires_at": request.expires_at})
        self.load(extended)
        return [*changed, extended]

    def decide(
        self, action_id: str, decision: Decision, by: str, at: datetime, comment: str | None = None
    ) -> Action | None:
        """Apply a person's decision; the new state, or None when it was already applied.

        An action whose ``expires_at`` has come by ``at`` is expired first, and refuses the
        decision. Raises :class:`UnknownActionError` or :class:`DecisionError` (naming the state).
        """
        action = self.actions.get(action_id)
        if action is None:
            raise UnknownActionError(f"no action {action_id}")
        if action.state not in ENDED_STATES and self.expire(at, [action]):
            raise DecisionError(f"cannot {decision} an action that is expired")
        allowed, leads_to = DECISIONS[decision]
        if action.state == leads_to and (action.decided_by, action.decided_at) == (by, at):
            return None  # this very decision, read again
        if action.state not in allowed:
            raise DecisionError(f"cannot {decision} an action that is {action.state}")
        decided = action.model_copy(
            update={"state": leads_to, "decided_by": by, "decided_at": at, "comment": comment}
        )
        self.load(decided)
        return decided

    def expire(self, now: datetime, actions: Iterable[Action | None] | None = None) -> list[Action]:
        """End the actions in force (of ``actions``, default all) whose ``expires_at`` has come."""
        candidates = (
            actions if actions is not None else [self.actions[i] for i in list(self.in_force.values())]
        )
        ended = []
        for action in candidates:
            if action is None or action.expires_at is None or action.expires_at > now:
                continue
            if action.state in ENDED_STATES:
                continue
            expired = action.model_copy(
                update={"state": "expired", "decided_by": None, "decided_at": action.expires_at}
            )
            self.load(expired)
            ended.append(expired)
        return ended

    def next_expiry(self) -> datetime | None:
        """When the next action in force expires."""
        times = [self.actions[i].expires_at for i in self.in_force.values()]
        return min((t for t in times if t is not None), default=None)
