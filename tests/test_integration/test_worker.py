"""The worker end to end on real brokers (Tansu and Apache Kafka) and the real ClickHouse engine."""

from __future__ import annotations

import base64
import time
import uuid

import orjson
import pytest
from aiokafka.partitioner import murmur2

from detectors import load_policy
from detectors.privacy import Pseudonymizer
from streams.backtest import run_backtest
from streams.settings import Topics
from tests.factories import at, call, claim, collection_call, employee, mail, sms
from tests.fixtures.brokers import consume_all, produce
from tests.fixtures.workers import PSEUDONYM_KEY, WorkerProcess

pytestmark = pytest.mark.broker


def unique_phone(prefix: str = "150") -> str:
    return f"+86{prefix}{uuid.uuid4().int % 10**8:08d}"


def phones_on_one_keyed_partition(count: int) -> list[str]:
    """Callers whose harassment copies share a keyed partition: a partition's own newest event
    time decides what expires in it, so keys spread over two would not see each other's time."""
    partition_of = {}
    while True:
        phone = unique_phone()
        partition_of[phone] = (murmur2(phone.encode()) & 0x7FFFFFFF) % 2  # of CM_PARTITIONS=2
        same = [p for p, part in partition_of.items() if part == partition_of[phone]]
        if len(same) == count:
            return same


def blast_scenario(tag: str) -> tuple[list[dict], str, str]:
    """Three employees reached by one number, plus a collection call at 23:00; unique ids per call."""
    staff = [employee(f"E-{tag}-{i}", unique_phone("2160"[:3]), unique_phone("138")) for i in range(3)]
    number = unique_phone()
    contacts = [
        call(number, staff[0]["data"]["office_phone"], at(0)),
        sms(number, staff[1]["data"]["mobile_phone"], at(1)),
        call(number, staff[2]["data"]["mobile_phone"], at(2)),
    ]
    debtor = f"D-{tag}"
    return [*staff, *contacts, collection_call(debtor, at(14))], number, debtor


def send(worker: WorkerProcess, events: list[dict]) -> None:
    """Produce ``events``; HR records first, and only then the rest, as a directory precedes traffic."""
    staff = [e for e in events if e["type"] == "hr.employee.upserted"]
    if staff:
        before = processed(worker, "hr", "hr.employee.upserted")
        _produce(worker, staff)
        worker.wait_for(
            lambda: processed(worker, "hr", "hr.employee.upserted") >= before + len(staff),
            what="directory records read",
        )
    _produce(worker, [e for e in events if e["type"] != "hr.employee.upserted"])


def processed(worker: WorkerProcess, topic: str, event_type: str) -> float:
    """Valid events of ``event_type`` the worker read from its ``topic`` (a Topics field)."""
    return worker.metric("cm_events_processed_total", topic=worker.topic(topic), type=event_type)


def _produce(worker: WorkerProcess, events: list[dict]) -> None:
    records = []
    topics = Topics(**{name: worker.topic(name) for name in Topics.model_fields})
    for event in events:
        key = event["data"].get("employee_id") or event["id"]
        records.append((topics.for_event(event["type"]), event, key))
    produce(worker.broker.bootstrap, records)


def alert_for(worker: WorkerProcess, rule_id: str, subject_id: str) -> dict | None:
    return next((a for a in worker.alerts(rule_id) if a["subject"]["id"] == subject_id), None)


def test_events_become_alerts_in_clickhouse_and_on_the_alerts_topic(worker):
    tag = uuid.uuid4().hex[:8]
    events, number, debtor = blast_scenario(tag)
    send(worker, events)
    blast = worker.wait_for(lambda: alert_for(worker, "harassment.contact_blast", number), what="blast alert")
    assert blast["employee_ids"] == [f"E-{tag}-{i}" for i in range(3)]
    assert blast["event_ids"] == [f"{e['source']}/{e['id']}" for e in events[3:6]]
    quiet = worker.wait_for(
        lambda: alert_for(worker, "conduct.quiet_hours", debtor), what="quiet-hours alert"
    )
    assert quiet["severity"] == "high"
    published = {
        key.decode(): orjson.loads(value)
        for key, value in consume_all(worker.broker.bootstrap, worker.topic("alerts"))
    }
    assert published[blast["alert_id"]]["rule_id"] == "harassment.contact_blast"
    assert published[quiet["alert_id"]]["subject"] == {"kind": "debtor", "id": debtor}


