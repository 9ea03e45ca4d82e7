"""The action book: one action in force per target, extension, decisions, expiry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from detectors.action_book import ActionBook, DecisionError, UnknownActionError
from events import Action

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def request(
    action_id: str = "a1", target: str = "notice@agency.example", at: datetime = T0, days: int = 90
) -> Action:
    return Action(
        action_id=action_id,
        kind="block_sender",
        target=target,
        alert_id=f"alert-{action_id}",
        requested_at=at,
        expires_at=at + timedelta(days=days),
        reason="collection e-mail",
    )


def test_a_request_opens_an_active_action_or_one_pending_approval() -> None:
    assert [a.state for a in ActionBook().request(request(), T0)] == ["active"]
    assert [a.state for a in ActionBook(require_approval=True).request(request(), T0)] == ["pending_approval"]


def test_a_later_request_for_the_same_target_extends_the_action_in_force() -> None:
    book = ActionBook()
    book.request(request(), T0)
    later = T0 + timedelta(days=10)
    [extended] = book.request(request("a2", target="NOTICE@agency.example", at=later), later)
    assert extended.action_id == "a1" and extended.expires_at == later + timedelta(days=90)
    assert list(book.actions) == ["a1"]


def test_a_request_read_again_changes_nothing() -> None:
    book = ActionBook()
    book.request(request(), T0)
    assert book.request(request(), T0) == []
    book.decide("a1", "revoke", "li.lei", T0)
    assert book.request(request(), T0 + timedelta(seconds=1)) == []


def test_decisions_follow_the_states() -> None:
    book = ActionBook(require_approval=True)
    book.request(request(), T0)
    with pytest.raises(DecisionError, match="pending_approval"):
        book.decide("a1", "revoke", "li.lei", T0)
    approved = book.decide("a1", "approve", "li.lei", T0, "checked")
    assert approved is not None and (approved.state, approved.decided_by, approved.comment) == (
        "active",
        "li.lei",
        "checked",
    )
    assert book.decide("a1", "approve", "li.lei", T0) is None  # the same decision read again
    with pytest.raises(DecisionError, match="active"):
        book.decide("a1", "approve", "li.lei", T0 + timedelta(seconds=1))  # a second one is not
    with pytest.raises(DecisionError, match="active"):
        book.decide("a1", "reject", "li.lei", T0)
    assert book.decide("a1", "revoke", "li.lei", T0).state == "revoked"  # type: ignore[union-attr]
    with pytest.raises(UnknownActionError):
        book.decide("nope", "approve", "li.lei", T0)


def test_an_ended_action_frees_its_target_for_a_new_one() -> None:
    book = ActionBook()
    book.request(request(), T0)
    book.decide("a1", "revoke", "li.lei", T0)
    later = T0 + timedelta(days=1)
    [opened] = book.request(request("a2", at=later), later)
    assert (opened.action_id, opened.state) == ("a2", "active")


def test_actions_expire_at_expires_at_approved_or_not() -> None:
    book = ActionBook(require_approval=True)
    book.request(request(days=1), T0)
    assert book.expire(T0 + timedelta(hours=23)) == []
    [expired] = book.expire(T0 + timedelta(days=1))
    assert expired.state == "expired" and book.in_force == {}
    assert book.expire(T0 + timedelta(days=2)) == []


def test_a_request_after_expiry_ends_the_old_action_and_opens_a_new_one() -> None:
    book = ActionBook()
    book.request(request(days=1), T0)
    later = T0 + timedelta(days=3)
    changed = book.request(request("a2", at=later), later)
    assert [(a.action_id, a.state) for a in changed] == [("a1", "expired"), ("a2", "active")]


def test_loading_records_rebuilds_the_book() -> None:
    source = ActionBook()
    source.request(request(), T0)
    source.request(request("b1", target="x@other.example"), T0)
    source.decide("b1", "revoke", "li.lei", T0)
    copy = ActionBook()
    copy.load_all(source.actions.values())
    assert copy.in_force == {("block_sender", "notice@agency.example"): "a1"}


def test_an_approved_action_that_expires_names_nobody_as_its_decider() -> None:
    book = ActionBook(require_approval=True)
    book.request(request(days=1), T0)
    book.decide("a1", "approve", "li.lei", T0)
    [expired] = book.expire(T0 + timedelta(days=1))
    assert (expired.decided_by, expired.decided_at) == (None, T0 + timedelta(days=1))


def test_a_decision_after_expires_at_finds_the_action_expired() -> None:
    book = ActionBook(require_approval=True)
    book.request(request(days=1), T0)
    with pytest.raises(DecisionError, match="expired"):
        book.decide("a1", "approve", "li.lei", T0 + timedelta(days=2))
    assert book.actions["a1"].state == "expired"


def test_a_pending_action_rejected_is_rejected_for_good() -> None:
    book = ActionBook(require_approval=True)
    book.request(request(), T0)
    rejected = book.decide("a1", "reject", "wang.min", T0, "a customer, not an agency")
    assert rejected is not None and (rejected.state, rejected.decided_by, rejected.decided_at) == (
        "rejected",
        "wang.min",
        T0,
    )
    assert book.in_force == {}
    for decision in ("approve", "revoke"):
        with pytest.raises(DecisionError, match="rejected"):
            book.decide("a1", decision, "wang.min", T0 + timedelta(seconds=1))  # type: ignore[arg-type]
