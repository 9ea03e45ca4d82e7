"""The keeper's step: commands to action states and audit records, published before the ack
(no broker)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from detectors import load_policy
from detectors.action_book import ActionBook
from events import Action
from streams.actions.commands import COMMAND, DecisionCommand, RequestCommand
from streams.actions.keeper import ActionKeeper, apply_command
from streams.app import create_app
from streams.delivery import Outbox
from streams.settings import Settings

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
        deadline=at + timedelta(seconds=15),
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


def test_a_decision_read_after_its_sender_gave_up_is_not_applied() -> None:
    book = ActionBook(require_approval=True)
    apply_command(book, RequestCommand(action=REQUEST), T0)
    assert apply_command(book, decision("approve"), T0 + timedelta(seconds=16)) == ([], [])
    assert book.actions["a1"].state == "pending_approval"


def test_a_decision_on_an_action_past_its_expiry_publishes_the_expiry() -> None:
    book = ActionBook(require_approval=True)
    apply_command(book, RequestCommand(action=REQUEST), T0)
    late = T0 + timedelta(days=91)
    [expired], audits = apply_command(book, decision("approve", at=late), late)
    assert expired.state == "expired" and audits == []


def test_the_keeper_refuses_requests_the_policy_never_allows() -> None:
    book = ActionBook()
    allowed = REQUEST.model_copy(update={"target": "partner.example"})
    assert apply_command(book, RequestCommand(action=allowed), T0, ["partner.example"]) == ([], [])
    free_mail = REQUEST.model_copy(update={"target": "qq.com"})
    assert apply_command(book, RequestCommand(action=free_mail), T0) == ([], [])
    sender = REQUEST.model_copy(update={"kind": "block_sender", "target": "x@mail.partner.example"})
    assert apply_command(book, RequestCommand(action=sender), T0, ["partner.example"]) == ([], [])
    assert book.actions == {}


def test_the_keeper_acknowledges_a_command_only_once_the_broker_has_its_change_and_audit_record(
    tmp_path,
) -> None:
    """docs/architecture.md, *IT actions in the hops*: the new state on the actions topic and
    the decision's audit record on the triage topic are confirmed before the ack."""
    settings = Settings(data_dir=tmp_path)
    app = create_app(settings)
    log: list[str] = []

    class Producer:  # the broker confirms each record a moment after it is sent
        async def send(self, topic, value, key=None, partition=None):
            future = asyncio.get_running_loop().create_future()
            asyncio.get_running_loop().call_later(0.01, future.set_result, object())
            future.add_done_callback(lambda _: log.append(f"confirmed {topic}"))
            return future

    keeper = ActionKeeper(
        app, settings, load_policy(None), app.topic("commands"), lambda: Outbox(Producer()), clock=lambda: T0
    )
    keeper.book = ActionBook(require_approval=True)
    apply_command(keeper.book, RequestCommand(action=REQUEST), T0)
    value = decision("approve").model_dump_json().encode()

    class Commands:
        async def events(self):
            message = SimpleNamespace(topic="commands", partition=0, offset=0, value=value, generation_id=1)
            yield SimpleNamespace(value=value, message=message)

        async def ack(self, event):
            log.append("ack")

    asyncio.run(keeper.keep(SimpleNamespace(noack=Commands)))

    topics = settings.topics
    assert sorted(log[:2]) == sorted([f"confirmed {topics.actions}", f"confirmed {topics.triage}"])
    assert log[2:] == ["ack"] and keeper.book.actions["a1"].state == "active"
