import hashlib
import hmac
from datetime import datetime

import orjson

from detectors import Engine
from detectors.alerting import alert_id_for
from detectors.privacy import Pseudonymizer, PseudonymRecord
from events import Alert, Rejection, parse_event_dict
from tests.factories import SHANGHAI, at, call, claim, contact, employee, leave, mobile, office
from tests.test_detectors.helpers import COMPANY, of_rule, policy, run


def small_claims(n, amount=None, employee_id="E1", day="2026-07-05"):
    return [claim(employee_id, amount or f"{100 + i}.50", at(i), expense_date=day) for i in range(n)]


def test_small_claims_ten_do_not_fire_eleven_do():
    rule = "distress.frequent_small_claims"
    assert not of_rule(run(small_claims(10)), rule)
    [alert] = of_rule(run(small_claims(11)), rule)
    assert alert.category == "distress" and alert.details["small_claims"] == 11
    assert "100.50" not in alert.summary and "E1" not in alert.summary  # no amounts or ids in the summary


def test_a_500_claim_is_not_small_and_months_are_separate():
    rule = "distress.frequent_small_claims"
    assert not of_rule(
        run([*small_claims(10), claim("E1", "500.00", at(11), expense_date="2026-07-05")]), rule
    )
    split = small_claims(6, day="2026-07-31") + small_claims(5, day="2026-08-01")
    assert not of_rule(run(split), rule)
    assert not of_rule(
        run(small_claims(11, amount="100", employee_id="E1")[:6] + small_claims(5, employee_id="E2")), rule
    )


def test_resubmitted_claim_id_counts_once():
    events = small_claims(9) + [claim("E1", "99", at(20), expense_date="2026-07-05", claim_id="same")] * 2
    events[-1] = {**events[-1], "id": "another-envelope"}
    assert not of_rule(run(events), "distress.frequent_small_claims")


def test_leave_more_than_five_days_in_the_month_of_start_date():
    rule = "distress.frequent_leave"
    assert not of_rule(run([leave("E1", "2026-07-02", 2, at(0)), leave("E1", "2026-07-20", 3, at(1))]), rule)
    assert of_rule(run([leave("E1", "2026-07-02", 2, at(0)), leave("E1", "2026-07-20", 3.5, at(1))]), rule)
    across = [leave("E1", "2026-07-30", 3, at(0)), leave("E1", "2026-08-01", 3, at(1))]
    assert not of_rule(run(across), rule)
    updated = [
        leave("E1", "2026-07-02", 4, at(0), leave_id="L1"),
        leave("E1", "2026-07-02", 1, at(1), leave_id="L1"),
        leave("E1", "2026-07-10", 2, at(2)),
    ]
    assert not of_rule(run(updated), rule)


def test_split_claims_at_one_merchant_within_a_day():
    rule = "expense.split_claims"
    pair = [claim("E1", "2800", at(0), merchant="如家酒店"), claim("E1", "2600", at(1), merchant="如家酒店")]
    [alert] = of_rule(run(pair), rule)
    assert alert.details["total"] == "5400" and len(alert.event_ids) == 2
    assert not of_rule(run([pair[0], claim("E1", "2100", at(1), merchant="如家酒店")]), rule)
    assert not of_rule(run([pair[0], claim("E1", "2600", at(1), merchant="中国国航")]), rule)
    two_days = [pair[0], claim("E1", "2600", at(48), merchant="如家酒店", expense_date="2026-07-03")]
    assert not of_rule(run(two_days), rule)
    assert not of_rule(run([pair[0], claim("E1", "5200", at(1), merchant="如家酒店")]), rule)


def test_duplicate_claims_by_fingerprint_or_receipt():
    rule = "expense.duplicate_claim"
    same = [claim("E1", "356.00", at(0), merchant="京东"), claim("E1", "356.00", at(5), merchant="京东")]
    assert of_rule(run(same), rule)
    receipt = [
        claim("E1", "10", at(0), receipt="R9"),
        claim("E1", "20", at(1), merchant="京东", receipt="R9"),
    ]
    [alert] = of_rule(run(receipt), rule)
    assert "same receipt" in alert.summary
    other_day = [same[0], claim("E1", "356.00", at(30), merchant="京东", expense_date="2026-07-02")]
    assert not of_rule(run(other_day), rule)
    assert not of_rule(run([same[0], {**same[0], "id": "resent"}]), rule)  # same claim id resent


