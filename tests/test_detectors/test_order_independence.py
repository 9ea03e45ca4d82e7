"""Arrival order within the allowed lateness does not change the alerts, their ids or evidence."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from detectors import Engine, load_policy
from detectors.durations import suppression_period
from detectors.registry import DETECTORS
from detectors.windows import ALLOWED_LATENESS
from events import Alert, Event, parse_event_dict
from simulator import write_file
from streams.backtest import BacktestReport, read_events
from streams.process import DEMO_POLICY
from tests.factories import at, call, claim, contact, employee, mobile, office

READS_HR_RECORDS = frozenset(
    {
        "harassment.contact_blast",
        "harassment.repeated_calls",
        "harassment.emergency_contact_targeted",
        "harassment.collection_content",
        "harassment.known_collector",
        "contacts.colleague_as_emergency_contact",
        "contacts.office_number_as_contact",
        "expense.cohort_outlier",
    }
)
"""The rules whose result can depend on arrival order: they read HR records (the company
directory), which count from their arrival rather than their event time."""
SHANGHAI = ZoneInfo("Asia/Shanghai")
NEW_YORK = ZoneInfo("America/New_York")
POLICY = load_policy(DEMO_POLICY)


def final_alerts(events: list[Event]) -> dict[str, tuple]:
    """What the engine raises on ``events`` in the order given: id -> the compared fields."""
    engine, state, out = Engine(POLICY), {}, {}
    for event in events:
        for output in engine.run(event, state):
            if isinstance(output, Alert):
                out[output.alert_id] = output
    return {
        alert_id: (a.rule_id, a.severity, a.subject, a.employee_ids, a.event_ids)
        for alert_id, a in out.items()
    }


def late_order(events: list[Event], lateness: float, seed: int) -> list[Event]:
    """``events`` (in event-time order) delayed by up to ``lateness`` each, in arrival order:
    no event arrives more than ``lateness`` behind one that arrived before it."""
    rnd = random.Random(seed)
    return sorted(events, key=lambda e: e.timestamp + rnd.uniform(0, lateness))


@pytest.fixture(scope="module")
def simulated(tmp_path_factory) -> list[Event]:
    path: Path = tmp_path_factory.mktemp("sim") / "events.jsonl"
    write_file(path, seed=11, days=4)
    with path.open("rb") as handle:
        events = read_events(handle, POLICY.parse_context(), BacktestReport())
    return [event for _, _, event in sorted(events, key=lambda item: (item[0], item[1]))]


@pytest.mark.parametrize("seed", range(4))
def test_late_arrivals_raise_the_alerts_of_the_time_ordered_run(simulated, seed):
    expected = final_alerts(simulated)
    arrived = late_order(simulated, ALLOWED_LATENESS - 1, seed)
    assert arrived != simulated
    found = final_alerts(arrived)
    differ = {expected.get(a, found.get(a))[0] for a in set(expected) ^ set(found)}
    changed = {expected[a][0] for a in set(expected) & set(found) if expected[a] != found[a]}
    assert not differ and not changed, (differ, changed)


@given(
    ts=st.floats(min_value=946_684_800, max_value=4_102_444_800),
    width=st.sampled_from([60, 600, 3600, 5400, 86_400, 3 * 86_400, 30 * 86_400, 36 * 3600]),
    tz=st.sampled_from([SHANGHAI, NEW_YORK]),
)
def test_a_suppression_period_holds_its_time_and_is_the_same_for_every_time_in_it(ts, width, tz):
    start, end = suppression_period(ts, width, tz)
    assert start <= ts < end and end - start <= width + 3600  # a DST day may be an hour longer
    assert suppression_period(start, width, tz) == (start, end)
    assert suppression_period(end, width, tz)[0] == end


def test_day_periods_start_at_local_midnight_and_shorter_ones_divide_the_day():
    noon = datetime(2026, 7, 1, 12, 30, tzinfo=SHANGHAI).timestamp()
    start, end = suppression_period(noon, 86_400, SHANGHAI)
    assert datetime.fromtimestamp(start, SHANGHAI) == datetime(2026, 7, 1, tzinfo=SHANGHAI)
    assert end - start == 86_400
    start, end = suppression_period(noon, 5 * 3600, SHANGHAI)  # 00-05, 05-10, 10-15, 15-20, 20-24
    assert datetime.fromtimestamp(start, SHANGHAI).hour == 10 and end - start == 5 * 3600
    late = datetime(2026, 7, 1, 22, tzinfo=SHANGHAI).timestamp()
    start, end = suppression_period(late, 5 * 3600, SHANGHAI)
    assert end == datetime(2026, 7, 2, tzinfo=SHANGHAI).timestamp()
    thirty = suppression_period(noon, 30 * 86_400, SHANGHAI)
    assert datetime.fromtimestamp(thirty[0], SHANGHAI).time() == datetime.min.time()
    assert thirty[1] - thirty[0] == timedelta(days=30).total_seconds()


def test_periods_of_whole_days_are_counted_in_blocks_from_local_day_1():
    """0001-01-01 was a Monday, so weekly periods start on local Mondays; three-day ones on
    the days whose ordinal is 1 more than a multiple of 3."""
    for offset in range(10):
        day = date(2026, 7, 1) + timedelta(days=offset)
        noon = datetime(day.year, day.month, day.day, 12, tzinfo=SHANGHAI).timestamp()
        start, end = (
            datetime.fromtimestamp(t, SHANGHAI) for t in suppression_period(noon, 7 * 86_400, SHANGHAI)
        )
        assert (
            start.weekday() == 0 and start.time() == datetime.min.time() and end - start == timedelta(days=7)
        )
        assert start.date() <= day < end.date()
        start, end = (
            datetime.fromtimestamp(t, SHANGHAI) for t in suppression_period(noon, 3 * 86_400, SHANGHAI)
        )
        assert (start.date().toordinal() - 1) % 3 == 0 and start.date() <= day < end.date()


def test_the_rules_that_read_hr_records_are_the_declared_ones():
    marked = {rule for rule, classes in DETECTORS.items() if any(c.reads_hr_records for c in classes)}
    assert marked == READS_HR_RECORDS


def test_the_rules_that_depend_on_arrival_order_by_definition_say_so():
    marked = {rule for rule, classes in DETECTORS.items() if classes[0].arrival_order}
    assert marked == {"expense.cohort_outlier", "distress.risk_score"}  # the score: through its signals
    staff = [employee(f"R{i}", office(100 + i), mobile(100 + i)) for i in range(20)]
    usual = [claim(f"R{i}", f"{800 + 10 * i}", at(i)) for i in range(19)]
    big = claim("R19", "4000", at(30))
    context = POLICY.parse_context()
    early = [parse_event_dict(e, context) for e in (*staff, *usual[:5], big, *usual[5:])]
    late = [parse_event_dict(e, context) for e in (*staff, *usual, big)]
    # R19's claim arrives while five of the cohort have claimed, or once all nineteen have
    assert not [a for a in alerts_in_order(*early) if a.rule_id == "expense.cohort_outlier"]
    [alert] = [a for a in alerts_in_order(*late) if a.rule_id == "expense.cohort_outlier"]
    assert alert.details["arrival_order"].startswith("each claim is compared")


def alerts_in_order(*events: Event) -> list[Alert]:
    engine, state = Engine(POLICY), {}
    return [o for event in events for o in engine.run(event, state) if isinstance(o, Alert)]


def test_a_colleague_listed_as_a_contact_alerts_whichever_record_arrives_first():
    context = POLICY.parse_context()
    upsert = parse_event_dict(employee("E1", mobile=mobile(1), when=at()), context)
    listed = parse_event_dict(contact("E2", mobile(1), when=at(minutes=10)), context)
    [in_time] = alerts_in_order(upsert, listed)
    [hr_late] = alerts_in_order(listed, upsert)
    assert in_time.rule_id == "contacts.colleague_as_emergency_contact"
    assert (hr_late.alert_id, hr_late.event_ids, hr_late.employee_ids) == (
        in_time.alert_id,
        in_time.event_ids,
        ["E1", "E2"],
    )


def test_an_hr_record_counts_from_its_arrival_and_the_alert_says_so():
    context = POLICY.parse_context()
    upsert = parse_event_dict(employee("E1", mobile=mobile(1), when=at()), context)
    calls = [parse_event_dict(call(mobile(1), office(5), at(minutes=10 + i)), context) for i in range(5)]
    assert not alerts_in_order(upsert, *calls)  # an employee's own phone calling the office
    # the HR record ten minutes late: until it arrives, the number is an external one
    [alert] = alerts_in_order(*calls, upsert)
    assert alert.rule_id == "harassment.repeated_calls"
    assert alert.details["hr_records_as_of"] == "arrival"
