import tempfile
from datetime import time, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from detectors import PolicyError, load_policy, policy_from_mapping
from detectors.registry import CATALOGUE, DETECTORS

REPO = Path(__file__).resolve().parents[2]


def problems_of(data):
    with pytest.raises(PolicyError) as caught:
        policy_from_mapping(data, "p.yaml")
    return caught.value.problems


def test_defaults_are_the_cn_pack():
    policy = policy_from_mapping({})
    assert policy.timezone.key == "Asia/Shanghai"
    blast = policy.rules["harassment.contact_blast"]
    assert (blast.distinct_employees, blast.window, blast.severity) == (3, timedelta(hours=24), "high")
    assert policy.rules["conduct.quiet_hours"].start == time(22, 0)


def test_us_pack_moves_quiet_hours_to_21():
    policy = policy_from_mapping({"jurisdiction": "us", "timezone": "America/New_York"})
    assert policy.rules["conduct.quiet_hours"].start == time(21, 0)


def test_user_keys_override_pack_defaults_and_omitted_keys_keep_them():
    policy = policy_from_mapping({"rules": {"harassment.repeated_calls": {"min_calls": 3, "window": "12h"}}})
    rule = policy.rules["harassment.repeated_calls"]
    assert (rule.min_calls, rule.high_calls, rule.window) == (3, 10, timedelta(hours=12))


def test_every_problem_is_reported_at_once_with_its_key():
    problems = problems_of(
        {
            "timezone": "Mars/Olympus",
            "colour": "red",
            "company": {"mail_domain": ["x"]},
            "rules": {
                "harassment.contact_blast": {"distinct_employees": "many", "window": "a day"},
                "harassment.nope": {},
                "conduct.quiet_hours": {"severity": "urgent", "start_time": "22:00"},
            },
        }
    )
    text = "\n".join(problems)
    for key in (
        "colour: unknown key",
        "company.mail_domain: unknown key",
        "rules.harassment.contact_blast.distinct_employees",
        "rules.harassment.contact_blast.window",
        "rules.harassment.nope: unknown rule id",
        "rules.conduct.quiet_hours.severity",
        "rules.conduct.quiet_hours.start_time: unknown key",
    ):
        assert key in text, (key, text)


def test_bad_timezone_names_the_key():
    assert problems_of({"timezone": "Mars/Olympus"}) == [
        "timezone: unknown time zone 'Mars/Olympus', use an IANA name"
    ]


def test_threshold_bounds_are_checked():
    problems = problems_of({"rules": {"harassment.repeated_calls": {"min_calls": 8, "high_calls": 6}}})
    assert problems[0].startswith("rules.harassment.repeated_calls")
    assert "high_calls" in problems[0]


def test_every_catalogue_rule_has_a_detector_and_a_config():
    policy = policy_from_mapping({})
    assert set(policy.rules) == set(CATALOGUE) == set(DETECTORS)
    assert all(DETECTORS[rule][0].category == category for rule, category in CATALOGUE.items())


def test_policy_version_tracks_the_effective_content():
    a = policy_from_mapping({})
    b = policy_from_mapping({"rules": {"harassment.contact_blast": {"distinct_employees": 3}}})
    c = policy_from_mapping({"rules": {"harassment.contact_blast": {"distinct_employees": 4}}})
    assert a.policy_version == b.policy_version != c.policy_version


def test_load_policy_reports_unreadable_and_invalid_files(tmp_path):
    with pytest.raises(PolicyError, match="cannot read"):
        load_policy(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("rules: [unclosed", encoding="utf-8")
    with pytest.raises(PolicyError, match="not valid YAML"):
        load_policy(bad)


def test_switchboard_and_allow_numbers_are_normalised():
    policy = policy_from_mapping(
        {"company": {"switchboard_numbers": ["021-60000000"], "allow_numbers": ["95588"]}}
    )
    assert policy.switchboard == {"+862160000000"}
    assert policy.allow_numbers == {"95588"}


def test_the_demo_policy_loads():
    demo = load_policy(REPO / "infra" / "policy" / "demo.yaml")
    assert demo.enabled("harassment.contact_blast")
    # the simulator's clock runs ahead of the wall clock: the demo policy widens the skew
    assert demo.input.max_clock_skew >= timedelta(days=3650) > load_policy(None).input.max_clock_skew


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
TOP_KEYS = ["version", "timezone", "jurisdiction", "company", "privacy", "input", "rules"]
RULE_KEYS = ["enabled", "severity", "window", "min_calls", "distinct_employees", "start", "threshold"]
RULE_IDS = st.sampled_from(sorted(CATALOGUE)) | st.text(max_size=12)
COMPANY_KEYS = ["mail_domains", "switchboard_numbers", "allow_numbers", "collector_numbers"]
RULE_SETTINGS = st.dictionaries(st.sampled_from(RULE_KEYS) | st.text(max_size=8), JSON, max_size=3)
POLICY_DOCS = st.fixed_dictionaries(
    {},
    optional={
        **{key: JSON for key in TOP_KEYS},
        "rules": st.dictionaries(
            st.sampled_from(sorted(CATALOGUE)) | st.text(max_size=12), RULE_SETTINGS | JSON
        ),
        "company": st.dictionaries(
            st.sampled_from(["mail_domains", "switchboard_numbers", "allow_numbers", "collector_numbers"]),
            JSON,
        ),
        "input": st.dictionaries(st.sampled_from(["max_amount", "max_clock_skew"]), JSON),
    },
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(POLICY_DOCS | JSON)
def test_any_document_gives_a_policy_or_a_policy_error_naming_keys(document):
    try:
        policy_from_mapping(document, "p.yaml")
    except PolicyError as error:
        assert error.problems and all(":" in problem for problem in error.problems)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=200))
