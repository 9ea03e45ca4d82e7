"""A small builder for Grafana dashboards (the classic JSON model, schema version 42).

Only what the project's dashboards use: rows, time series, bar charts, tables and stats
on a 24-column grid; ClickHouse SQL and PromQL targets; query, textbox and constant
variables. Panels are numbered in the order they are placed, so ids and grid positions
stay the same from one generation to the next and the checked-in JSON diffs cleanly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

SCHEMA_VERSION = 42
"""The last schema version of Grafana's classic dashboard model (Grafana 12.2 and later)."""
GRID_COLUMNS = 24
CLICKHOUSE = {"type": "grafana-clickhouse-datasource", "uid": "clickhouse"}
PROMETHEUS = {"type": "prometheus", "uid": "prometheus"}
CLICKHOUSE_PLUGIN_VERSION = "4.20.0"
"""The plugin version the SQL targets are written for: a target without one is taken for a
v3 query and migrated by the plugin's front end (src/data/migration.ts)."""
CLICKHOUSE_FORMATS = {"timeseries": 0, "table": 1}
"""The plugin's ``format`` per query type (src/data/utils.ts, mapQueryTypeToGrafanaFormat)."""

Json = dict[str, Any]


def sql(raw: str, shape: str = "table", ref: str = "A") -> Json:
    """A ClickHouse SQL target: ``shape`` is ``timeseries`` (a time column, long form turned
    into one series per string column's value) or ``table``."""
    return {
        "datasource": CLICKHOUSE,
        "editorType": "sql",
        "format": CLICKHOUSE_FORMATS[shape],
        "pluginVersion": CLICKHOUSE_PLUGIN_VERSION,
        "queryType": shape,
        "rawSql": raw,
        "refId": ref,
    }


def promql(expr: str, legend: str = "__auto", ref: str = "A", instant: bool = False) -> Json:
    """A Prometheus target; ``instant`` for a table of current values."""
    target: Json = {
        "datasource": PROMETHEUS,
        "editorMode": "code",
        "expr": expr,
        "legendFormat": legend,
        "range": not instant,
        "instant": instant,
        "refId": ref,
    }
    if instant:
        target["format"] = "table"
    return target


def _panel(
    kind: str, title: str, description: str, targets: list[Json], defaults: Json, options: Json
) -> Json:
    datasource = targets[0]["datasource"]
    return {
        "type": kind,
        "title": title,
        "description": description,
        "datasource": datasource,
        "targets": targets,
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "options": options,
    }


def timeseries(
    title: str,
    description: str,
    targets: list[Json],
    unit: str = "short",
    bars: bool = False,
    stacked: bool = False,
) -> Json:
    """A time series panel; ``bars`` for counts per interval, ``stacked`` to add series up."""
    custom = {
        "drawStyle": "bars" if bars else "line",
        "fillOpacity": 80 if bars else 10,
        "lineWidth": 1,
        "showPoints": "never",
        "spanNulls": False,
        "stacking": {"group": "A", "mode": "normal" if stacked else "none"},
    }
    defaults = {"unit": unit, "min": 0, "color": {"mode": "palette-classic"}, "custom": custom}
    options = {
        "legend": {"displayMode": "table", "placement": "right", "calcs": ["sum" if bars else "lastNotNull"]},
        "tooltip": {"mode": "multi", "sort": "desc"},
    }
    return _panel("timeseries", title, description, targets, defaults, options)


def barchart(title: str, description: str, targets: list[Json], x_field: str, stacked: bool = True) -> Json:
    """Categories along ``x_field``, one bar (or stacked segment) per numeric column."""
    defaults = {"unit": "short", "min": 0, "color": {"mode": "palette-classic"}}
    options = {
        "xField": x_field,
        "orientation": "horizontal",
        "stacking": "normal" if stacked else "none",
        "showValue": "auto",
        "legend": {"displayMode": "list", "placement": "bottom", "calcs": []},
        "tooltip": {"mode": "multi", "sort": "none"},
    }
    return _panel("barchart", title, description, targets, defaults, options)


def table(
    title: str,
    description: str,
    targets: list[Json],
    unit: str = "short",
    transformations: list[Json] | None = None,
) -> Json:
    """A table; numbers in ``unit``."""
    defaults = {"unit": unit, "custom": {"align": "auto", "cellOptions": {"type": "auto"}}}
    panel = _panel("table", title, description, targets, defaults, {"showHeader": True, "cellHeight": "sm"})
    if transformations:
        panel["transformations"] = transformations
    return panel