def test_near_limit_cluster_three_in_a_month():
    rule = "expense.near_limit_cluster"
    near = [claim("E1", f"{4500 + i * 100}", at(24 * i), merchant=f"m{i}") for i in range(3)]
    assert of_rule(run(near), rule)
    assert not of_rule(run(near[:2]), rule)
    assert not of_rule(run([*near[:2], claim("E1", "4499.99", at(100), merchant="x")]), rule)
    assert not of_rule(run([*near[:2], claim("E1", "5000", at(100), merchant="x")]), rule)


def cohort(n, role="sales"):
    return [employee(f"R{i}", office(100 + i), mobile(100 + i), role=role) for i in range(n)]


def test_cohort_outlier_moves_with_the_role_cohort():
    rule = "expense.cohort_outlier"
    staff = cohort(20)
    usual = [claim(f"R{i}", f"{800 + 10 * i}", at(i)) for i in range(19)]
    big = [claim("R19", "3000", at(30), merchant="a"), claim("R19", "1000", at(31), merchant="b")]
    [alert] = of_rule(run([*staff, *usual, *big]), rule)
    assert alert.subject.id == "R19" and alert.details["cohort_size"] == 20
    assert not of_rule(run([*staff[1:], *usual[1:], *big]), rule)  # 19 members: below min_cohort
    generous = [claim(f"R{i}", f"{3000 + 10 * i}", at(i)) for i in range(19)]
    assert not of_rule(run([*staff, *generous, *big]), rule)


def test_cohort_outlier_leaves_other_roles_out_of_the_cohort():
    rule = "expense.cohort_outlier"
    engineers = [employee(f"D{i}", office(200 + i), mobile(200 + i), role="engineering") for i in range(5)]
    their_claims = [claim(f"D{i}", "500", at(i)) for i in range(5)]
    usual = [claim(f"R{i}", f"{800 + 10 * i}", at(i)) for i in range(19)]
    big = [claim("R19", "3000", at(30), merchant="a"), claim("R19", "1000", at(31), merchant="b")]
    # 19 sales members with claims: below min_cohort (20), and the engineers do not make up the rest
    assert not of_rule(run([*cohort(20), *engineers, *their_claims, *usual[1:], *big]), rule)
    [alert] = of_rule(run([*cohort(20), *engineers, *their_claims, *usual, *big]), rule)
    assert alert.details["role"] == "sales" and alert.details["cohort_size"] == 20


def test_risk_score_needs_two_signals_of_different_rules():
    rule = "distress.risk_score"
    assert not of_rule(run(small_claims(11)), rule)
    both = [*small_claims(11), leave("E1", "2026-07-10", 6, at(30))]
    [alert] = of_rule(run(both), rule)
    assert alert.details["score"] == 2.0
    assert [s["rule_id"] for s in alert.details["signals"]] == [
        "distress.frequent_leave",
        "distress.frequent_small_claims",
    ]
    later = [*small_claims(11), leave("E1", "2026-11-10", 6, at(24 * 120))]
    assert not of_rule(run(later), rule)  # 120 days apart
    assert not of_rule(run(both, policy({rule: {"threshold": 3}})), rule)


def test_being_the_likely_debtor_of_targeted_contacts_is_a_signal():
    staff = [employee(f"E{i}", office(i), mobile(i)) for i in range(1, 4)]
    listed = [contact("E3", mobile(1), at(-50)), contact("E3", mobile(2), at(-50))]
    reached = [call("+8615000000077", mobile(1), at(0)), call("+8615000000077", mobile(2), at(1))]
    events = [*staff, *listed, *reached, *small_claims(11, employee_id="E3")]
    [alert] = of_rule(run(events), "distress.risk_score")
    assert {s["rule_id"] for s in alert.details["signals"]} == {
        "harassment.emergency_contact_targeted",
        "distress.frequent_small_claims",
    }


