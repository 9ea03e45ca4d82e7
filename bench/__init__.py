"""``compliance-monitor bench``: the pipeline's throughput and latency, measured against a bare
consumer and a no-op Faust agent in the same run (``docs/performance.md``). Not the runtime."""

from __future__ import annotations

from bench.load import run_load_bench
from bench.pipeline import run_bench

__all__ = ["run_bench", "run_load_bench"]
