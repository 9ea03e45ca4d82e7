"""The ClickHouse sink on the real engine (chDB, in process)."""

from datetime import UTC, datetime

import pytest

from events import Alert, Subject
from sinks.clickhouse import ClickHouseSink, _split_url
from sinks.exceptions import SinkConfigError, SinkError


def alert(alert_id="a1", revision=1, severity="medium", events=("s/1",)):
    now = datetime(2026, 7, 1, 2, 0, tzinfo=UTC)
    return Alert(
        alert_id=alert_id,
        rule_id="harassment.repeated_calls",
        category="harassment",
        severity=severity,
        subject=Subject(kind="phone", id="+8615000000000"),
        employee_ids=["E1"],
        first_event_time=now,
        last_event_time=now,
        detected_at=now,
        event_ids=list(events),
        summary="s",
        details={"contacts": len(events)},
        policy_version="1-x",
        revision=revision,
    )


@pytest.fixture(scope="module")
def sink(tmp_path_factory):
    path = tmp_path_factory.mktemp("chdb") / "store"
    sink = ClickHouseSink(f"chdb://{path}")
    yield sink
    sink.close()


def test_revisions_collapse_to_the_newest_with_final(sink):
    sink.add(alert("a1", 1))
    sink.add(alert("a1", 2, "high", ("s/1", "s/2")))
    sink.add(alert("a1", 1))  # an at-least-once replay of an old revision
    assert sink.flush() == 3 and sink.pending == 0
    [row] = sink.query_alerts(rule_id="harassment.repeated_calls")
    assert (row["alert_id"], row["revision"], row["severity"]) == ("a1", 2, "high")
    assert row["event_ids"] == ["s/1", "s/2"] and row["details"] == {"contacts": 2}
    assert row["subject"] == {"kind": "phone", "id": "+8615000000000"}
    assert len(sink.query_alerts()) == 1


def test_ddl_is_idempotent(sink):
    sink.apply_ddl(365)
    sink.apply_ddl(365)


def test_empty_flush_writes_nothing(sink):
    assert sink.flush() == 0


def test_failed_flush_keeps_the_rows(sink, monkeypatch):
    sink.add(alert("a2"))

    def broken(*args, **kwargs):
        raise ConnectionError("server gone")

    monkeypatch.setattr(sink.client, "insert", broken)
    sink.backoff = 0.001
    with pytest.raises(SinkError, match="failed 5 times"):
        sink.flush()
    assert sink.pending == 1
    monkeypatch.undo()
    assert sink.flush() == 1
    assert {r["alert_id"] for r in sink.query_alerts()} >= {"a2"}


def test_the_restricted_table_maps_pseudonyms_to_employees(sink):
    sink.add_pseudonym("p-abc", "E1042")
    sink.add_pseudonym("p-abc", "E1042")
    assert sink.flush() == 0 and sink.pending == 0
    assert sink.employee_for("p-abc") == "E1042"
    assert sink.employee_for("p-unknown") is None


def test_distress_rows_have_their_own_retention(sink):
    sink.apply_ddl(730, 180)
    ddl = sink.client.command(f"SHOW CREATE TABLE {sink.database}.alerts")
    assert "WHERE category = \\'distress\\'" in ddl or "WHERE category = 'distress'" in ddl
    assert "toIntervalDay(180)" in ddl and "toIntervalDay(730)" in ddl


def test_a_changed_retention_takes_effect_at_the_next_start(sink):
    """privacy.md: the TTLs are applied again at every start, so a changed policy or
    CM_EVENT_TTL_DAYS holds for the existing tables too."""
    sink.apply_ddl(730, 180, 180)
    sink.apply_ddl(700, 90, 30)
    alerts = sink.client.command(f"SHOW CREATE TABLE {sink.database}.alerts")
    events = sink.client.command(f"SHOW CREATE TABLE {sink.database}.events")
    assert "toIntervalDay(90)" in alerts and "toIntervalDay(700)" in alerts
    assert "toIntervalDay(180)" not in alerts and "toIntervalDay(30)" in events


def test_urls():
    assert _split_url("chdb:///var/lib/cm")[1] == "compliance"
    assert _split_url("http://u:p@ch:8123/alerts_db") == ("http://u:p@ch:8123", "alerts_db")
    with pytest.raises(SinkConfigError, match="CM_CLICKHOUSE_URL"):
        _split_url("mysql://x")
    with pytest.raises(SinkConfigError, match="identifier"):
        _split_url("http://ch:8123/bad-name;drop")