def test_any_file_text_gives_a_policy_or_a_policy_error(text):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "policy.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            load_policy(path)
        except PolicyError as error:
            assert error.problems


@pytest.mark.parametrize(
    ("section", "problem"),
    [({"max_amount": -1}, "input.max_amount"), ({"max_clock_skew": "soon"}, "input.max_clock_skew")],
)
def test_input_bounds_are_checked_by_key(section, problem):
    assert any(p.startswith(problem) for p in problems_of({"input": section}))


def test_company_values_the_detectors_read_are_checked_by_key():
    problems = problems_of(
        {
            "company": {
                "collector_numbers": ["not a number"],
                "mail_domains": ["acme"],
                "collector_mail_domains": ["bad domain.cn"],
                "currency": "usd",
            }
        }
    )
    keys = {problem.split(":")[0] for problem in problems}
    assert {
        "company.collector_numbers.0",
        "company.mail_domains",
        "company.collector_mail_domains",
        "company.currency",
    } <= keys, problems


def test_collector_numbers_are_normalised_and_the_currency_follows_the_jurisdiction():
    policy = policy_from_mapping({"company": {"collector_numbers": ["021-60009999"]}})
    assert policy.collector_numbers == {"+862160009999"} and policy.currency == "CNY"
    assert policy_from_mapping({"jurisdiction": "us"}).currency == "USD"
    assert policy_from_mapping({"company": {"currency": "HKD"}}).currency == "HKD"


def test_the_policy_model_loads_without_the_rules():
    """A rule module can be read on its own: the policy does not import the registry."""
    import subprocess
    import sys

    probe = (
        "import sys, detectors.policy\n"
        "loaded = [m for m in sys.modules if m.startswith('detectors.')]\n"
        "assert 'detectors.registry' not in loaded, loaded\n"
        "assert not [m for m in loaded if m.split('.')[1] in ('harassment', 'conduct', 'contacts')], loaded\n"
    )
    subprocess.run([sys.executable, "-c", probe], check=True, cwd=REPO)


def test_the_actions_section_is_checked_by_key():
    hook = {"name": "gw", "url": "https://mailgw.example.cn/hook", "secret_env": "CM_HOOK"}
    policy = policy_from_mapping({"actions": {"require_approval": True, "webhooks": [hook]}})
    assert policy.actions.require_approval and policy.actions.webhooks[0].format == "standard"
    assert policy.actions.webhooks[0].retry_for == timedelta(hours=1)
    problems = {
        "actions.webhooks.0.url: Field required": {"webhooks": [{"name": "gw", "secret_env": "CM_HOOK"}]},
        "actions.webhooks.0.format: Input should be 'standard' or 'alertmanager'": {
            "webhooks": [{**hook, "format": "slack"}]
        },
        "actions.webhooks.0.secret_env: String should match pattern": {
            "webhooks": [{**hook, "secret_env": "not a variable"}]
        },
        "actions.webhooks.0.url: URL scheme should be 'http' or 'https'": {
            "webhooks": [{**hook, "url": "ftp://x.example/hook"}]
        },
        "actions.webhooks.0.kinds.0: Input should be 'block_sender' or 'block_domain'": {
            "webhooks": [{**hook, "kinds": ["block_everyone"]}]
        },
        "actions.webhooks: Value error, webhook names must be unique": {"webhooks": [hook, hook]},
        "actions.reject_text: String should match pattern": {"reject_text": "5.7.1 line\nbreak"},
        "actions.unknown: unknown key": {"unknown": 1},
    }
    for expected, section in problems.items():
        with pytest.raises(PolicyError) as caught:
            policy_from_mapping({"actions": section})
        assert any(p.startswith(expected) for p in caught.value.problems), (expected, caught.value.problems)
