"""``bench``'s backtest rates, on a small file and without a broker."""

from __future__ import annotations

from bench.backtest import run_backtest_bench
from streams.settings import Settings


def test_the_backtest_bench_reports_its_rates_on_a_file_of_at_least_the_minimum(tmp_path, monkeypatch):
    monkeypatch.delenv("CM_PSEUDONYM_KEY", raising=False)  # the bench makes a key for its run
    said: list[str] = []
    report = run_backtest_bench(Settings(), 500, tmp_path, said.append, jobs=2, minimum=3_000)
    assert report["backtest_events"] == 3_000 and report["backtest_jobs"] == 2
    rates = ("backtest_rate", "backtest_parallel_rate", "parse_floor_rate")
    assert set(report) == {"backtest_events", "backtest_jobs", *rates}
    assert all(isinstance(report[key], float) and report[key] > 0 for key in rates)
    assert report["parse_floor_rate"] > report["backtest_rate"]
    assert (tmp_path / "backtest.jsonl").read_bytes().count(b"\n") == 3_000
    assert any("2 jobs" in line for line in said)


def test_the_backtest_bench_takes_the_larger_of_the_events_and_the_minimum(tmp_path):
    report = run_backtest_bench(Settings(), 1_200, tmp_path, lambda text: None, jobs=1, minimum=1_000)
    assert report["backtest_events"] == 1_200 and report["backtest_jobs"] == 1
