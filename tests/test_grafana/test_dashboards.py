"""The dashboards as code: the checked-in JSON is what the builders write, and is well formed."""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from infra.grafana.build import BUILDERS, generate
from infra.grafana.model import SCHEMA_VERSION
from tests.fixtures.grafana_promql import dashboard_expressions

REPO = Path(__file__).resolve().parents[2]
GRAFANA = REPO / "infra" / "grafana"
UIDS = {"compliance-overview.json": "cm-compliance-overview", "pipeline-health.json": "cm-pipeline-health"}


def checked_in() -> dict[str, dict]:
    return {
        p.name: json.loads(p.read_text(encoding="utf-8")) for p in (GRAFANA / "dashboards").glob("*.json")
    }


def test_the_checked_in_json_is_what_python_m_infra_grafana_writes():
    files = {p.name: p.read_text(encoding="utf-8") for p in (GRAFANA / "dashboards").glob("*.json")}
    assert files == generate(), "run `python -m infra.grafana` and commit the JSON"


@pytest.mark.parametrize("name", sorted(BUILDERS))
def test_uids_schema_ids_and_grid_positions(name):
    document = checked_in()[name]
    assert document["uid"] == UIDS[name] and document["schemaVersion"] == SCHEMA_VERSION
    panels = document["panels"]
    assert [p["id"] for p in panels] == list(range(1, len(panels) + 1))
    cells: set[tuple[int, int]] = set()
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        mine = {
            (x, y)
            for x in range(grid["x"], grid["x"] + grid["w"])
            for y in range(grid["y"], grid["y"] + grid["h"])
        }
        assert not cells & mine, f"{panel['title']} overlaps another panel"
        cells |= mine
    assert len({p["title"] for p in panels}) == len(panels)


def test_every_target_names_a_provisioned_data_source_uid():
    provisioned = yaml.safe_load((GRAFANA / "provisioning" / "datasources" / "datasources.yaml").read_text())
    sources = {(d["type"], d["uid"]) for d in provisioned["datasources"]}
    assert sources == {("grafana-clickhouse-datasource", "clickhouse"), ("prometheus", "prometheus")}
    for document in checked_in().values():
        for panel in document["panels"]:
            for target in panel.get("targets", []):
                assert (target["datasource"]["type"], target["datasource"]["uid"]) in sources


def test_the_dashboard_provider_points_at_the_dashboards_folder():
    provider = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "dashboards.yaml").read_text())
    [entry] = provider["providers"]
    assert entry["type"] == "file" and entry["options"]["path"].startswith("/var/lib/grafana/dashboards")


def test_promql_expressions_come_out_with_the_variables_substituted():
    expressions = dashboard_expressions()
    titles = {title for title, _ in expressions}
    assert len(titles) == sum(1 for p in checked_in()["pipeline-health.json"]["panels"] if p["type"] != "row")
    for title, expr in expressions:
        assert "$" not in expr, (title, expr)
        assert expr.count("(") == expr.count(")") and expr.count("{") == expr.count("}"), (title, expr)
    exprs = dict(expressions)
    assert exprs["Events processed per second by type"] == "cm:events_processed:rate5m"
    assert exprs["Consumer lag per topic"] == "cm:consumer_lag:sum"
    assert 'job="compliance-monitor", instance=~".*"' in exprs["Resident memory"]
    assert "[1m]" in exprs["CPU"]
    assert 'job="compliance-monitor-deliver"' in exprs["Webhook deliveries by outcome"]


def test_every_promql_expression_parses(tmp_path):
    """promtool checks each expression as a recording rule (syntax only, no Prometheus needed)."""
    promtool = shutil.which("promtool")
    if promtool is None:
        missing = "promtool is missing (Debian: apt-get install prometheus)"
        if os.environ.get("CM_TEST_ALL"):
            pytest.fail(missing)
        pytest.skip(missing)
    rules = [
        {"record": f"check:panel_{i}", "expr": expr} for i, (_, expr) in enumerate(dashboard_expressions())
    ]
    path = tmp_path / "panels.yml"
    path.write_text(yaml.safe_dump({"groups": [{"name": "panels", "rules": rules}]}), encoding="utf-8")
    checked = subprocess.run(
        [promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