def test_sms_blast_and_collection_email_give_alerts_and_a_block_action(worker):
    tag = uuid.uuid4().hex[:8]
    staff = [employee(f"E-m-{tag}-{i}", unique_phone("2160"[:3]), unique_phone("138")) for i in range(3)]
    number = unique_phone()
    texts = [
        sms(number, e["data"]["mobile_phone"], at(i), "你同事网贷逾期了，请转告他尽快还款")
        for i, e in enumerate(staff)
    ]
    sender = f"notice@agency-{tag}.example"
    letter = mail(
        sender, at(4), "催收函", "您的同事欠款逾期未还，请转告其结清欠款。", employees=(f"E-m-{tag}-0",)
    )
    send(worker, [*staff, *texts, letter])
    worker.wait_for(lambda: alert_for(worker, "harassment.contact_blast", number), what="SMS blast alert")
    worker.wait_for(lambda: alert_for(worker, "harassment.collection_content", number), what="content alert")
    email = worker.wait_for(
        lambda: alert_for(worker, "harassment.collection_email", sender), what="e-mail alert"
    )

    def action():
        records = consume_all(worker.broker.bootstrap, worker.topic("actions"), timeout=2)
        found = [(k, orjson.loads(v)) for k, v in records if orjson.loads(v)["target"] == sender]
        return found[0] if found else None

    key, request = worker.wait_for(action, what="block_sender action")
    assert request["kind"] == "block_sender" and request["alert_id"] == email["alert_id"]
    assert key == request["action_id"].encode()  # actions are keyed by their id
    assert worker.metric("cm_actions_total", kind="block_sender") >= 1


def test_distress_alerts_on_the_topic_carry_no_employee_id_in_clear(worker):
    tag = uuid.uuid4().hex[:8]
    who = f"E-d-{tag}"
    hidden = Pseudonymizer(PSEUDONYM_KEY.encode())
    claims = [claim(who, f"{100 + i}.25", at(i), expense_date="2026-07-05") for i in range(11)]
    send(worker, claims)

    def distress():
        records = consume_all(worker.broker.bootstrap, worker.topic("alerts"), timeout=2)
        alerts = [orjson.loads(v) for _, v in records]
        return [
            a for a in alerts if a["category"] == "distress" and a["subject"]["id"] == hidden.pseudonym(who)
        ]

    alerts = worker.wait_for(distress, what="a distress alert on the topic")
    evidence = {hidden.event_pseudonym(f"{c['source']}/{c['id']}") for c in claims}
    for alert in alerts:
        assert who not in orjson.dumps(alert).decode()
        assert alert["employee_ids"] == [hidden.pseudonym(who)] and set(alert["event_ids"]) <= evidence
    rows = consume_all(worker.broker.bootstrap, f"{worker.app_id}-pseudonyms", timeout=2)
    assert {"pseudonym": hidden.pseudonym(who), "employee_id": who} in [orjson.loads(v) for _, v in rows]


def test_bad_input_goes_to_the_deadletter_topic_and_the_stream_goes_on(worker):
    tag = uuid.uuid4().hex[:8]
    broken = f"not json {tag}".encode()
    binary = b"\xff\xfe" + tag.encode() + b"\x00"
    invalid = call(unique_phone(), "+862160000000", at(0), event_id=f"invalid-{tag}")
    del invalid["data"]["caller"]
    debtor = f"D-after-{tag}"
    produce(
        worker.broker.bootstrap,
        [
            (worker.topic("calls"), broken, None),
            (worker.topic("calls"), binary, None),
            (worker.topic("calls"), invalid, None),
            (worker.topic("calls"), collection_call(debtor, at(15)), None),
        ],
    )
    worker.wait_for(lambda: alert_for(worker, "conduct.quiet_hours", debtor), what="alert after bad input")
    records = consume_all(worker.broker.bootstrap, worker.topic("deadletter"))
    assert all(key is None for key, _ in records)  # dead letters carry no key
    letters = [orjson.loads(v) for _, v in records]
    mine = {letter["reason"]: letter for letter in letters if tag in (letter["original"] or "")}
    assert set(mine) == {"not_json", "missing_field"}
    undecodable = [
        letter
        for letter in letters
        if letter["original_base64"] and base64.b64decode(letter["original_base64"]) == binary
    ]
    assert len(undecodable) == 1 and undecodable[0]["original"] is None  # stored once, as base64
    assert mine["missing_field"]["field"] == "data.caller"
    assert "data.caller" in mine["missing_field"]["message"]
    assert mine["not_json"]["original"] == broken.decode() and mine["not_json"]["original_base64"] is None
    assert mine["not_json"]["original_size"] == len(broken) and not mine["not_json"]["original_truncated"]
    assert mine["not_json"]["topic"] == worker.topic("calls")
    assert mine["not_json"]["offset"] >= 0 and mine["not_json"]["partition"] >= 0


def test_metrics_count_events_rejections_and_alerts(worker):
    before = processed(worker, "calls", "telephony.call.completed")
    tag = uuid.uuid4().hex[:8]
    events, number, _ = blast_scenario(tag)
    send(worker, events)
    produce(worker.broker.bootstrap, [(worker.topic("calls"), b"\x00\x01", None)])
    worker.wait_for(lambda: alert_for(worker, "harassment.contact_blast", number), what="blast alert")
    assert processed(worker, "calls", "telephony.call.completed") >= before + 3
    worker.wait_for(
        lambda: (
            worker.metric("cm_events_rejected_total", reason="not_json", topic=worker.topic("calls")) >= 1
        ),
        what="rejections",
    )
    assert worker.metric("cm_alerts_total", rule_id="harassment.contact_blast", severity="high") >= 1
    assert worker.metric("cm_detector_seconds_count", family="harassment") >= 3
    assert worker.metric("cm_sink_rows_total", sink="clickhouse") >= 1
    text = worker.get("/metrics").decode()
    assert "cm_event_time_lag_seconds" in text and "cm_sink_flush_seconds_bucket" in text