def heat_table(title: str, description: str, targets: list[Json], row: str, column: str, value: str) -> Json:
    """A heat map as a table: the long-form query (row, numeric column bucket, value) turned into
    a matrix by Grafana's *grouping to matrix* and its cells coloured by value. The query should
    return every (row, column) pair, zeros included: columns appear in the order first seen."""
    panel = table(
        title,
        description,
        targets,
        transformations=[
            {
                "id": "groupingToMatrix",
                "options": {
                    "rowField": row,
                    "columnField": column,
                    "valueField": value,
                    "emptyValue": "null",
                },
            }
        ],
    )
    panel["fieldConfig"]["defaults"]["custom"]["cellOptions"] = {
        "type": "color-background",
        "mode": "gradient",
    }
    panel["fieldConfig"]["defaults"]["color"] = {"mode": "continuous-GrYlRd"}
    panel["fieldConfig"]["overrides"] = [
        {
            "matcher": {"id": "byName", "options": f"{row}\\{column}"},
            "properties": [{"id": "custom.cellOptions", "value": {"type": "auto"}}],
        }
    ]
    return panel


def stat(title: str, description: str, targets: list[Json], unit: str = "short") -> Json:
    """One number (the last value of each series)."""
    defaults = {"unit": unit, "color": {"mode": "thresholds"}, "thresholds": _base_thresholds()}
    options = {
        "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
        "colorMode": "value",
        "graphMode": "none",
        "textMode": "auto",
    }
    return _panel("stat", title, description, targets, defaults, options)


def _base_thresholds() -> Json:
    return {"mode": "absolute", "steps": [{"color": "green", "value": None}]}


@dataclass
class Grid:
    """Places panels left to right, top to bottom on the 24-column grid, and numbers them."""

    panels: list[Json] = field(default_factory=list)
    x: int = 0
    y: int = 0
    line_height: int = 0

    def _next_id(self) -> int:
        return len(self.panels) + 1

    def _new_line(self) -> None:
        self.y += self.line_height
        self.x, self.line_height = 0, 0

    def row(self, title: str) -> None:
        """A row header across the grid."""
        if self.x:
            self._new_line()
        self.panels.append(
            {
                "type": "row",
                "title": title,
                "id": self._next_id(),
                "collapsed": False,
                "gridPos": {"h": 1, "w": GRID_COLUMNS, "x": 0, "y": self.y},
                "panels": [],
            }
        )
        self.y += 1

    def add(self, panel: Json, width: int, height: int = 8) -> None:
        """``panel`` at the next free place of ``width`` columns."""
        if not 0 < width <= GRID_COLUMNS:
            raise ValueError(f"a panel is 1 to {GRID_COLUMNS} columns wide, not {width}")
        if self.x + width > GRID_COLUMNS:
            self._new_line()
        placed = {"id": self._next_id(), "gridPos": {"h": height, "w": width, "x": self.x, "y": self.y}}
        self.panels.append({**placed, **panel})
        self.x += width
        self.line_height = max(self.line_height, height)


def query_variable(
    name: str,
    label: str,
    datasource: Json,
    query: Json | str,
    multi: bool = True,
    all_value: str | None = None,
) -> Json:
    """A variable filled by a query, refreshed when the time range changes; with *All* when multi."""
    return {
        "type": "query",
        "name": name,
        "label": label,
        "datasource": datasource,
        "query": query,
        "definition": query if isinstance(query, str) else query["rawSql"],
        "refresh": 2,
        "multi": multi,
        "includeAll": multi,
        "allValue": all_value,
        "current": {"text": ["All"], "value": ["$__all"]} if multi else {},
        "options": [],
        "regex": "",
        "sort": 1,
        "hide": 0,
    }


def textbox(name: str, label: str, description: str) -> Json:
    """A free-text variable, empty by default."""
    return {
        "type": "textbox",
        "name": name,
        "label": label,
        "description": description,
        "query": "",
        "current": {"text": "", "value": ""},
        "options": [{"selected": True, "text": "", "value": ""}],
        "hide": 0,
    }


def constant(name: str, value: str, description: str) -> Json:
    """A hidden constant, changed in the builder (e.g. the ClickHouse database)."""
    return {
        "type": "constant",
        "name": name,
        "description": description,
        "query": value,
        "current": {"text": value, "value": value},
        "options": [{"selected": True, "text": value, "value": value}],
        "hide": 2,
    }


def dashboard(
    uid: str,
    title: str,
    description: str,
    grid: Grid,
    variables: list[Json],
    tags: list[str],
    time_from: str = "now-7d",
    refresh: str = "",
    timezone: str = "browser",
) -> Json:
    """The dashboard document (``id`` null: Grafana assigns one on provisioning)."""
    return {
        "uid": uid,
        "title": title,
        "description": description,
        "tags": tags,
        "id": None,
        "editable": True,
        "graphTooltip": 1,
        "timezone": timezone,
        "time": {"from": time_from, "to": "now"},
        "refresh": refresh,
        "schemaVersion": SCHEMA_VERSION,
        "version": 1,
        "links": [],
        "annotations": {
            "list": [
                {
                    "builtIn": 1,
                    "datasource": {"type": "grafana", "uid": "-- Grafana --"},
                    "enable": True,
                    "hide": True,
                    "iconColor": "rgba(0, 211, 255, 1)",
                    "name": "Annotations & Alerts",
                    "type": "dashboard",
                }
            ]
        },
        "templating": {"list": variables},
        "panels": grid.panels,
    }


def render(document: Json) -> str:
    """Stable JSON text: two-space indent, keys in the order built, a final newline."""
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
