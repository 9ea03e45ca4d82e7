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


class Action(BaseModel):
    """A request to IT (topic ``compliance.actions``), e.g. to block a mail sender."""

    model_config = ConfigDict(extra="forbid")

    action_id: str
    kind: Literal["block_sender", "block_domain"]
    target: str
    alert_id: str
    requested_at: datetime
    expires_at: datetime | None = None
    reason: str
