from datetime import datetime, timedelta

from tests.factories import SHANGHAI, agent_call, at, sms
from tests.test_detectors.helpers import of_rule, policy, run

HELLO = "您好，我是华信资产管理有限公司的催收专员，工号A100。"
US = policy(jurisdiction="us", timezone="America/New_York")


def local(hour, minute=0, d=1):
    return datetime(2026, 7, d, hour, minute, tzinfo=SHANGHAI)


def calls(n, *, answered=True, start=9, step_h=1.0, d=1, **kw):
    return [
        agent_call("D1", local(start, d=d) + timedelta(hours=i * step_h), [HELLO], answered=answered, **kw)
        for i in range(n)
    ]


def test_daily_conversation_cap_fires_at_the_fourth_answered_call_of_a_local_day():
    rule = "conduct.daily_conversation_cap"
    assert not of_rule(run(calls(3)), rule)
    [alert] = of_rule(run(calls(4)), rule)
    assert alert.subject.id == "D1" and len(alert.event_ids) == 4 and "GB/T 45251" in alert.details["source"]
    assert not of_rule(run([*calls(2, start=21), *calls(2, start=9, d=2)]), rule)  # two local days
    assert not of_rule(run([*calls(3), *calls(3, answered=False, start=15)]), rule)  # attempts do not count
    others = [agent_call("D1", local(9 + i), [HELLO], role="third_party") for i in range(4)]
    assert not of_rule(run(others), rule)


def test_us_pack_counts_seven_calls_in_seven_days_and_calls_after_a_conversation():
    rule = "conduct.daily_conversation_cap"
    unanswered = [agent_call("D1", at(24 * i), [], answered=False) for i in range(8)]
    assert of_rule(run(unanswered, US), rule)
    assert not of_rule(run(unanswered[:7], US), rule)
    after_talk = [agent_call("D1", at(0), [HELLO]), agent_call("D1", at(24 * 6), [], answered=False)]
    assert of_rule(run(after_talk, US), rule)
    assert not of_rule(run([after_talk[0], agent_call("D1", at(24 * 7 + 1), [], answered=False)], US), rule)
    assert of_rule(run(calls(2), US), rule)  # the second call comes within 7 days of a conversation


def test_daily_attempt_cap_more_than_six_unanswered_to_one_number():
    rule = "conduct.daily_attempt_cap"
    assert not of_rule(run(calls(6, answered=False)), rule)
    [alert] = of_rule(run(calls(7, answered=False)), rule)
    assert alert.subject.kind == "phone" and alert.details["attempts"] == 7
    two_numbers = calls(4, answered=False) + calls(3, answered=False, start=15, callee="+8613900000002")
    assert not of_rule(run(two_numbers), rule)
    assert not of_rule(run(calls(7, answered=False), US), rule)  # not a us rule


def test_call_bombing_three_calls_in_ten_minutes():
    rule = "conduct.call_bombing"
    assert of_rule(run(calls(3, answered=False, step_h=4 / 60)), rule)
    assert not of_rule(run(calls(3, answered=False, step_h=5.1 / 60)), rule)
    assert not of_rule(run(calls(2, answered=False, step_h=1 / 60)), rule)


def test_third_party_disclosure_terms_or_amounts_but_not_a_call_back_request():
    rule = "conduct.third_party_disclosure"
    told = agent_call(
        "D1",
        local(10),
        [HELLO.replace("催收专员", "工作人员"), "他欠我们五千块，请转告他"],
        role="emergency_contact",
    )
    [alert] = of_rule(run([told]), rule)
    assert alert.severity == "critical" and alert.details["amounts"]
    terms = agent_call("D1", local(10), ["请转告他尽快还款"], role="third_party")
    assert of_rule(run([terms]), rule)
    lawful = agent_call(
        "D1",
        local(10),
        ["您好，我姓王，工号A100，麻烦请他回个电话，谢谢。"],
        role="third_party",
        customer_lines=["他是不是欠钱了？逾期了？"],
    )
    assert not of_rule(run([lawful]), rule)
    to_debtor = agent_call("D1", local(10), ["请尽快还款，欠款5000元"])
    assert not of_rule(run([to_debtor]), rule)