def test_the_privacy_switch_turns_the_distress_family_off():
    off = policy(privacy={"distress": False})
    events = [*small_claims(11), leave("E1", "2026-07-10", 6, at(30))]
    assert not [a for a in run(events, off).values() if a.category == "distress"]


def test_with_distress_off_leave_records_reach_no_rule_and_leave_no_state():
    """Only ``distress.frequent_leave`` reads leave records: with the family off they are not
    routed, so no keyed copy, dedup entry or state of theirs exists; claims still reach the
    expense rules (their own family and the role cohort)."""
    off = Engine(policy(privacy={"distress": False}))
    record = parse_event_dict(leave("E1", "2026-07-10", 6, at(30)))
    state: dict = {}
    assert off.route(record) == [] and off.run(record, state) == [] and state == {}
    expense = parse_event_dict(claim("E1", "120", at(31)))
    off.observe_reference(parse_event_dict(employee("E1", role="sales")))
    assert {item.family for item in off.route(expense)} == {"employee", "cohort"}
    assert [item.family for item in Engine(policy()).route(record)] == ["employee"]  # on: routed
    # with a key set, still no distress alert, pseudonym row or risk signal (privacy.md)
    keyed_off = Engine(policy(privacy={"distress": False}), pseudonymizer=Pseudonymizer(b"k" * 32))
    bundles: dict = {}
    out = [o for raw in small_claims(11) for o in keyed_off.run(parse_event_dict(raw), bundles)]
    out += keyed_off.run(record, bundles)
    assert all(isinstance(o, Alert) and o.category != "distress" for o in out)


def outputs(events, key=b"k" * 32):
    engine, state, out = Engine(policy(), pseudonymizer=Pseudonymizer(key)), {}, []
    for raw in events:
        event = parse_event_dict(raw)
        assert not isinstance(event, Rejection)
        out.extend(engine.run(event, state))
    return out


def test_distress_alerts_carry_pseudonyms_and_the_mapping_goes_apart():
    out = outputs([*small_claims(11), leave("E1", "2026-07-10", 6, datetime(2026, 7, 2, tzinfo=SHANGHAI))])
    alerts = [o for o in out if isinstance(o, Alert) and o.category == "distress"]
    assert alerts and all("E1" not in o.model_dump_json() for o in alerts)
    pseudonym = Pseudonymizer(b"k" * 32).pseudonym("E1")
    assert all(a.subject.id == pseudonym and a.employee_ids == [pseudonym] for a in alerts)
    assert PseudonymRecord(pseudonym, "E1") in out
    [claims] = [a for a in alerts if a.rule_id == "distress.frequent_small_claims"]
    july = datetime(2026, 7, 1, tzinfo=SHANGHAI).timestamp()  # the alert's calendar month
    assert claims.alert_id == alert_id_for(claims.rule_id, "employee", pseudonym, july)  # not from "E1"


def test_distress_details_hold_no_amount_and_no_id_and_the_score_no_alert_id():
    """privacy.md: distress ``details`` carry the month, counts and thresholds; the risk score
    names its rules and their weights, never the alert ids behind them (an expense alert's
    would lead back to the employee)."""
    hotel = "如家酒店"
    split = [claim("E1", "2800", at(40), merchant=hotel), claim("E1", "2600", at(41), merchant=hotel)]
    events = [*small_claims(11), leave("E1", "2026-07-10", 6, at(30)), *split]
    out = outputs(events)
    alerts = {o.alert_id: o for o in out if isinstance(o, Alert)}
    distress = [a for a in alerts.values() if a.category == "distress"]
    assert {a.rule_id for a in distress} == {
        "distress.frequent_small_claims",
        "distress.frequent_leave",
        "distress.risk_score",
    }
    [score] = [a for a in distress if a.rule_id == "distress.risk_score"]
    assert "expense.split_claims" in {s["rule_id"] for s in score.details["signals"]}
    assert all(set(s) == {"rule_id", "weight"} for s in score.details["signals"])
    amounts = {e["data"]["amount"] for e in events if "amount" in e["data"]}
    amounts.add(str(sum(float(a) for a in amounts if float(a) < 500)))  # the month's small sum
    ids = {*alerts, "E1", *(e["id"] for e in events), *(f"{e['source']}/{e['id']}" for e in events)}
    for alert in distress:
        text = orjson.dumps(alert.details).decode()
        assert not [word for word in amounts | ids if word in text], (alert.rule_id, text)


