"""What every process of the project exports besides its own counters: ``cm_build_info``
and the standard process metrics (worker, action deliverer and Postfix policy service all
serve ``sinks.metrics.REGISTRY``)."""

from __future__ import annotations

import platform
from importlib.metadata import version

from prometheus_client.parser import text_string_to_metric_families

from sinks import metrics


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
