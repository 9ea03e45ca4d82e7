"""The policy's ``actions:`` section: approval, the Postfix reject text, webhook receivers."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, field_validator

from detectors.durations import Duration
from events.alert import ActionKind

DEFAULT_REJECT_TEXT = "5.7.1 Sender blocked by compliance policy"


class Webhook(BaseModel):
    """One receiver of action state changes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    url: AnyHttpUrl
    secret_env: str = Field(pattern=r"^[A-Z_][A-Z0-9_]*$")
    """Environment variable holding the secret: a ``whsec_…`` key (``standard``) or the
    ``Authorization`` header value (``alertmanager``)."""
    format: Literal["standard", "alertmanager"] = "standard"
    kinds: list[ActionKind] = Field(default_factory=lambda: ["block_sender", "block_domain"], min_length=1)
    timeout: Duration = timedelta(seconds=5)
    retry_for: Duration = timedelta(hours=1)

    @field_validator("timeout")
    @classmethod
    def _timeout(cls, value: timedelta) -> timedelta:
        if not timedelta(0) < value <= timedelta(minutes=2):
            raise ValueError("must be more than 0s and at most 2m")
        return value


class ActionsPolicy(BaseModel):
    """How IT actions are decided and delivered."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    require_approval: bool = False
    """True: a requested block waits in ``pending_approval`` until IT approves it."""
    reject_text: str = Field(DEFAULT_REJECT_TEXT, min_length=1, max_length=200, pattern=r"^[\x20-\x7e]+$")
    """What the Postfix policy service answers after ``action=REJECT`` (printable ASCII)."""
    webhooks: list[Webhook] = Field(default_factory=list)

    @field_validator("webhooks")
    @classmethod
    def _unique(cls, hooks: list[Webhook]) -> list[Webhook]:
        names = [hook.name for hook in hooks]
        if len(names) != len(set(names)):
            raise ValueError("webhook names must be unique")
        return hooks
