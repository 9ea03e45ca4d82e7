import json
import re
from datetime import datetime, timedelta
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from streams.cli import app

FILES = Path(__file__).resolve().parents[1] / "files"
REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()
KEY = {"CM_PSEUDONYM_KEY": "test-key-0123456789abcdef"}


def backtest(tmp_path, events, *extra, env=KEY):
    out = tmp_path / "alerts.jsonl"
    result = runner.invoke(app, ["backtest", str(events), "--out", str(out), *extra], env=env)
    alerts = [orjson.loads(line) for line in out.read_bytes().splitlines()] if out.exists() else []
    return result, alerts


def test_scenario_file_finds_each_case_and_reports_rejections(tmp_path):
    policy = tmp_path / "p.yaml"
    policy.write_text("company: {switchboard_numbers: ['+862160000000']}\n", encoding="utf-8")
    result, alerts = backtest(tmp_path, FILES / "harassment_scenario.jsonl", "--policy", str(policy))
    assert result.exit_code == 0, result.output
    by_rule = {(a["rule_id"], a["subject"]["id"]): a for a in alerts}
    assert set(by_rule) == {
        ("harassment.contact_blast", "+8615011112222"),
        ("harassment.repeated_calls", "+8618677770000"),
        ("conduct.quiet_hours", "D9"),
    }
    blast = by_rule[("harassment.contact_blast", "+8615011112222")]
    assert blast["event_ids"] == ["pbx/t/c-1", "pbx/t/c-2", "smsgw/t/c-3"]
    assert blast["employee_ids"] == ["E1", "E2", "E3"]
    calls = by_rule[("harassment.repeated_calls", "+8618677770000")]
    assert calls["details"]["target"] == {"kind": "line", "id": "+862160000000"}
    assert len(calls["event_ids"]) == 5
    assert "3 rejected" in result.output
    for reason in ("missing_field: 1", "unknown_type: 1", "not_json: 1"):
        assert reason in result.output
    assert "harassment.contact_blast: 1" in result.output


def test_output_lines_are_alerts_in_the_contract_shape(tmp_path):
    _, alerts = backtest(tmp_path, FILES / "harassment_scenario.jsonl")
    keys = {
        "alert_id",
        "rule_id",
        "category",
        "severity",
        "status",
        "subject",
        "employee_ids",
        "first_event_time",
        "last_event_time",
        "detected_at",
        "event_ids",
        "summary",
        "details",
        "policy_version",
    }
    assert alerts and all(keys <= set(a) for a in alerts)


def test_the_summary_ends_with_the_state_keys(tmp_path):
    result, _ = backtest(tmp_path, FILES / "harassment_scenario.jsonl")
    assert result.exit_code == 0, result.output
    assert re.fullmatch(r"state keys: live \d+, expired \d+", result.output.strip().splitlines()[-1])


def test_same_file_same_alerts_but_for_detected_at(tmp_path):
    _, first = backtest(tmp_path, FILES / "harassment_scenario.jsonl")
    _, second = backtest(tmp_path, FILES / "harassment_scenario.jsonl")
    assert first and [a["alert_id"] for a in first] == [a["alert_id"] for a in second]
    assert [{**a, "detected_at": None} for a in first] == [{**a, "detected_at": None} for a in second]


def test_out_has_one_line_per_alert_its_final_revision_and_the_summary_goes_to_stderr(tmp_path):
    from tests.factories import at, call, employee, mobile, office

    events = tmp_path / "calls.jsonl"
    calls = [call("+8615000000002", office(1), at(i)) for i in range(12)]  # an alert of 8 revisions
    lines = [employee("E1", office(1), mobile(1)), *calls, call("+8615000000003", office(1), at(0))]
    events.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in lines))
    result, alerts = backtest(tmp_path, events)
    assert result.exit_code == 0, result.output
    [alert] = alerts
    assert alert["revision"] == 8 and len(alert["event_ids"]) == 12 and alert["severity"] == "high"
    assert result.stdout == ""  # the summary is on stderr, the alerts in --out
    assert "events read: 14 lines, 14 valid, 0 rejected" in result.stderr
    assert "alerts: 1," in result.stderr and "harassment.repeated_calls: 1" in result.stderr


def test_unreadable_file_exits_2(tmp_path):
    result, _ = backtest(tmp_path, tmp_path / "missing.jsonl")
    assert result.exit_code == 2
    assert "cannot read" in result.output


def test_bad_policy_exits_2_naming_the_key(tmp_path):
    policy = tmp_path / "p.yaml"
    policy.write_text("rules:\n  harassment.contact_blast: {distinct_employees: lots}\n", encoding="utf-8")
    result, _ = backtest(tmp_path, FILES / "harassment_scenario.jsonl", "--policy", str(policy))
    assert result.exit_code == 2
    assert "rules.harassment.contact_blast.distinct_employees" in result.output


