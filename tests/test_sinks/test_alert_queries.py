"""The console's reads on the real engine (chDB, in process)."""

from datetime import UTC, datetime, timedelta

import orjson
import pytest

from sinks.alert_queries import AlertFilter, AlertQueries, BadCursor
from sinks.clickhouse import ClickHouseSink
from tests.test_sinks.test_clickhouse import alert

T0 = datetime(2026, 7, 1, 2, 0, tzinfo=UTC)


def audit(alert_id: str, n: int, action: str, to_status: str, **extra) -> dict:
    at = T0 + timedelta(minutes=n)
    record = {
        "audit_id": f"{alert_id}-{n}",
        "at": at,
        "user": "li.wei",
        "role": "officer",
        "action": action,
        "alert_id": alert_id,
        "from_status": "open",
        "to_status": to_status,
        **extra,
    }
    record["triage"] = {"status": to_status, "assignee": extra.get("assignee"), "reason": extra.get("reason")}
    return record


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    sink = ClickHouseSink(f"chdb://{tmp_path_factory.mktemp('chdb') / 'store'}")
    for i in range(5):
        a = alert(f"a{i}", severity="high" if i % 2 else "low", events=(f"s/{i}",))
        a = a.model_copy(update={"last_event_time": T0 + timedelta(hours=i), "summary": f"电话 {i}"})
        sink.add(a)
        sink.add_event(
            f"s/{i}", "telephony.call.completed", T0 + timedelta(hours=i), orjson.dumps({"id": str(i)})
        )
    sink.add_audit(audit("a1", 1, "acknowledge", "acknowledged"))
    sink.add_audit(audit("a3", 1, "acknowledge", "acknowledged"))
    sink.add_audit(audit("a3", 2, "close", "closed", reason="resolved"))
    sink.flush()
    yield sink
    sink.close()


@pytest.fixture(scope="module")
def store(stored):
    return AlertQueries(stored.client, stored.database, stored._lock)


def test_newest_first_with_triage_and_pages(store):
    first, cursor = store.list_alerts(AlertFilter(), 2)
    assert [a["alert_id"] for a in first] == ["a4", "a3"]
    assert first[1]["triage"]["status"] == "closed" and first[1]["triage"]["reason"] == "resolved"
    assert first[0]["triage"] == {
        "status": "open",
        "assignee": None,
        "reason": None,
        "updated_at": None,
        "updated_by": None,
    }
    second, cursor = store.list_alerts(AlertFilter(), 2, cursor)
    third, last = store.list_alerts(AlertFilter(), 2, cursor)
    assert [a["alert_id"] for a in second + third] == ["a2", "a1", "a0"] and last is None


def test_filters(store):
    def ids(**where):
        return [a["alert_id"] for a in store.list_alerts(AlertFilter(**where), 50)[0]]

    assert ids(status="acknowledged") == ["a1"]
    assert ids(status="open") == ["a4", "a2", "a0"]
    assert ids(severity="high") == ["a3", "a1"]
    assert ids(q="电话 2") == ["a2"]
    assert ids(since=T0 + timedelta(hours=3)) == ["a4", "a3"]
    assert ids(until=T0 + timedelta(hours=1)) == ["a0"]


def test_the_text_search_finds_the_alerts_on_a_subject(store):
    """What the alert page's related alerts ask for: ``q`` = the subject's id."""

    def ids(q):
        return [a["alert_id"] for a in store.list_alerts(AlertFilter(q=q), 50)[0]]

    assert ids("+8615000000000") == ["a4", "a3", "a2", "a1", "a0"]
    assert ids("+8615000000009") == []


def test_history_oldest_first_and_events(store):
    history = store.audit(alert_id="a3", oldest_first=True)
    assert [h["action"] for h in history] == ["acknowledge", "close"]
    assert [e["id"] for e in store.events(["s/3", "s/1"])] == ["1", "3"]


def test_a_cursor_not_handed_out_is_refused(store):
    with pytest.raises(BadCursor):
        store.list_alerts(AlertFilter(), 2, "not-a-cursor")


def test_a_distress_alert_finds_no_evidence_among_the_stored_events(stored, store):
    """privacy.md: the console looks evidence up by an alert's ``event_ids``; a distress
    alert's are event pseudonyms, so its claims stay hidden while an expense alert shows them."""
    from detectors import Engine
    from detectors.privacy import Pseudonymizer
    from events import Alert, parse_event_dict
    from tests.factories import at, claim
    from tests.test_detectors.helpers import policy

    engine, state, alerts = Engine(policy(), pseudonymizer=Pseudonymizer(b"k" * 32)), {}, {}
    hotel = "如家酒店"
    small = [claim("E77", f"{100 + i}.50", at(i), expense_date="2026-07-05") for i in range(11)]
    split = [claim("E77", "2800", at(12), merchant=hotel), claim("E77", "2600", at(13), merchant=hotel)]
    for raw in small + split:
        event = parse_event_dict(raw)
        when = datetime.fromtimestamp(event.timestamp, UTC)
        stored.add_event(event.uid, event.type, when, orjson.dumps(raw))
        alerts.update({o.rule_id: o for o in engine.run(event, state) if isinstance(o, Alert)})
    stored.flush()
    assert len(store.events(alerts["expense.split_claims"].event_ids)) == 2
    assert store.events(alerts["distress.frequent_small_claims"].event_ids) == []


def test_a_record_delivered_twice_is_kept_once_and_the_later_of_two_changes_sets_the_state(stored, store):
    """console.md: two people change one alert through two processes at the same moment; each
    record is delivered at least once, and the later arrives at the store first."""
    earlier = audit("b1", 1, "acknowledge", "acknowledged", user="li.wei", client="10.0.0.1")
    later = {**audit("b1", 2, "close", "closed", reason="duplicate"), "user": "wang.fang"}
    for record in (later, later, earlier):  # the later change delivered twice, and stored first
        stored.add_audit(record)
        stored.flush()
    event = orjson.dumps({"id": "dup"})
    for _ in range(2):
        stored.add_event("s/dup", "telephony.call.completed", T0, event)
        stored.flush()
    assert [(r["action"], r["user"]) for r in store.audit(alert_id="b1", oldest_first=True)] == [
        ("acknowledge", "li.wei"),
        ("close", "wang.fang"),
    ]
    state = stored.client.query(
        f"SELECT status, updated_by FROM {stored.database}.triage_state FINAL WHERE alert_id = 'b1'"  # noqa: S608
    ).result_rows
    assert state == [("closed", "wang.fang")]
    assert store.events(["s/dup"]) == [{"id": "dup"}]