def test_pseudonyms_are_stable_for_a_key_and_differ_across_keys():
    a, b = Pseudonymizer(b"a" * 16), Pseudonymizer(b"b" * 16)
    assert a.pseudonym("E1") == a.pseudonym("E1") != b.pseudonym("E1")
    assert a.pseudonym("E1") != a.pseudonym("E2")


def test_pseudonyms_follow_the_recipe_in_privacy_md():
    """docs/privacy.md lets a key holder recompute both pseudonyms: keep the recipe as written."""
    key = b"k" * 32
    employee_digest = hmac.new(key, b"E1", hashlib.sha256).hexdigest()
    event_digest = hmac.new(key, b"event\x1f" + b"expense/C7", hashlib.sha256).hexdigest()
    assert Pseudonymizer(key).pseudonym("E1") == "p-" + employee_digest[:20]
    assert Pseudonymizer(key).event_pseudonym("expense/C7") == "ev-" + event_digest[:20]


def test_expense_alerts_are_not_pseudonymised():
    out = outputs([claim("E1", "2800", at(0), merchant="x"), claim("E1", "2600", at(1), merchant="x")])
    [alert] = [o for o in out if isinstance(o, Alert)]
    assert alert.subject.id == "E1"


def test_risk_score_combines_pseudonymised_and_clear_signals_of_one_employee():
    split = [claim("E1", "2800", at(40), merchant="x"), claim("E1", "2600", at(41), merchant="x")]
    out = outputs([*small_claims(11), *split])
    [risk] = [o for o in out if isinstance(o, Alert) and o.rule_id == "distress.risk_score"]
    assert risk.subject.id == Pseudonymizer(b"k" * 32).pseudonym("E1")


def test_cohort_outlier_counts_a_resubmitted_claim_once():
    rule = "expense.cohort_outlier"
    staff = cohort(20)
    usual = [claim(f"R{i}", f"{800 + 10 * i}", at(i)) for i in range(19)]
    once = claim("R19", "2500", at(30), claim_id="C-same")
    again = {**claim("R19", "2500", at(31), claim_id="C-same"), "id": "resubmitted"}
    assert not of_rule(run([*staff, *usual, once]), rule)  # 2,500: above the median x2, not p99
    assert not of_rule(run([*staff, *usual, once, again]), rule)  # still 2,500, not 5,000
    [alert] = of_rule(run([*staff, *usual, once, claim("R19", "2500", at(32))]), rule)  # a second claim
    assert alert.details["total"] == 5000


def test_claims_are_compared_in_the_company_currency():
    rule = "distress.frequent_small_claims"
    usd = [claim("E1", f"{20 + i}", at(i), expense_date="2026-07-05", currency="USD") for i in range(11)]
    assert not of_rule(run(usd), rule)  # a cn company: thresholds in CNY
    assert of_rule(run(usd, policy(jurisdiction="us")), rule)  # us: USD by default
    assert of_rule(run(usd, policy(company={**COMPANY, "currency": "USD"})), rule)
    rmb = [claim("E1", f"{100 + i}", at(i), expense_date="2026-07-05", currency="rmb") for i in range(11)]
    assert of_rule(run(rmb), rule)


def test_a_claim_without_currency_is_in_the_company_currency():
    rule = "distress.frequent_small_claims"
    unnamed = [claim("E1", f"{20 + i}", at(i), expense_date="2026-07-05", currency=None) for i in range(11)]
    for pol in (policy(jurisdiction="us"), policy(company={**COMPANY, "currency": "HKD"}), policy()):
        assert of_rule(run(unnamed, pol), rule), pol.currency  # compared with the thresholds
        assert Engine(pol).other_currency(parse_event_dict(unnamed[0], pol.parse_context())) is None
    split = [
        claim("E1", "2800", at(0), merchant="x", currency=None),
        claim("E1", "2600", at(1), merchant="x"),
    ]
    assert of_rule(run(split), "expense.split_claims")  # cn: no currency and CNY are one currency
