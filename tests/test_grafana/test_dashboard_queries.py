"""Every ClickHouse query of the Compliance overview, expanded as Grafana and the plugin expand it,
runs on a store filled by ``backtest --clickhouse`` (chDB) and returns rows its panel can show."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from sinks.clickhouse import ClickHouseSink
from streams.console.triage import Triage, TriageRequest, apply
from tests.fixtures.grafana_macros import ALL, QueryRange, Variable, interpolate
from tests.fixtures.preview_store import fill_preview_store

REPO = Path(__file__).resolve().parents[2]
DASHBOARD = REPO / "infra" / "grafana" / "dashboards" / "compliance-overview.json"
PERSONAL_COLUMNS = (
    "subject_id",
    "subject_kind",
    "employee_ids",
    "employee_pseudonyms",
    "summary",
    "event_ids",
)
NUMERIC = ("UInt", "Int", "Float", "Decimal")


@dataclass(frozen=True)
class Ran:
    """One query as ClickHouse answered it."""

    title: str
    sql: str
    names: list[str]
    types: list[str]
    rows: list[tuple]


def document() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text(encoding="utf-8"))


def panels_with_sql() -> list[tuple[dict, dict]]:
    return [(panel, target) for panel in document()["panels"] for target in panel.get("targets", [])]


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def add_triage(sink: ClickHouseSink) -> None:
    """Acknowledge every second alert 1-5 h after detection, close every fourth 6-12 h after,
    through the console's triage rules and the store's audit path."""
    for index, alert in enumerate(sorted(sink.query_alerts(limit=100_000), key=lambda a: a["alert_id"])):
        if index % 2:
            continue
        detected, alert_id = _utc(alert["detected_at"]), alert["alert_id"]
        acked, record = apply(
            Triage(),
            TriageRequest(action="acknowledge"),
            alert_id=alert_id,
            user="analyst",
            role="analyst",
            at=detected + timedelta(hours=1 + index % 5),
        )
        sink.add_audit(record.model_dump())
        if index % 4 == 0:
            _, closed = apply(
                acked,
                TriageRequest(action="close", reason="resolved"),
                alert_id=alert_id,
                user="analyst",
                role="analyst",
                at=detected + timedelta(hours=6 + index % 7),
            )
            sink.add_audit(closed.model_dump())
    sink.flush()


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    preview = fill_preview_store(tmp_path_factory.mktemp("grafana"))
    sink = preview.open()
    add_triage(sink)
    yield sink
    sink.close()


@pytest.fixture(scope="module")
def span(store) -> QueryRange:
    [(first, last)] = store.client.query(
        "SELECT min(last_event_time), max(last_event_time) FROM compliance.alerts FINAL"
    ).result_rows
    start = first.replace(tzinfo=UTC) - timedelta(hours=1)
    return QueryRange(start, last.replace(tzinfo=UTC) + timedelta(hours=1), timedelta(hours=1))


def run(store: ClickHouseSink, title: str, sql: str) -> Ran:
    result = store.client.query(sql)
    return Ran(
        title, sql, list(result.column_names), [t.name for t in result.column_types], result.result_rows
    )


def variables(store: ClickHouseSink, span: QueryRange, chosen: dict[str, Any]) -> tuple[dict, list[Ran]]:
    """The dashboard's variables in order, query variables filled by their queries (as Grafana
    does, each seeing those before it); ``chosen`` values, else *All* and an empty search."""
    values: dict[str, Variable] = {}
    ran = []
    for variable in document()["templating"]["list"]:
        name = variable["name"]
        if variable["type"] == "constant":
            values[name] = Variable(variable["query"])
        elif variable["type"] == "textbox":
            values[name] = Variable(chosen.get(name, ""))
        else:
            answer = run(store, f"variable {name}", interpolate(variable["query"]["rawSql"], values, span))
            ran.append(answer)
            options = tuple(str(row[0]) for row in answer.rows)
            values[name] = Variable(chosen.get(name, [ALL]), options, variable.get("allValue"))
    return values, ran


def run_dashboard(store: ClickHouseSink, span: QueryRange, chosen: dict[str, Any]) -> list[Ran]:
    values, ran = variables(store, span, chosen)
    for panel, target in panels_with_sql():
        ran.append(run(store, panel["title"], interpolate(target["rawSql"], values, span)))
    return ran


def _numeric(kind: str) -> bool:
    return kind.startswith(NUMERIC)


def shape_problem(panel: dict, target: dict, ran: Ran) -> str | None:
    """Why the panel could not show these columns, or None."""
    types = dict(zip(ran.names, ran.types, strict=True))
    if target["format"] == 0:  # time series: a time column, numbers, string labels
        if not types.get("time", "").startswith("DateTime"):
            return f"no DateTime column 'time': {types}"
        values = [n for n in ran.names if n != "time"]
        if not any(_numeric(types[n]) for n in values):
            return f"no numeric column: {types}"
        return None
    if panel["type"] == "stat" and not (len(ran.names) == 1 and _numeric(ran.types[0])):
        return f"a stat needs one numeric column: {types}"
    if panel["type"] == "barchart":
        x = panel["options"]["xField"]
        if x not in types or not all(_numeric(t) for n, t in types.items() if n != x):
            return f"a bar chart needs {x} and numeric columns: {types}"
    for step in panel.get("transformations", []):
        if step["id"] == "groupingToMatrix":
            matrix = step["options"]
            if not (
                _numeric(types.get(matrix["columnField"], ""))
                and _numeric(types.get(matrix["valueField"], ""))
            ):
                return f"a heat map needs a numeric bucket and value: {types}"
    return None


def test_every_panel_and_variable_query_returns_rows_of_the_right_shape(store, span):
    ran = run_dashboard(store, span, {})
    targets = {panel["title"]: (panel, target) for panel, target in panels_with_sql()}
    print("\nrows per query (all categories, rules and severities; no search):")
    for answer in ran:
        print(f"  {len(answer.rows):5}  {answer.title}")
    empty = [a.title for a in ran if not a.rows]
    assert not empty, f"no rows: {empty}"
    problems = {
        a.title: problem
        for a in ran
        if a.title in targets and (problem := shape_problem(*targets[a.title], a))
    }
    assert not problems, problems
    assert len(ran) == len(targets) + 3  # and the three query variables
    by_title = {a.title: a for a in ran}
    assert {row[0] for row in by_title["Open backlog by status"].rows} == {"open", "acknowledged"}
    heat = by_title["Rule hits by hour of day (Asia/Shanghai)"].rows
    assert {row[1] for row in heat} == set(range(24)) and sum(row[2] for row in heat) == by_title[
        "Alerts"
    ].rows[0][0]


def test_narrowed_variables_and_a_search_filter_every_panel(store, span):
    [(number,)] = store.client.query(
        "SELECT subject_id FROM compliance.alerts FINAL WHERE subject_kind = 'phone' "
        "AND category = 'harassment' ORDER BY alert_id LIMIT 1"
    ).result_rows
    ran = {
        a.title: a
        for a in run_dashboard(store, span, {"category": ["harassment", "conduct"], "search": number})
    }
    assert {row[1] for row in ran["Alerts over time by category"].rows} <= {"harassment", "conduct"}
    assert [row[0] for row in ran["Top external numbers"].rows] == [number]
    assert ran["Alerts"].rows[0][0] >= 1
    rules = {row[0] for row in ran["variable rule"].rows}
    assert rules and all(r.startswith(("harassment.", "conduct.")) for r in rules)


def test_a_hostile_search_is_text_not_sql(store, span):
    for text in ("x' OR 1=1 --", "\\' OR 1=1) --", "%' OR '1'='1", "号码 ${x} $__all"):
        ran = {a.title: a for a in run_dashboard(store, span, {"search": text})}
        assert ran["Alerts"].rows == [(0,)], text


def _distress_identities(store: ClickHouseSink) -> set[str]:
    rows = store.client.query(
        "SELECT subject_id, employee_ids FROM compliance.alerts FINAL WHERE category = 'distress'"
    ).result_rows
    return {subject for subject, _ in rows} | {p for _, people in rows for p in people}


def test_distress_panels_select_no_subject_or_employee_column():
    distress = [(p, t) for p, t in panels_with_sql() if "category = 'distress'" in t["rawSql"]]
    assert len(distress) >= 2
    for panel, target in distress:
        assert not [c for c in PERSONAL_COLUMNS if c in target["rawSql"]], panel["title"]


def test_no_panel_shows_a_distress_subject_or_employee_even_when_searched_for(store, span):
    people = _distress_identities(store)
    assert people and all(p.startswith("p-") for p in people)
    for chosen in ({}, {"search": sorted(people)[0]}):
        for answer in run_dashboard(store, span, chosen):
            shown = {str(cell) for row in answer.rows for cell in row}
            assert not {s for s in shown for p in people if p in s}, answer.title
    searched = {a.title: a for a in run_dashboard(store, span, {"search": sorted(people)[0]})}
    assert searched["Alerts"].rows == [(0,)]
