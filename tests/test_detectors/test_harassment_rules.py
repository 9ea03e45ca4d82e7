"""emergency_contact_targeted, collection_content, collection_email (+ actions), known_collector."""

from datetime import timedelta

from detectors import Engine
from events import Action, Rejection, parse_event_dict
from tests.factories import at, call, contact, employee, mail, mobile, office, sms
from tests.test_detectors.helpers import of_rule, policy, run

STRANGER = "+8615000000009"
STAFF = [employee(f"E{i}", office(i), mobile(i)) for i in range(1, 6)]
LISTS = [contact("E5", mobile(1), at(-48), relation="colleague"), contact("E5", mobile(2), at(-48))]
DEBT_SMS = "你同事的网贷已逾期，请转告尽快还款"


def test_two_listed_colleagues_reached_point_at_the_likely_debtor():
    events = [*STAFF, *LISTS, call(STRANGER, mobile(1), at(0)), sms(STRANGER, mobile(2), at(70), "你好")]
    [alert] = of_rule(run(events), "harassment.emergency_contact_targeted")
    assert alert.subject.kind == "employee" and alert.subject.id == "E5"
    assert alert.details["contacts_reached"] == ["E1", "E2"]
    assert alert.employee_ids == ["E1", "E2", "E5"] and alert.severity == "high"


def test_one_listed_colleague_is_not_enough_without_collection_content():
    quiet = [*STAFF, *LISTS, call(STRANGER, mobile(1), at(0)), call(STRANGER, office(3), at(1))]
    assert not of_rule(run(quiet), "harassment.emergency_contact_targeted")
    loud = [*STAFF, *LISTS, sms(STRANGER, mobile(1), at(0), DEBT_SMS)]
    [alert] = of_rule(run(loud), "harassment.emergency_contact_targeted")
    assert alert.subject.id == "E5" and "逾期" in alert.details["collection_terms"]


def test_window_and_removal_of_a_contact():
    late = [
        *STAFF,
        *LISTS,
        call(STRANGER, mobile(1), at(0)),
        call(STRANGER, mobile(2), at(72) + timedelta(seconds=1)),
    ]
    assert not of_rule(run(late), "harassment.emergency_contact_targeted")
    removed = [
        *STAFF,
        *LISTS,
        contact("E5", mobile(2), at(-1), action="removed"),
        call(STRANGER, mobile(1), at(0)),
        call(STRANGER, mobile(2), at(1)),
    ]
    assert not of_rule(run(removed), "harassment.emergency_contact_targeted")


def test_collection_content_needs_two_distinct_terms_from_the_outside_party():
    rule = "harassment.collection_content"
    assert of_rule(run([*STAFF, sms(STRANGER, mobile(3), at(0), "您的欠款已逾期，请结清")]), rule)
    assert not of_rule(run([*STAFF, sms(STRANGER, mobile(3), at(0), "本月账单已出")]), rule)
    assert not of_rule(run([*STAFF, sms("95588", mobile(3), at(0), "您的欠款已逾期")]), rule)  # allow-listed
    spoken_by_staff = call(
        STRANGER,
        office(3),
        at(0),
        transcript=[
            {"speaker": "caller", "text": "你好", "start_s": 0},
            {"speaker": "callee", "text": "我没有欠款也没逾期", "start_s": 2},
        ],
    )
    assert not of_rule(run([*STAFF, spoken_by_staff]), rule)
    said_by_caller = call(
        STRANGER,
        office(3),
        at(0),
        transcript=[{"speaker": "caller", "text": "你的同事欠款逾期了", "start_s": 0}],
    )
    [alert] = of_rule(run([*STAFF, said_by_caller]), rule)
    assert alert.details["sentences"] == ["你的同事欠款逾期了"]


def outputs(events, pol=None):
    engine, state, out = Engine(pol or policy()), {}, []
    for raw in events:
        event = parse_event_dict(raw)
        assert not isinstance(event, Rejection)
        out.extend(engine.run(event, state))
    return out


