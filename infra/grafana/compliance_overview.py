"""The "Compliance overview" dashboard: the alert store (ClickHouse) as the compliance team reads it.

Queries use the ClickHouse data source plugin's macros as its source defines them
(github.com/grafana/clickhouse-datasource: ``pkg/macros/macros.go`` for ``$__timeFilter``
and ``$__timeInterval``, expanded by the plugin's back end; ``src/data/CHDatasource.ts``
``applyConditionalAll`` for ``$__conditionalAll``, expanded in the browser before the
template variables; ``docs/sources/template-variables.md``). An alert's time is the time
of its last event, as in the console. Distress alerts appear only as counts: no panel
selects a subject or an employee of theirs, and the free-text search never matches them.
"""

from __future__ import annotations

from infra.grafana.model import (
    CLICKHOUSE,
    Grid,
    Json,
    barchart,
    constant,
    dashboard,
    heat_table,
    query_variable,
    stat,
    table,
    textbox,
    timeseries,
)
from infra.grafana.model import sql as sql_target

UID = "cm-compliance-overview"
DATABASE = "compliance"
"""The database the worker writes (``sinks.clickhouse.DEFAULT_DATABASE``); a store URL that
names another one needs the ``database`` constant changed here."""
LOCAL_TIMEZONE = "Asia/Shanghai"

ALERTS = "${database}.alerts FINAL"
TIME = "$__timeFilter(last_event_time)"
CATEGORY = "$__conditionalAll(category IN (${category:singlequote}), $category)"
RULE = "$__conditionalAll(rule_id IN (${rule:singlequote}), $rule)"
SEVERITY = "$__conditionalAll(severity IN (${severity:singlequote}), $severity)"
SEARCH_TEXT = "decodeURLComponent('${search:percentencode}')"
"""The search text, percent-encoded by Grafana and decoded by ClickHouse: whatever is typed,
the SQL string literal holds only ``[A-Za-z0-9-_.~%]`` and cannot be broken out of."""
SEARCH = (
    "$__conditionalAll(category != 'distress' AND (positionCaseInsensitiveUTF8(subject_id, "
    + SEARCH_TEXT
    + ") > 0 OR arrayExists(e -> positionCaseInsensitiveUTF8(e, "
    + SEARCH_TEXT
    + ") > 0, employee_ids)), $search)"
)
"""Subject (external number, mail sender, debtor, employee) or employee id contains the text.
Distress alerts never match: a search for a person must not count that person's distress."""
FILTERS = " AND ".join([TIME, CATEGORY, RULE, SEVERITY, SEARCH])
COUNT_FILTERS = " AND ".join([TIME, CATEGORY, RULE, SEVERITY])
"""The filters of the distress panels: counts over everyone, so no search."""
TRIAGE = "(SELECT alert_id, status FROM ${database}.triage_state FINAL) AS t ON t.alert_id = a.alert_id"
OPEN_BACKLOG = (
    "SELECT if(t.status = '', 'open', toString(t.status)) AS status, a.detected_at AS detected_at "
    "FROM (SELECT alert_id, detected_at FROM " + ALERTS + " WHERE " + FILTERS + ") AS a "
    "LEFT JOIN " + TRIAGE
)
"""Each alert in range with its triage status: ``open`` without a triage row (the console's rule)."""


def _variables() -> list[Json]:
    in_range = "WHERE $__timeFilter(last_event_time)"
    return [
        constant("database", DATABASE, "The ClickHouse database the worker writes (CM_CLICKHOUSE_URL path)."),
        query_variable(
            "category",
            "Category",
            CLICKHOUSE,
            {
                "editorType": "sql",
                "rawSql": f"SELECT DISTINCT category FROM {ALERTS} {in_range} ORDER BY category",
            },
        ),
        query_variable(
            "rule",
            "Rule",
            CLICKHOUSE,
            {
                "editorType": "sql",
                "rawSql": f"SELECT DISTINCT rule_id FROM {ALERTS} {in_range} AND {CATEGORY} ORDER BY rule_id",
            },
        ),
        query_variable(
            "severity",
            "Severity",
            CLICKHOUSE,
            {
                "editorType": "sql",
                "rawSql": f"SELECT DISTINCT severity FROM {ALERTS} {in_range} ORDER BY severity",
            },
        ),
        textbox(
            "search",
            "Search",
            "Part of an employee id, an external number, a mail sender or another subject id "
            "(distress alerts are never matched).",
        ),
    ]


