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
def store(tmp_path_factory):
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
    yield AlertQueries(sink.client, sink.database, sink._lock)
    sink.close()


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


def test_history_oldest_first_and_events(store):
    history = store.audit(alert_id="a3", oldest_first=True)
    assert [h["action"] for h in history] == ["acknowledge", "close"]
    assert [e["id"] for e in store.events(["s/3", "s/1"])] == ["1", "3"]


def test_a_cursor_not_handed_out_is_refused(store):
    with pytest.raises(BadCursor):
        store.list_alerts(AlertFilter(), 2, "not-a-cursor")
