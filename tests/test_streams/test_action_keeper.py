"""The keeper's step: commands to action states and audit records (no broker)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from detectors.action_book import ActionBook
from events import Action
from streams.actions.commands import COMMAND, DecisionCommand, RequestCommand
from streams.actions.keeper import apply_command

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
REQUEST = Action(
    action_id="a1",
    kind="block_domain",
    target="agency.example",
    alert_id="al1",
    requested_at=T0,
    expires_at=T0 + timedelta(days=90),
    reason="3 senders",
)


def decision(decision: str, by: str = "wang.min", at: datetime = T0) -> DecisionCommand:
    return DecisionCommand(
        audit_id=f"{decision}-{by}-{at.timestamp()}",
        action_id="a1",
        decision=decision,
        by=by,
        role="it",
        at=at,
    )


def test_a_decision_changes_the_action_and_is_audited_once_per_command() -> None:
    book = ActionBook(require_approval=True)
    [pending], audits = apply_command(book, RequestCommand(action=REQUEST), T0)
    assert pending.state == "pending_approval" and audits == []
    command = decision("approve")
    changed, [audit] = apply_command(book, command, T0)
    assert [a.state for a in changed] == ["active"]
    assert (audit.action, audit.action_id, audit.alert_id) == ("approve_action", "a1", "al1")
    assert (audit.from_status, audit.to_status, audit.user, audit.role) == (
        "pending_approval",
        "active",
        "wang.min",
        "it",
    )
    again, [same] = apply_command(book, command, T0)  # read again after a crash
    assert again == [] and same == audit


def test_a_refused_decision_changes_nothing() -> None:
    book = ActionBook()
    apply_command(book, RequestCommand(action=REQUEST), T0)
    assert apply_command(book, decision("approve"), T0) == ([], [])
    assert book.actions["a1"].state == "active"


def test_commands_travel_as_json() -> None:
    for command in (RequestCommand(action=REQUEST), decision("revoke")):
        assert COMMAND.validate_json(command.model_dump_json()) == command