def _over_time(column: str) -> str:
    return (
        f"SELECT $__timeInterval(last_event_time) AS time, {column}, count() AS alerts "
        f"FROM {ALERTS} WHERE {FILTERS} GROUP BY time, {column} ORDER BY time, {column}"
    )


def _time_to(action: str) -> str:
    first = (
        f"SELECT alert_id, min(at) AS first_at FROM ${{database}}.triage_audit FINAL "
        f"WHERE action = '{action}' GROUP BY alert_id"
    )
    return (
        "SELECT category, count() AS alerts, quantile(0.5)(hours) AS p50, quantile(0.9)(hours) AS p90, "
        "max(hours) AS slowest FROM ("
        "SELECT a.category AS category, "
        "greatest(0, dateDiff('second', a.detected_at, x.first_at)) / 3600 AS hours "
        f"FROM (SELECT alert_id, category, detected_at FROM {ALERTS} WHERE {FILTERS}) AS a "
        f"INNER JOIN ({first}) AS x ON x.alert_id = a.alert_id"
        ") GROUP BY category ORDER BY category"
    )


def _top_subjects(kind: str, label: str) -> str:
    return (
        f"SELECT subject_id AS {label}, count() AS alerts, "
        "arrayStringConcat(arraySort(groupUniqArray(rule_id)), ', ') AS rules, "
        "max(last_event_time) AS last_alert "
        f"FROM {ALERTS} WHERE subject_kind = '{kind}' AND category != 'distress' AND {FILTERS} "
        f"GROUP BY {label} ORDER BY alerts DESC, {label} LIMIT 20"
    )