LETTER = ("催收函", "您的同事网贷逾期未还，请转告其尽快还款。")


def test_collection_email_blocks_the_sender_once():
    events = [*STAFF, mail("a@agency.example", at(0), *LETTER), mail("a@agency.example", at(1), *LETTER)]
    out = outputs(events)
    actions = [o for o in out if isinstance(o, Action)]
    assert [(a.kind, a.target) for a in actions] == [("block_sender", "a@agency.example")]
    alert = next(o for o in out if not isinstance(o, Action))
    assert actions[0].alert_id == alert.alert_id and alert.subject.kind == "mail_sender"
    assert actions[0].expires_at - actions[0].requested_at == timedelta(days=90)
    assert outputs(events)[1].action_id == actions[0].action_id  # deterministic


def test_three_senders_of_one_domain_in_a_week_block_the_domain_but_never_free_mail():
    agency = [mail(f"s{i}@agency.example", at(24 * 3 * i), *LETTER) for i in range(3)]
    kinds = [(o.kind, o.target) for o in outputs(agency) if isinstance(o, Action)]
    assert ("block_domain", "agency.example") in kinds
    spread = [mail(f"s{i}@agency.example", at(24 * 4 * i), *LETTER) for i in range(3)]
    assert ("block_domain", "agency.example") not in [
        (o.kind, o.target) for o in outputs(spread) if isinstance(o, Action)
    ]
    free = [mail(f"s{i}@qq.com", at(i), *LETTER) for i in range(4)]
    assert [o.kind for o in outputs(free) if isinstance(o, Action)] == ["block_sender"] * 4


def test_own_and_allow_listed_domains_are_never_blocked():
    pol = policy(company={"mail_domains": ["acme.example.cn"], "allow_mail_domains": ["icbc.com.cn"]})
    events = [
        mail("bill@icbc.com.cn", at(0), "信用卡账单", "本期账单还款金额3200元，最低还款320元，请按时还款"),
        mail("bill@mail.icbc.com.cn", at(1), *LETTER),
        mail("hr@acme.example.cn", at(2), *LETTER),
    ]
    assert outputs(events, pol) == []


def test_known_collector_by_number_and_by_mail_domain():
    pol = policy(
        company={"collector_numbers": ["0571-88886666"], "collector_mail_domains": ["collect.example"]}
    )
    events = [
        *STAFF,
        call("+8657188886666", office(1), at(0)),
        mail("x@collect.example", at(1), "hi", "hello"),
    ]
    alerts = of_rule(run(events, pol), "harassment.known_collector")
    assert sorted(a.subject.kind for a in alerts) == ["mail_sender", "phone"]
    assert not of_rule(run([*STAFF, call("+8657188886666", office(1), at(0))]), "harassment.known_collector")


def test_calls_with_a_collection_block_and_calls_to_the_switchboard_reach_no_employee():
    block = {"agent_id": "A1", "case_id": "K1", "debtor_id": "D1", "contact_role": "unknown"}
    tagged = [call(STRANGER, office(1), at(i / 10), collection=block) for i in range(6)]
    assert not of_rule(run(STAFF + tagged), "harassment.repeated_calls")  # an agency's own call
    two_and_the_board = [
        call(STRANGER, office(1), at(0)),
        call(STRANGER, office(2), at(1)),
        call(STRANGER, "+862160000000", at(2)),
    ]
    assert not of_rule(run(STAFF + two_and_the_board), "harassment.contact_blast")
    assert of_rule(
        run([*STAFF, *two_and_the_board, call(STRANGER, office(3), at(3))]), "harassment.contact_blast"
    )


def test_the_us_pack_switches_off_the_rules_without_a_us_basis():
    us = policy(jurisdiction="us")
    assert not us.enabled("conduct.third_party_contact_without_cause")
    assert not us.enabled("conduct.daily_attempt_cap")
    assert policy().enabled("conduct.third_party_contact_without_cause")