def test_policy_check_lists_all_problems(tmp_path):
    policy = tmp_path / "p.yaml"
    policy.write_text("timezone: Nowhere/City\nrules:\n  bogus.rule: {}\n", encoding="utf-8")
    result = runner.invoke(app, ["policy", "check", str(policy)])
    assert result.exit_code == 2
    assert "timezone" in result.output and "bogus.rule" in result.output
    ok = runner.invoke(app, ["policy", "check", str(REPO / "infra" / "policy" / "demo.yaml")])
    assert ok.exit_code == 0 and "ok" in ok.output


def test_schemas_are_written_for_every_type(tmp_path):
    result = runner.invoke(app, ["schemas", "--out", str(tmp_path)])
    assert result.exit_code == 0
    names = sorted(p.name for p in tmp_path.glob("*.schema.json"))
    assert len(names) == 9 and "alert.schema.json" in names and "action.schema.json" in names
    call = json.loads((tmp_path / "telephony.call.completed.schema.json").read_text())
    assert "caller" in json.dumps(call) and call["$schema"].endswith("2020-12/schema")


@pytest.mark.parametrize(
    "command",
    [
        "backtest",
        "worker",
        "simulate",
        "demo",
        "schemas",
        "policy",
        "bench",
        "score",
        "rules",
        "console",
        "users",
        "actions list",
        "actions decide",
        "actions deliver",
        "postfix-policy",
        "bench postfix",
        "bench memory",
    ],
)
def test_every_subcommand_has_help(command):
    result = runner.invoke(app, [*command.split(), "--help"])
    assert result.exit_code == 0, result.output


NO_KEY_MESSAGE = ("CM_PSEUDONYM_KEY is not set", "privacy.distress")


def test_backtest_without_a_pseudonym_key_refuses_while_distress_runs(tmp_path, monkeypatch):
    monkeypatch.delenv("CM_PSEUDONYM_KEY", raising=False)
    result, alerts = backtest(tmp_path, FILES / "harassment_scenario.jsonl", env={})
    assert result.exit_code == 2 and not alerts
    assert all(part in result.output for part in NO_KEY_MESSAGE), result.output


def test_backtest_without_a_pseudonym_key_runs_with_distress_off(tmp_path, monkeypatch):
    monkeypatch.delenv("CM_PSEUDONYM_KEY", raising=False)
    policy = tmp_path / "p.yaml"
    policy.write_text("privacy: {distress: false}\n", encoding="utf-8")
    result, alerts = backtest(tmp_path, FILES / "harassment_scenario.jsonl", "--policy", str(policy), env={})
    assert result.exit_code == 0, result.output
    assert alerts


def test_worker_without_a_pseudonym_key_refuses_before_connecting(tmp_path, monkeypatch):
    monkeypatch.delenv("CM_PSEUDONYM_KEY", raising=False)
    # nothing listens on the broker port: the refusal must come before any connection
    args = ["worker", "--broker", "kafka://127.0.0.1:9", "--data-dir", str(tmp_path), "--web-port", "0"]
    result = runner.invoke(app, args, env={})
    assert result.exit_code == 2
    assert all(part in result.output for part in NO_KEY_MESSAGE), result.output
    assert not any(tmp_path.iterdir())  # no state directory, no store: nothing was started


def test_a_rule_that_raises_is_listed_with_its_line_and_the_run_goes_on(tmp_path, monkeypatch):
    from detectors.harassment.repeated_calls import RepeatedCalls
    from tests.test_detectors.helpers import break_rule_on_key

    break_rule_on_key(monkeypatch, RepeatedCalls, "+8618677770000")
    result, alerts = backtest(tmp_path, FILES / "harassment_scenario.jsonl")
    assert result.exit_code == 0, result.output
    rules = {(a["rule_id"], a["subject"]["id"]) for a in alerts}
    assert ("harassment.contact_blast", "+8615011112222") in rules
    assert not any(subject == "+8618677770000" for _, subject in rules)
    assert "detector errors:" in result.output
    failure = r"line \d+: rule harassment\.repeated_calls failed on \S+: ZeroDivisionError"
    assert re.search(failure, result.output), result.output


def test_an_unknown_phone_region_stops_start_up_naming_the_variable(tmp_path):
    result, _ = backtest(tmp_path, FILES / "harassment_scenario.jsonl", env={**KEY, "CM_PHONE_REGION": "XX"})
    assert result.exit_code == 2
    assert "CM_PHONE_REGION" in result.output and "XX" in result.output


def test_claims_in_another_currency_are_counted_in_the_summary(tmp_path):
    from tests.factories import at, claim

    events = tmp_path / "claims.jsonl"
    claims = [claim("E1", "120", at(i), currency="USD") for i in range(3)] + [claim("E1", "80", at(5))]
    events.write_bytes(b"".join(orjson.dumps(c) + b"\n" for c in claims))
    result, _ = backtest(tmp_path, events)
    assert result.exit_code == 0, result.output
    assert re.search(r"claims in other currencies than CNY.*: USD 3", result.output), result.output