def _panels() -> Grid:
    grid = Grid()
    grid.row("Overview")
    grid.add(
        stat(
            "Alerts",
            "Alerts whose last event lies in the time range, after the filters.",
            [sql_target(f"SELECT count() AS alerts FROM {ALERTS} WHERE {FILTERS}")],
        ),
        4,
        4,
    )
    grid.add(
        stat(
            "Open backlog",
            "Of those, the alerts not closed (open or acknowledged).",
            [sql_target(f"SELECT count() AS open FROM ({OPEN_BACKLOG}) WHERE status != 'closed'")],
        ),
        4,
        4,
    )
    grid.add(
        stat(
            "Rules hit",
            "Distinct rules among those alerts.",
            [sql_target(f"SELECT uniqExact(rule_id) AS rules FROM {ALERTS} WHERE {FILTERS}")],
        ),
        4,
        4,
    )
    grid.add(
        stat(
            "Distress alerts (count only)",
            "Distress signals in the time range: a count, never a person. The search does not apply.",
            [
                sql_target(
                    f"SELECT count() AS alerts FROM {ALERTS} WHERE category = 'distress' AND {COUNT_FILTERS}"
                )
            ],
        ),
        4,
        4,
    )
    grid.add(
        timeseries(
            "Distress signals over time (counts only)",
            "Distress alerts per interval and rule: counts over everyone, no subject, no employee.",
            [
                sql_target(
                    "SELECT $__timeInterval(last_event_time) AS time, rule_id AS rule, count() AS alerts "
                    f"FROM {ALERTS} WHERE category = 'distress' AND {COUNT_FILTERS} "
                    "GROUP BY time, rule ORDER BY time, rule",
                    "timeseries",
                )
            ],
            bars=True,
            stacked=True,
        ),
        8,
        4,
    )
    grid.add(
        timeseries(
            "Alerts over time by category",
            "Alerts per interval ($__timeInterval) by category.",
            [sql_target(_over_time("category"), "timeseries")],
            bars=True,
            stacked=True,
        ),
        12,
    )
    grid.add(
        timeseries(
            "Alerts over time by severity",
            "Alerts per interval by severity.",
            [sql_target(_over_time("severity"), "timeseries")],
            bars=True,
            stacked=True,
        ),
        12,
    )
    grid.row("Backlog and triage")
    grid.add(
        barchart(
            "Open backlog by status",
            "Alerts in range not closed, by triage status (open: nobody has acknowledged it yet).",
            [
                sql_target(
                    f"SELECT status, count() AS alerts FROM ({OPEN_BACKLOG}) WHERE status != 'closed' "
                    "GROUP BY status ORDER BY status"
                )
            ],
            x_field="status",
        ),
        8,
    )
    grid.add(
        barchart(
            "Open backlog by age",
            "Alerts not closed by time since detection, split by status.",
            [
                sql_target(
                    "SELECT multiIf(hours < 24, 'under 1 day', hours < 72, '1-3 days', "
                    "hours < 168, '3-7 days', hours < 720, '7-30 days', 'over 30 days') AS age, "
                    "countIf(status = 'open') AS open, countIf(status = 'acknowledged') AS acknowledged "
                    "FROM (SELECT status, dateDiff('hour', detected_at, now64(3, 'UTC')) AS hours "
                    f"FROM ({OPEN_BACKLOG}) WHERE status != 'closed') GROUP BY age ORDER BY min(hours)"
                )
            ],
            x_field="age",
        ),
        16,
    )
    grid.add(
        table(
            "Time to acknowledge (hours)",
            "From detection to the first acknowledgement in the audit log, per category: median, "
            "90th percentile and slowest; alerts never acknowledged are not counted.",
            [sql_target(_time_to("acknowledge"))],
            unit="h",
        ),
        12,
    )
    grid.add(
        table(
            "Time to close (hours)",
            "From detection to the first close in the audit log, per category.",
            [sql_target(_time_to("close"))],
            unit="h",
        ),
        12,
    )
    grid.row("Who and when")
    grid.add(
        table(
            "Top external numbers",
            "Phone numbers that are the subject of most alerts (harassment and conduct rules).",
            [sql_target(_top_subjects("phone", "number"))],
        ),
        12,
        10,
    )
    grid.add(
        table(
            "Top mail senders",
            "External mail senders that are the subject of most alerts.",
            [sql_target(_top_subjects("mail_sender", "sender"))],
        ),
        12,
        10,
    )
    grid.add(
        heat_table(
            f"Rule hits by hour of day ({LOCAL_TIMEZONE})",
            "Alerts per rule and local hour of their last event (every hour a column, 0 to 23): "
            "the darker, the more.",
            [
                sql_target(
                    "SELECT rule, hour, countIf(alert_hour = hour) AS hits FROM (SELECT rule_id AS rule, "
                    f"toHour(toTimezone(last_event_time, '{LOCAL_TIMEZONE}')) AS alert_hour "
                    f"FROM {ALERTS} WHERE {FILTERS}) ARRAY JOIN range(24) AS hour "
                    "GROUP BY rule, hour ORDER BY hour, rule"
                )
            ],
            row="rule",
            column="hour",
            value="hits",
        ),
        24,
        12,
    )
    grid.add(
        table(
            "Conduct violations per collection agent",
            "Conduct alerts whose details name the collection agent (details.agent_id).",
            [
                sql_target(
                    "SELECT JSONExtractString(details, 'agent_id') AS agent, count() AS violations, "
                    "arrayStringConcat(arraySort(groupUniqArray(rule_id)), ', ') AS rules, "
                    "max(last_event_time) AS last_violation "
                    f"FROM {ALERTS} WHERE category = 'conduct' AND agent != '' AND {FILTERS} "
                    "GROUP BY agent ORDER BY violations DESC, agent LIMIT 50"
                )
            ],
        ),
        24,
        10,
    )
    return grid


def build() -> Json:
    """The dashboard document."""
    return dashboard(
        UID,
        "Compliance overview",
        "Alerts, backlog and triage from the alert store; distress as counts only.",
        _panels(),
        _variables(),
        tags=["compliance-monitor", "clickhouse"],
        time_from="now-30d",
    )
