from datetime import timedelta

from events import parse_event_dict
from tests.factories import at, call, employee, mobile, office, sms
from tests.test_detectors.helpers import of_rule, policy, run

RULE = "harassment.contact_blast"
STRANGER = "+8615000000001"
DIRECTORY = [employee(f"E{i}", office(i), mobile(i)) for i in range(1, 7)]


def blast(offsets_h, employees=(1, 2, 3, 4, 5, 6), number=STRANGER):
    return [call(number, office(e), at(h)) for h, e in zip(offsets_h, employees, strict=False)]


def test_fires_at_three_employees():
    events = blast([0, 1, 2])
    [alert] = of_rule(run(DIRECTORY + events), RULE)
    assert alert.subject.kind == "phone" and alert.subject.id == STRANGER
    assert alert.employee_ids == ["E1", "E2", "E3"]
    assert alert.event_ids == [f"{e['source']}/{e['id']}" for e in events]
    assert alert.severity == "high" and alert.category == "harassment"
    assert alert.details["distinct_employees"] == 3 and alert.details["threshold"] == 3


def test_silent_one_below_the_threshold():
    assert not of_rule(run(DIRECTORY + blast([0, 1])), RULE)


def test_the_same_employee_twice_is_one_employee():
    events = [
        call(STRANGER, office(1), at(0)),
        call(STRANGER, mobile(1), at(1)),
        call(STRANGER, office(2), at(2)),
    ]
    assert not of_rule(run(DIRECTORY + events), RULE)


def test_window_edges_are_inclusive_at_24h():
    assert of_rule(run(DIRECTORY + blast([0, 12, 24])), RULE)
    late = [
        call(STRANGER, office(1), at(0)),
        call(STRANGER, office(2), at(12)),
        call(STRANGER, office(3), at(24) + timedelta(seconds=1)),
    ]
    assert not of_rule(run(DIRECTORY + late), RULE)


def test_calls_and_sms_count_together_and_mobiles_resolve_through_the_directory():
    events = [
        call(STRANGER, office(1), at(0)),
        sms(STRANGER, mobile(2), at(1)),
        sms(STRANGER, mobile(3), at(2)),
    ]
    [alert] = of_rule(run(DIRECTORY + events), RULE)
    assert alert.employee_ids == ["E1", "E2", "E3"]


def test_employee_id_from_the_pbx_is_used_when_the_line_is_unknown():
    events = [call(STRANGER, f"+86216999{i:04d}", at(i), callee_employee_id=f"E{i}") for i in (1, 2, 3)]
    assert of_rule(run(DIRECTORY + events), RULE)


def test_only_inbound_from_external_numbers_counts():
    outbound = [call(office(9), STRANGER, at(0), direction="outbound")]
    from_employee = [call(mobile(6), office(e), at(e)) for e in (1, 2, 3)]
    from_switchboard = [call("+862160000000", office(e), at(e), direction="internal") for e in (1, 2, 3)]
    allowed = [sms("95588", mobile(e), at(e)) for e in (1, 2, 3)]
    outbound_sms = [sms(mobile(e), STRANGER, at(e), direction="outbound") for e in (1, 2, 3)]
    alerts = run(DIRECTORY + outbound + from_employee + from_switchboard + allowed + outbound_sms)
    assert not of_rule(alerts, RULE)


def test_timezone_and_out_of_order_arrival_do_not_matter():
    events = blast([0, 1, 2])
    [alert] = of_rule(run([*DIRECTORY, events[2], events[0], events[1]]), RULE)
    assert alert.employee_ids == ["E1", "E2", "E3"]
    assert alert.first_event_time == at(0)


def test_duplicates_never_count_twice():
    first = call(STRANGER, office(1), at(0), event_id="dup-1")
    again = dict(first)
    events = [first, again, again, call(STRANGER, office(2), at(1))]
    assert not of_rule(run(DIRECTORY + events), RULE)


def test_later_evidence_updates_the_same_alert():
    alerts = run(DIRECTORY + blast([0, 1, 2, 3, 4]))
    [alert] = of_rule(alerts, RULE)
    assert alert.revision == 3
    assert len(alert.event_ids) == 5 and alert.employee_ids == ["E1", "E2", "E3", "E4", "E5"]
    assert alert.details["distinct_employees"] == 5  # details are those of the latest finding


def test_a_new_episode_after_the_suppression_window_is_a_new_alert():
    alerts = run(DIRECTORY + blast([0, 1, 2]) + blast([60, 61, 62]))
    assert len(of_rule(alerts, RULE)) == 2


def test_alert_ids_are_deterministic():
    events = DIRECTORY + blast([0, 1, 2, 3])
    assert set(run(events)) == set(run(events))


def test_thresholds_come_from_the_policy():
    strict = policy({RULE: {"distinct_employees": 4, "window": "1h"}})
    assert not of_rule(run(DIRECTORY + blast([0, 0.5, 0.9]), strict), RULE)
    assert of_rule(run(DIRECTORY + blast([0, 0.3, 0.6, 0.9]), strict), RULE)
    assert not of_rule(run(DIRECTORY + blast([0, 0.3, 0.6, 1.1]), strict), RULE)


def test_disabled_rule_is_silent():
    assert not of_rule(run(DIRECTORY + blast([0, 1, 2]), policy({RULE: {"enabled": False}})), RULE)


def test_left_employees_are_not_employees_any_more():
    events = [*DIRECTORY, employee("E3", office(3), mobile(3), status="left"), *blast([0, 1, 2])]
    assert not of_rule(run(events), RULE)


def test_an_event_id_is_remembered_for_the_longest_window_plus_a_day():
    """A repeat within the family's longest window plus a day is dropped even after many newer
    events of the key (the memory is pruned every 64 new ids); it is not kept forever."""
    from detectors import Engine

    engine, state = Engine(pol := policy()), {}
    first = call(STRANGER, office(1), at(0), event_id="dup-far")
    noise = [call(STRANGER, office(1), at(1 + i / 100), event_id=f"n-{i}") for i in range(130)]
    horizon_h = (max(d.suppression for d in engine.detectors["harassment"]).total_seconds() + 86_400) / 3600
    later = call(STRANGER, office(1), at(horizon_h - 1), event_id="late-1")
    for raw in [first, *noise, later]:
        engine.run(parse_event_dict(raw, pol.parse_context()), state)
    bundle = state[f"harassment|{STRANGER}"]
    assert "pbx/test/dup-far" in bundle["seen"]  # still remembered near the horizon
    much_later = [
        call(STRANGER, office(1), at(horizon_h + 3 + i / 100), event_id=f"m-{i}") for i in range(70)
    ]
    for raw in much_later:
        engine.run(parse_event_dict(raw, pol.parse_context()), state)
    assert "pbx/test/dup-far" not in state[f"harassment|{STRANGER}"]["seen"]  # then forgotten
