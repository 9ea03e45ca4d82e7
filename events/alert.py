"""The alert and the IT action request: what the monitor publishes (topics, ClickHouse, backtest)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Severity = Literal["low", "medium", "high", "critical"]
SubjectKind = Literal["phone", "employee", "agent", "debtor", "mail_sender"]

SEVERITY_RANK: dict[str, int] = {"low": 0, "medium": 1, "high": 2, "critical": 3}
MAX_EVENT_IDS = 200
"""An alert keeps at most this many evidence event ids, the newest."""


class Subject(BaseModel):
    """Who or what an alert is about."""

    model_config = ConfigDict(frozen=True)

    kind: SubjectKind
    id: str


class Alert(BaseModel):
    """One alert, in the shape of events.md. Later evidence updates it under the same id."""

    model_config = ConfigDict(extra="forbid")

    alert_id: str
    rule_id: str
    category: str
    severity: Severity
    status: Literal["open", "closed"] = "open"
    subject: Subject
    employee_ids: list[str] = Field(default_factory=list)
    first_event_time: datetime
    last_event_time: datetime
    detected_at: datetime
    event_ids: list[str]
    summary: str
    details: dict[str, Any] = Field(default_factory=dict)
    policy_version: str
    revision: int = Field(
        default=1, description="Increases with every update of the alert (ClickHouse version)."
    )


ActionKind = Literal["block_sender", "block_domain"]
ActionState = Literal["pending_approval", "active", "rejected", "revoked", "expired"]
ENDED_STATES = frozenset({"rejected", "revoked", "expired"})
"""States an action never leaves."""


class ActionAlert(BaseModel):
    """What an action's receivers see of the alert behind it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rule_id: str
    severity: Severity
    summary: str


class Action(BaseModel):
    """An IT action (topic ``compliance.actions``, compacted, key ``action_id``): its latest state.

    A request from a rule starts ``active``, or ``pending_approval`` when the policy asks for
    approval; it ends ``rejected``, ``revoked`` or ``expired`` (at ``expires_at``). A later
    alert for the same target extends ``expires_at`` of the action in force instead of adding
    a second one.
    """

    model_config = ConfigDict(extra="forbid")

    action_id: str
    kind: ActionKind
    target: str
    alert_id: str
    requested_at: datetime
    expires_at: datetime | None = None
    reason: str
    state: ActionState = "active"
    decided_by: str | None = None
    decided_at: datetime | None = None
    comment: str | None = None
    alert: ActionAlert | None = None
    """The rule, severity and summary of the alert that asked for the action."""
