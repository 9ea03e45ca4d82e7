"""``compliance-monitor bench``: the pipeline's throughput and latency, measured against a bare
consumer and a no-op Faust agent in the same run (``docs/performance.md``). Not the runtime."""

from __future__ import annotations

from bench.pipeline import run_bench

__all__ = ["run_bench"]
