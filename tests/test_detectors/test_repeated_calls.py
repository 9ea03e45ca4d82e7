from datetime import timedelta

from tests.factories import at, call, employee, mobile, office, sms
from tests.test_detectors.helpers import of_rule, run

RULE = "harassment.repeated_calls"
STRANGER = "+8615000000002"
DIRECTORY = [employee("E1", office(1), mobile(1)), employee("E2", office(2), mobile(2))]


def calls(n, target=None, step_h=1.0):
    target = target or office(1)
    return [call(STRANGER, target, at(i * step_h)) for i in range(n)]


def test_fires_at_five_calls_with_medium_severity():
    [alert] = of_rule(run(DIRECTORY + calls(5)), RULE)
    assert alert.severity == "medium" and alert.employee_ids == ["E1"]
    assert alert.details["target"] == {"kind": "employee", "id": "E1"}
    assert len(alert.event_ids) == 5


def test_silent_at_four():
    assert not of_rule(run(DIRECTORY + calls(4)), RULE)


def test_rises_to_high_at_ten_in_the_same_alert():
    [alert] = of_rule(run(DIRECTORY + calls(10)), RULE)
    assert alert.severity == "high" and len(alert.event_ids) == 10 and alert.revision == 6


def test_an_alert_keeps_the_newest_200_event_ids_by_event_time():
    many = [call(STRANGER, office(1), at(minutes=5 * i)) for i in range(230)]
    newest = [f"{c['source']}/{c['id']}" for c in many][-200:]
    [alert] = of_rule(run(DIRECTORY + many), RULE)
    assert alert.event_ids == newest
    shuffled = [c for pair in zip(many[1::2], many[::2], strict=True) for c in pair]  # each pair swapped
    [late] = of_rule(run(DIRECTORY + shuffled), RULE)
    assert late.event_ids == newest and late.alert_id == alert.alert_id


def test_office_and_mobile_of_one_employee_are_the_same_target():
    events = [*calls(3), sms(STRANGER, mobile(1), at(5)), call(STRANGER, mobile(1), at(6))]
    assert of_rule(run(DIRECTORY + events), RULE)


def test_the_switchboard_is_an_office_line_target():
    [alert] = of_rule(run(DIRECTORY + calls(5, target="021-60000000")), RULE)
    assert alert.details["target"] == {"kind": "line", "id": "+862160000000"}
    assert alert.employee_ids == []


def test_calls_spread_over_targets_do_not_add_up():
    events = calls(3, office(1)) + [call(STRANGER, office(2), at(10 + i)) for i in range(3)]
    assert not of_rule(run(DIRECTORY + events), RULE)


def test_window_edges():
    assert of_rule(run(DIRECTORY + calls(5, step_h=6.0)), RULE)  # 0h .. 24h
    spread = [*calls(4, step_h=6.0), call(STRANGER, office(1), at(24) + timedelta(seconds=1))]
    spread[0] = call(STRANGER, office(1), at(0) - timedelta(seconds=1))
    assert not of_rule(run(DIRECTORY + spread), RULE)


def test_duplicates_and_late_events():
    base = calls(4)
    duplicate = dict(base[0])
    assert not of_rule(run(DIRECTORY + base + [duplicate]), RULE)
    late_fifth = call(STRANGER, office(1), at(0.5))
    [alert] = of_rule(run(DIRECTORY + base[1:] + [late_fifth, base[0]]), RULE)
    assert len(alert.event_ids) == 5


def test_a_batch_replayed_against_the_state_before_it_raises_the_same_revisions():
    """What a worker killed before acknowledging a batch does when it reads the batch again."""
    import copy

    from detectors import Engine
    from events import Alert, parse_event_dict
    from tests.test_detectors.helpers import policy

    engine, state = Engine(policy()), {}
    before = [parse_event_dict(e) for e in DIRECTORY + calls(6)]
    batch = [parse_event_dict(e) for e in calls(10)[6:]]
    for event in before:
        engine.run(event, state)
    snapshot = copy.deepcopy(state)

    def revisions(bundles):
        out = [o for event in batch for o in engine.run(event, bundles) if isinstance(o, Alert)]
        return [(a.alert_id, a.revision, a.severity, a.event_ids) for a in out]

    first = revisions(state)
    assert first and first == revisions(copy.deepcopy(snapshot)) and first[-1][1] == 6
