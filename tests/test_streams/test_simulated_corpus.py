"""The simulator's labelled cases, through a noisy file, must all be found and nothing else."""

from pathlib import Path

import orjson

from detectors import load_policy
from detectors.registry import CATALOGUE
from simulator import write_file
from streams.backtest import run_backtest
from streams.score import score

REPO = Path(__file__).resolve().parents[2]
STATISTICAL = {"expense.cohort_outlier"}  # its outliers depend on the simulated cohort, not on labels


def test_noisy_simulated_days_every_case_found_and_no_false_alarm(tmp_path):
    path = tmp_path / "events.jsonl"
    write_file(path, seed=99, days=6, noise=0.01)
    report = run_backtest(path, load_policy(REPO / "infra" / "policy" / "demo.yaml"))
    assert report.rejected["not_json"] > 0 and report.rejected["unknown_type"] > 0
    events = []
    for line in path.read_bytes().splitlines():
        try:
            events.append(orjson.loads(line))
        except orjson.JSONDecodeError:
            continue
    results = score(
        [e for e in events if isinstance(e, dict)],
        [a.model_dump(mode="json") for a in report.alerts.values()],
    )
    for rule in set(CATALOGUE) - STATISTICAL:
        assert results[rule].cases, rule
        assert results[rule].recall == 1.0, (rule, results[rule])
        assert results[rule].precision == 1.0, (rule, results[rule])


TEXT_RULES = (
    "harassment.collection_content",
    "harassment.collection_email",
    "conduct.prohibited_language",
    "conduct.third_party_disclosure",
    "conduct.missing_identification",
)


def test_text_rules_are_exact_on_the_seed_3_noisy_corpus(tmp_path):
    """Sound matching finds no more and no less in ordinary traffic: two weeks, seed 3."""
    path = tmp_path / "events.jsonl"
    write_file(path, seed=3, days=14, noise=0.01)
    report = run_backtest(path, load_policy(REPO / "infra" / "policy" / "demo.yaml"))
    events = [e for e in map(_json_or_none, path.read_bytes().splitlines()) if isinstance(e, dict)]
    results = score(events, [a.model_dump(mode="json") for a in report.alerts.values()])
    for rule in TEXT_RULES:
        assert results[rule].cases, rule
        assert (results[rule].recall, results[rule].precision) == (1.0, 1.0), (rule, results[rule])


def _json_or_none(line: bytes) -> object:
    try:
        return orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
