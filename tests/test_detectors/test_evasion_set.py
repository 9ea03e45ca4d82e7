"""The labelled evasion set (tests/files/evasion.jsonl): recall per evasion kind and precision."""

from pathlib import Path

import orjson
import pytest

from detectors import load_policy
from streams.backtest import run_backtest
from streams.score import score, score_by_kind

FILES = Path(__file__).resolve().parents[1] / "files"
REPO = FILES.parents[1]


@pytest.fixture(scope="module")
def scored():
    path = FILES / "evasion.jsonl"
    report = run_backtest(path, load_policy(REPO / "infra" / "policy" / "demo.yaml"))
    events = [orjson.loads(line) for line in path.read_bytes().splitlines()]
    alerts = [a.model_dump(mode="json") for a in report.alerts.values()]
    return score(events, alerts), score_by_kind(events, alerts), events, alerts


def test_every_evasion_kind_is_found_at_recall_095_or_more(scored):
    by_kind = scored[1]
    assert set(by_kind) == {"plain", "normalised", "symbol", "homophone", "pinyin", "mixed"}
    for kind, result in by_kind.items():
        assert result.recall >= 0.95, (kind, result)


def test_precision_over_the_set_is_098_or_more(scored):
    by_rule = scored[0]
    alerts = sum(r.alerts for r in by_rule.values())
    true = sum(r.true_alerts for r in by_rule.values())
    assert alerts and true / alerts >= 0.98, (true, alerts)


def test_alerts_say_how_their_terms_matched(scored):
    _, _, events, alerts = scored
    kind_of = {f"{e['source']}/{e['id']}": e.get("cmevasion") for e in events}
    seen = set()
    for alert in alerts:
        kinds = {kind_of.get(uid) for uid in alert["event_ids"]}
        how = {h for found in alert["details"]["matched_as"].values() for h in found}
        if kinds == {"homophone"}:
            assert "homophone" in how, alert["details"]
        if kinds == {"pinyin"}:
            assert "pinyin" in how, alert["details"]
        seen |= how
    assert seen == {"exact", "normalised", "homophone", "pinyin"}
