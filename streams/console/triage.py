"""Triage of an alert: statuses, the changes people make, and the audit record of each.

Pure: no clock, store or network. ``open -> acknowledged -> closed``; ``reopen`` takes a
closed alert back to ``open``; closing needs a reason; a comment or an assignment leaves
the status as it is. Every change is an :class:`AuditRecord`.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from events.alert import ActionState
from events.exceptions import ComplianceMonitorError

Status = Literal["open", "acknowledged", "closed"]
TriageAction = Literal["acknowledge", "assign", "close", "reopen", "comment"]
AuditAction = Literal[
    "acknowledge",
    "assign",
    "close",
    "reopen",
    "comment",
    "reveal",
    "export",
    "approve_action",
    "reject_action",
    "revoke_action",
]
CloseReason = Literal["resolved", "false_positive", "duplicate", "not_actionable"]
MAX_TEXT = 4000


class TransitionError(ComplianceMonitorError, ValueError):
    """The action is not allowed from the alert's status (HTTP 409)."""


class Triage(BaseModel):
    """Where an alert stands; a new alert is ``open`` and unassigned."""

    status: Status = "open"
    assignee: str | None = None
    reason: CloseReason | None = None
    updated_at: datetime | None = None
    updated_by: str | None = None


class TriageRequest(BaseModel):
    """Body of ``POST /api/v1/alerts/{id}/triage``."""

    model_config = ConfigDict(extra="forbid")

    action: TriageAction
    assignee: str | None = Field(None, max_length=64)
    reason: CloseReason | None = None
    comment: str | None = Field(None, max_length=MAX_TEXT)

    @model_validator(mode="after")
    def _needs(self) -> TriageRequest:
        if self.action == "close" and self.reason is None:
            raise ValueError(
                "reason: closing needs one of resolved, false_positive, duplicate, not_actionable"
            )
        if self.action == "assign" and not self.assignee:
            raise ValueError("assignee: assigning needs a user name")
        if self.action == "comment" and not (self.comment or "").strip():
            raise ValueError("comment: a comment needs text")
        return self


class BulkTriageRequest(TriageRequest):
    """Body of ``POST /api/v1/alerts/triage``: the same change for several alerts."""

    alert_ids: list[str] = Field(min_length=1, max_length=500)


class AuditRecord(BaseModel):
    """One line of the audit log (topic ``compliance.triage``, key ``alert_id``)."""

    audit_id: str
    at: datetime
    user: str
    role: str
    action: AuditAction
    alert_id: str | None = None
    action_id: str | None = None
    """For an IT action decision: the action; its states go in ``from_status``/``to_status``."""
    from_status: Status | ActionState | None = None
    to_status: Status | ActionState | None = None
    assignee: str | None = None
    reason: str | None = None
    comment: str | None = None
    client: str | None = None
    triage: Triage | None = None
    """For a triage change: where the alert stands after it (the store keeps the latest)."""


def audit_id(*parts: object) -> str:
    """A deterministic id: the same request replayed is the same record."""
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:32]


def apply(
    current: Triage,
    request: TriageRequest,
    *,
    alert_id: str,
    user: str,
    role: str,
    at: datetime,
    client: str | None = None,
    nonce: str = "",
) -> tuple[Triage, AuditRecord]:
    """The triage after ``request`` and its audit record; :class:`TransitionError` if not allowed."""
    status, assignee, reason = current.status, current.assignee, current.reason
    match request.action:
        case "acknowledge":
            if status != "open":
                raise TransitionError(f"cannot acknowledge an alert that is {status}")
            status = "acknowledged"
        case "close":
            if status == "closed":
                raise TransitionError("the alert is closed already")
            status, reason = "closed", request.reason
        case "reopen":
            if status != "closed":
                raise TransitionError(f"only a closed alert can be reopened; this one is {status}")
            status, reason = "open", None
        case "assign":
            if status == "closed":
                raise TransitionError("reopen a closed alert before assigning it")
            assignee = request.assignee
        case "comment":
            pass
    after = Triage(status=status, assignee=assignee, reason=reason, updated_at=at, updated_by=user)
    record = AuditRecord(
        audit_id=audit_id(alert_id, user, request.action, at.isoformat(), nonce),
        at=at,
        user=user,
        role=role,
        action=request.action,
        alert_id=alert_id,
        from_status=current.status,
        to_status=status,
        assignee=request.assignee if request.action == "assign" else None,
        reason=request.reason if request.action == "close" else None,
        comment=request.comment,
        client=client,
        triage=after,
    )
    return after, record