def test_third_party_contact_while_the_debtor_was_reachable():
    rule = "conduct.third_party_contact_without_cause"
    debtor = agent_call("D1", at(0), [HELLO])
    third = agent_call("D1", at(48), ["麻烦请他回个电话"], role="third_party", callee="+8613900000009")
    [alert] = of_rule(run([debtor, third]), rule)
    assert len(alert.event_ids) == 2
    assert of_rule(run([third, debtor]), rule)  # the debtor call arrives late
    later = agent_call("D1", at(73), ["麻烦请他回个电话"], role="third_party", callee="+8613900000009")
    assert not of_rule(run([debtor, later]), rule)
    unanswered = agent_call("D1", at(0), [], answered=False)
    assert not of_rule(run([unanswered, third]), rule)


def test_prohibited_language_in_agent_turns_only_with_severity_by_category():
    rule = "conduct.prohibited_language"
    [threat] = of_rule(run([agent_call("D1", local(10), [HELLO, "再不还钱让你坐 牢"])]), rule)
    assert threat.severity == "critical" and threat.details["categories"] == ["threat"]
    [insult] = of_rule(run([agent_call("D1", local(10), [HELLO, "你这个老賴"])]), rule)
    assert insult.severity == "high"
    customer = agent_call("D1", local(10), [HELLO], customer_lines=["你们是骗子，我要报警找公安"])
    assert not of_rule(run([customer]), rule)
    assert not of_rule(run([agent_call("D1", local(10), [HELLO, "我们将依法向法院起诉。"])]), rule)


def test_prohibited_language_in_a_collection_sms_impersonation_critical_exposure_high():
    """docs/rules.md: agent turns or a collection SMS; ``severity`` for threats and
    impersonation, ``lesser_severity`` for insults and exposure."""
    rule = "conduct.prohibited_language"
    block = {"agent_id": "A1", "case_id": "K-D1", "debtor_id": "D1", "contact_role": "debtor"}

    def agent_sms(text):
        return sms(
            "+8610690000001", "+8613900000001", local(10), text, direction="outbound", collection=block
        )

    [police] = of_rule(run([agent_sms("我是派出所的民警，你的案子已经立案")]), rule)
    assert police.severity == "critical" and police.details["categories"] == ["impersonation"]
    [exposure] = of_rule(run([agent_call("D1", local(10), [HELLO, "再不还就爆通讯录"])]), rule)
    assert exposure.severity == "high" and exposure.details["categories"] == ["exposure"]
    assert not of_rule(run([sms("+8610690000001", "+8613900000001", local(10), "再不还就爆通讯录")]), rule)


def test_missing_identification_in_the_first_three_agent_turns():
    rule = "conduct.missing_identification"
    assert of_rule(run([agent_call("D1", local(10), ["喂", "还钱", "听到没", HELLO])]), rule)
    assert not of_rule(run([agent_call("D1", local(10), ["喂", "你好", HELLO])]), rule)
    by_org = policy(company={"org_names": ["华信资产管理有限公司"]})
    assert not of_rule(run([agent_call("D1", local(10), ["我是華信資產管理有限公司的"])], by_org), rule)
    assert not of_rule(run([agent_call("D1", local(10), ["喂"], answered=False)]), rule)
    miranda = "This is an attempt to collect a debt by a debt collector."
    assert of_rule(run([agent_call("D1", at(0), [HELLO])], US), rule)
    assert not of_rule(run([agent_call("D1", at(0), [miranda])], US), rule)


def test_related_third_parties_are_not_covered_by_the_disclosure_rule():
    told = agent_call("D1", local(10), ["他欠我们五千块，请转告他"], role="related_third_party")
    assert not of_rule(run([told]), "conduct.third_party_disclosure")


def test_quiet_hours_judge_the_envelope_time_without_started_at_and_name_agent_and_number():
    from tests.factories import collection_call

    night = collection_call("D1", local(23), agent="A7", callee="+8613900000042")
    del night["data"]["started_at"]
    [alert] = of_rule(run([night]), "conduct.quiet_hours")
    assert alert.details["agent_id"] == "A7" and alert.details["number"] == "+8613900000042"


def test_call_bombing_keeps_one_alert_per_number_and_local_day():
    rule = "conduct.call_bombing"
    bursts = [local(9, m) for m in (0, 3, 6)] + [local(15, m) for m in (0, 3, 6)]
    calls = [agent_call("D1", when, ["喂"], answered=False) for when in bursts]
    [alert] = of_rule(run(calls), rule)  # two bursts on one day: one alert
    assert len(alert.event_ids) == 6
    next_day = [agent_call("D1", local(9, m, d=2), ["喂"], answered=False) for m in (0, 3, 6)]
    assert len(of_rule(run(calls + next_day), rule)) == 2