def test_backtest_gives_the_same_alert_ids_as_the_worker(worker, tmp_path):
    tag = uuid.uuid4().hex[:8]
    events, number, debtor = blast_scenario(tag)
    number2 = unique_phone()
    staff_phone = events[0]["data"]["office_phone"]
    events += [call(number2, staff_phone, at(3 + i)) for i in range(6)]
    send(worker, events)
    subjects = {number, debtor, number2}
    expected_rules = {"harassment.contact_blast", "conduct.quiet_hours", "harassment.repeated_calls"}

    def worker_alerts():
        found = {a["alert_id"]: a for a in worker.alerts() if a["subject"]["id"] in subjects}
        final = {a["rule_id"] for a in found.values()} == expected_rules and all(
            len(a["event_ids"]) == 6 for a in found.values() if a["rule_id"] == "harassment.repeated_calls"
        )
        return found if final else None

    from_worker = worker.wait_for(worker_alerts, what="all three alerts")
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in events))
    report = run_backtest(path, load_policy(worker.data_dir / "policy.yaml"))
    assert set(report.alerts) == set(from_worker)
    for alert_id, alert in report.alerts.items():
        assert alert.event_ids == from_worker[alert_id]["event_ids"]


@pytest.mark.parametrize("disk", ["kept", "lost"])
def test_a_restarted_worker_keeps_its_window_state(broker, tmp_path, disk):
    """With its data directory kept (RocksDB) or lost (state recovered from the changelog)."""
    tag = uuid.uuid4().hex[:8]
    own = WorkerProcess(broker, tmp_path / "restart", app_id=f"cm-restart-{tag}", topic_prefix=f"r{tag}.")
    again = (
        own
        if disk == "kept"
        else WorkerProcess(broker, tmp_path / "fresh", app_id=f"cm-restart-{tag}", topic_prefix=f"r{tag}.")
    )
    staff = employee(f"E-r-{tag}", "+862160009999", unique_phone("138"))
    number = unique_phone()
    calls = [call(number, "+862160009999", at(i)) for i in range(5)]
    own.start()
    try:
        send(own, [staff, *calls[:4]])
        own.wait_for(
            lambda: own.metric("cm_detector_seconds_count", family="harassment") >= 4,
            what="four calls detected",
        )
        assert not own.alerts("harassment.repeated_calls")
    finally:
        own.stop()
    again.start()
    try:
        send(again, [calls[4]])
        alert = again.wait_for(
            lambda: alert_for(again, "harassment.repeated_calls", number), what="fifth call alert"
        )
        assert alert["employee_ids"] == [f"E-r-{tag}"]
        assert alert["event_ids"] == [f"{c['source']}/{c['id']}" for c in calls]
    finally:
        again.stop()


def test_the_state_of_an_idle_key_is_deleted_through_a_tombstone(broker, tmp_path):
    tag = uuid.uuid4().hex[:8]
    app_id = f"cm-expiry-{tag}"
    worker = WorkerProcess(
        broker,
        tmp_path / "expiry",
        app_id=app_id,
        topic_prefix=f"x{tag}.",
        env={"CM_STATE_SWEEP_INTERVAL": "1"},
    )
    idle, busy, last = phones_on_one_keyed_partition(3)
    worker.start()
    try:
        send(worker, [call(idle, "+862160000001", at(0))])
        worker.wait_for(
            lambda: worker.metric("cm_detector_seconds_count", family="harassment") >= 1,
            what="the first call detected",
        )
        send(worker, [call(busy, "+862160000001", at(24 * 10))])  # ten days later: the first key is idle
        worker.wait_for(
            lambda: worker.metric("cm_detector_seconds_count", family="harassment") >= 2,
            what="the second call detected",
        )
        time.sleep(1.5)  # a sweep follows the next batch
        send(worker, [call(last, "+862160000001", at(24 * 10 + 1))])
        worker.wait_for(lambda: worker.metric("cm_state_keys_expired_total") >= 1, what="an idle key deleted")
        changelog = consume_all(worker.broker.bootstrap, f"{app_id}-detector_state-changelog")
        tombstones = {orjson.loads(key) for key, value in changelog if value is None}
        assert f"harassment|{idle}" in tombstones
        assert f"harassment|{busy}" not in tombstones and f"harassment|{last}" not in tombstones
        assert worker.metric("cm_state_keys") >= 2
    finally:
        worker.stop()
