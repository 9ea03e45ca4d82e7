"""Write the dashboards as JSON: ``python -m infra.grafana [--out DIR]``.

The JSON in ``infra/grafana/dashboards`` is checked in and provisioned as is; a test fails
when it differs from what this writes, so edit the builders and run this again.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from infra.grafana import compliance_overview, pipeline_health
from infra.grafana.model import Json, render

DASHBOARDS_DIR = Path(__file__).resolve().parent / "dashboards"
BUILDERS: dict[str, Callable[[], Json]] = {
    "compliance-overview.json": compliance_overview.build,
    "pipeline-health.json": pipeline_health.build,
}


def generate() -> dict[str, str]:
    """File name -> JSON text of every dashboard."""
    return {name: render(build()) for name, build in BUILDERS.items()}


def write(out: Path = DASHBOARDS_DIR) -> list[Path]:
    """Write every dashboard into ``out``; return the paths written."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, text in generate().items():
        path = out / name
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written
