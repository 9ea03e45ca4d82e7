"""``bench``'s backtest rates: the detectors without Kafka, one job and one job per core, and
``orjson`` alone over the same lines; no broker needed.

Run on a simulated file of at least ``MIN_EVENTS`` events (seed 5, every event type), in
this order: the parse floor, one job, all cores.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from detectors import load_policy
from detectors.privacy import Pseudonymizer
from simulator import write_file
from streams.backtest import run_backtest
from streams.backtest_jobs import cores
from streams.settings import Settings

MIN_EVENTS = 100_000
SEED = 5


def parse_floor_rate(path: Path) -> float:
    """Lines per second of ``orjson.loads`` alone over ``path`` (read beforehand)."""
    lines = path.read_bytes().splitlines()
    started = time.perf_counter()
    for line in lines:
        orjson.loads(line)
    return len(lines) / (time.perf_counter() - started)


def backtest_rate(path: Path, settings: Settings, jobs: int) -> float:
    """Valid events per second of ``run_backtest`` over ``path`` (reading, parsing, detecting)."""
    policy = load_policy(settings.policy, settings.phone_region)
    hidden = settings.pseudonymizer() or Pseudonymizer(secrets.token_hex(32).encode())
    started = time.perf_counter()
    report = run_backtest(path, policy, pseudonymizer=hidden, jobs=jobs)
    return report.events / (time.perf_counter() - started)


def run_backtest_bench(
    settings: Settings,
    events: int,
    work: Path,
    say: Callable[[str], None],
    jobs: int | None = None,
    minimum: int = MIN_EVENTS,
) -> dict[str, Any]:
    """The backtest keys of the bench report, on a file of ``max(events, minimum)`` events."""
    work.mkdir(parents=True, exist_ok=True)
    path = work / "backtest.jsonl"
    jobs = jobs or cores()
    count = write_file(path, seed=SEED, limit=max(events, minimum))
    say(f"backtest over {count} simulated events: orjson floor")
    floor = parse_floor_rate(path)
    say(f"parse floor {floor:,.0f}/s; backtest, one job")
    one = backtest_rate(path, settings, 1)
    say(f"backtest {one:,.0f}/s; backtest, {jobs} jobs")
    parallel = backtest_rate(path, settings, jobs)
    say(f"backtest {parallel:,.0f}/s with {jobs} jobs")
    return {
        "backtest_events": count,
        "backtest_rate": round(one, 1),
        "backtest_parallel_rate": round(parallel, 1),
        "backtest_jobs": jobs,
        "parse_floor_rate": round(floor, 1),
    }