def test_a_us_company_compares_claims_without_currency_with_its_thresholds(tmp_path):
    from tests.factories import at, claim

    events = tmp_path / "claims.jsonl"
    claims = [
        claim("E1", amount, at(i), merchant="x", currency=None) for i, amount in enumerate(["2800", "2600"])
    ]
    events.write_bytes(b"".join(orjson.dumps(c) + b"\n" for c in claims))
    policy = tmp_path / "us.yaml"
    policy.write_text("jurisdiction: us\n", encoding="utf-8")
    result, alerts = backtest(tmp_path, events, "--policy", str(policy))
    assert result.exit_code == 0, result.output
    assert "other currencies" not in result.output  # USD, the company's: nothing skipped
    assert [a["rule_id"] for a in alerts] == ["expense.split_claims"]


def test_a_short_pseudonym_key_and_a_bad_policy_stop_worker_and_rules_before_connecting(tmp_path):
    short = runner.invoke(app, ["worker", "--data-dir", str(tmp_path)], env={"CM_PSEUDONYM_KEY": "short"})
    assert short.exit_code == 2 and "CM_PSEUDONYM_KEY" in short.output, short.output
    policy = tmp_path / "p.yaml"
    policy.write_text("rules:\n  harassment.contact_blast: {window: soon}\n", encoding="utf-8")
    for command in (["worker", "--data-dir", str(tmp_path)], ["rules"]):
        result = runner.invoke(app, [*command, "--policy", str(policy)], env=KEY)
        assert result.exit_code == 2, (command, result.output)
        assert "rules.harassment.contact_blast.window" in result.output


def test_backtest_actions_are_the_action_book_s_final_states(tmp_path):
    """Letters of one sender on two days: two alerts, one action in force, extended by the second."""
    from tests.factories import at, mail

    letters = [
        mail("notice@agency.example", at(24 * day), "催收函", "您的同事欠款逾期未还，请转告其结清欠款。")
        for day in (0, 2)
    ]
    events = tmp_path / "events.jsonl"
    events.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in letters))
    actions = tmp_path / "actions.jsonl"
    result, alerts = backtest(tmp_path, events, "--actions", str(actions))
    assert result.exit_code == 0, result.output
    assert len([a for a in alerts if a["rule_id"] == "harassment.collection_email"]) == 2
    [action] = [orjson.loads(line) for line in actions.read_bytes().splitlines()]
    assert (action["kind"], action["target"], action["state"]) == (
        "block_sender",
        "notice@agency.example",
        "active",
    )
    assert action["alert_id"] == min(alerts, key=lambda a: a["first_event_time"])["alert_id"]
    requested = datetime.fromisoformat(action["requested_at"])
    assert requested == datetime.fromisoformat(letters[0]["time"])  # at event time, not the clock's
    assert datetime.fromisoformat(action["expires_at"]) == requested + timedelta(days=92)  # extended


def test_backtest_blocks_expire_and_open_again_over_a_long_file(tmp_path):
    from tests.factories import at, mail

    letters = [
        mail("notice@agency.example", at(24 * day), "催收函", "您的同事欠款逾期未还，请转告其结清欠款。")
        for day in (0, 100, 150)
    ]
    events = tmp_path / "events.jsonl"
    events.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in letters))
    actions = tmp_path / "actions.jsonl"
    result, alerts = backtest(tmp_path, events, "--actions", str(actions))
    assert result.exit_code == 0 and len(alerts) == 3, result.output
    found = [orjson.loads(line) for line in actions.read_bytes().splitlines()]
    assert [a["state"] for a in found] == ["expired", "active"]  # 90-day blocks: day 0's ended
    assert datetime.fromisoformat(found[1]["expires_at"]) == datetime.fromisoformat(
        letters[2]["time"]
    ) + timedelta(days=90)  # day 100's block, extended by day 150's letter


def test_backtest_expires_the_actions_past_their_end_at_the_file_s_last_event(tmp_path):
    """A block requested on day 0 lasts 90 days; the file's last event, on day 91, ends it."""
    from tests.factories import at, mail

    letter = mail("notice@agency.example", at(0), "催收函", "您的同事欠款逾期未还，请转告其结清欠款。")
    later = mail("colleague@partner.example", at(24 * 91), "周报", "本周工作总结见附件。")
    events = tmp_path / "events.jsonl"
    events.write_bytes(b"".join(orjson.dumps(e) + b"\n" for e in (letter, later)))
    actions = tmp_path / "actions.jsonl"
    result, alerts = backtest(tmp_path, events, "--actions", str(actions))
    assert result.exit_code == 0 and len(alerts) == 1, result.output
    [action] = [orjson.loads(line) for line in actions.read_bytes().splitlines()]
    assert action["state"] == "expired" and action["decided_by"] is None
    assert action["decided_at"] == action["expires_at"]
