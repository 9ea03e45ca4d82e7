"""What the action keeper is asked to do: a rule's request, or a person's decision.

Commands travel on the worker's internal ``<app id>-action-commands`` topic, which has one
partition: the worker that holds it is the only writer of ``compliance.actions``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from detectors.action_book import Decision
from events import Action
from streams.console.triage import MAX_TEXT


class RequestCommand(BaseModel):
    """A rule asks for an action (published by the keyed hop with the alert behind it)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["request"] = "request"
    action: Action


class DecisionCommand(BaseModel):
    """A person approves, rejects or revokes an action (console or ``actions decide``)."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["decision"] = "decision"
    audit_id: str
    action_id: str
    decision: Decision
    by: str = Field(min_length=1, max_length=64)
    role: str
    at: datetime
    comment: str | None = Field(None, max_length=MAX_TEXT)
    client: str | None = None
    deadline: datetime
    """After this the sender has given up waiting (and told its user): the keeper refuses it."""


Command = Annotated[RequestCommand | DecisionCommand, Field(discriminator="type")]
COMMAND = TypeAdapter(Command)


def commands_topic(app_id: str) -> str:
    """Name of the keeper's command topic for a worker group."""
    return f"{app_id}-action-commands"
