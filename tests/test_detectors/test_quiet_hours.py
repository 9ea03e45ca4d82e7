from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.factories import SHANGHAI, call, collection_call, sms
from tests.test_detectors.helpers import of_rule, policy, run

RULE = "conduct.quiet_hours"


def local(hour, minute=0, second=0, day=1, tz=SHANGHAI):
    return datetime(2026, 7, day, hour, minute, second, tzinfo=tz)


@pytest.mark.parametrize(
    "when, fires",
    [
        (local(22), True),
        (local(21, 59, 59), False),
        (local(7, 59, 59), True),
        (local(8), False),
        (local(3, 30), True),
        (local(12), False),
        (local(23, 59, 59), True),
        (local(0), True),
    ],
)
def test_quiet_window_is_22_to_08_local(when, fires):
    assert bool(of_rule(run([collection_call("D1", when)]), RULE)) is fires


def test_utc_event_time_is_judged_in_the_policy_timezone():
    utc = datetime(2026, 7, 1, 14, 30, tzinfo=ZoneInfo("UTC"))  # 22:30 in Shanghai
    [alert] = of_rule(run([collection_call("D1", utc)]), RULE)
    assert alert.details["local_time"].startswith("2026-07-01T22:30")
    new_york = policy(timezone="America/New_York")
    assert not of_rule(run([collection_call("D1", utc)], new_york), RULE)  # 10:30 in New York


def test_us_pack_starts_at_21():
    us = policy(jurisdiction="us")
    assert of_rule(run([collection_call("D1", local(21, 30))], us), RULE)
    assert not of_rule(run([collection_call("D1", local(21, 30))]), RULE)
    [alert] = of_rule(run([collection_call("D1", local(21, 30))], us), RULE)
    assert "1006.6" in alert.details["source"]


def test_one_alert_per_debtor_and_night():
    events = [
        collection_call("D1", local(22, 30)),
        collection_call("D1", local(1, 0, day=2), agent="A2"),
        collection_call("D1", local(23, 0, day=2)),
        collection_call("D2", local(23, 0)),
    ]
    alerts = of_rule(run(events), RULE)
    by_debtor = sorted((a.subject.id, len(a.event_ids)) for a in alerts)
    assert by_debtor == [("D1", 1), ("D1", 2), ("D2", 1)]
    assert all(a.subject.kind == "debtor" and a.severity == "high" for a in alerts)


def test_sms_counts_and_ordinary_calls_never_do():
    block = {"agent_id": "A1", "case_id": "K1", "debtor_id": "D1", "contact_role": "debtor"}
    collection_sms = sms("+862150000000", "+8613900000001", local(23), direction="outbound", collection=block)
    ordinary = call("+8613900000001", "+862160001001", local(23))
    alerts = run([collection_sms, ordinary])
    [alert] = of_rule(alerts, RULE)
    assert alert.details["channel"] == "sms"


def test_started_at_is_the_start_of_the_call():
    event = collection_call("D1", local(21, 50))
    event["time"] = (local(22, 10)).isoformat()  # logged when the call ended
    assert not of_rule(run([event]), RULE)


def test_duplicates_do_not_add_evidence():
    event = collection_call("D1", local(23))
    [alert] = of_rule(run([event, dict(event)]), RULE)
    assert alert.revision == 1 and len(alert.event_ids) == 1


def test_window_can_be_configured_without_wrapping_midnight():
    early = policy({RULE: {"start": "00:00", "end": "06:00"}})
    assert of_rule(run([collection_call("D1", local(5, 59))], early), RULE)
    assert not of_rule(run([collection_call("D1", local(23))], early), RULE)
    assert not of_rule(run([collection_call("D1", local(6) + timedelta(seconds=1))], early), RULE)
