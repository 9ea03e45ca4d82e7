"""What every process of the project exports besides its own counters: ``cm_build_info``
and the standard process metrics (worker, action deliverer and Postfix policy service all
serve ``sinks.metrics.REGISTRY``)."""

from __future__ import annotations

import platform
from importlib.metadata import version

from prometheus_client.parser import text_string_to_metric_families

from detectors import load_policy
from sinks import metrics
from streams.process import DEMO_POLICY
from streams.settings import Settings
from streams.worker import build_pipeline


def families() -> dict[str, list]:
    """Samples of the rendered ``/metrics`` page, by family name."""
    return {
        family.name: family.samples for family in text_string_to_metric_families(metrics.render().decode())
    }


def test_build_info_is_one_with_the_versions_that_run():
    expected = {
        "version": version("compliance-monitor"),
        "python": platform.python_version(),
        "faust": version("faust-streaming"),
    }
    assert metrics.build_labels() == expected

    (sample,) = families()["cm_build_info"]
    assert sample.labels == expected
    assert sample.value == 1


def test_process_metrics_are_exported():
    page = families()
    (resident,) = page["process_resident_memory_bytes"]
    (cpu,) = page["process_cpu_seconds"]
    assert resident.value > 10_000_000  # a Python process with Faust and chDB loaded
    assert cpu.name == "process_cpu_seconds_total"
    assert cpu.value > 0
    assert page["python_info"][0].labels["version"] == platform.python_version()


def test_consumer_lag_family_is_declared():
    assert "# TYPE cm_consumer_lag gauge" in metrics.render().decode()


def test_series_a_healthy_worker_never_touches_are_exported(tmp_path):
    # created at 0; other tests in this process may have counted since, so only presence is checked
    settings = Settings(role="detect", data_dir=tmp_path)
    build_pipeline(settings, load_policy(DEMO_POLICY))
    metrics.declare_worker_series(inputs=[], sinks=["clickhouse"], action_kinds=[])  # the store's (no chDB)
    page = families()

    def exported(family: str, **labels: str) -> bool:
        return any(s.labels == labels for s in page[family])

    for topic in settings.topics.inputs():
        assert exported("cm_events_consumed", topic=topic)
        assert exported("cm_deadletter_failures", topic=topic)
    assert exported("cm_actions", kind="block_sender") and exported("cm_actions", kind="block_domain")
    for family in (
        "cm_sink_flush_failures",
        "cm_sink_rows",
        "cm_sink_pending_rows",
        "cm_sink_failing_since_seconds",
    ):
        assert exported(family, sink="clickhouse"), family
