"""HTTP endpoints on the worker's web port: /metrics, /alerts (API), / (live alert feed page)."""

from __future__ import annotations

import asyncio
from importlib.resources import files

from sinks import metrics
from sinks.clickhouse import ClickHouseSink
from streams.agents import Pipeline

FEED_PAGE = (files("streams") / "feed.html").read_text(encoding="utf-8")


def register_views(pipeline: Pipeline) -> None:
    """Attach the HTTP views to the pipeline's app."""
    app = pipeline.app

    @app.page("/metrics")
    async def metrics_view(web, request):
        return web.bytes(metrics.render(), content_type="text/plain")

    @app.page("/alerts")
    async def alerts_view(web, request):
        sink = pipeline.sink
        if not isinstance(sink, ClickHouseSink):
            return web.json({"error": "no queryable alert store in this process (role detect)"}, status=501)
        try:
            limit = min(int(request.query.get("limit", "100")), 10_000)
        except ValueError:
            return web.json({"error": "limit: expected a whole number"}, status=400)
        rule = request.query.get("rule_id") or None
        rows = await asyncio.to_thread(sink.query_alerts, limit, rule)
        store = pipeline.store_status()
        headers = {"X-Store-Pending-Rows": str(store["pending_rows"])}
        if store["behind"]:  # say so rather than silently show less than was detected
            headers["Warning"] = (
                f'199 compliance-monitor "alert store behind: {store["pending_rows"]} rows not written yet"'
            )
        return web.json(rows, headers=headers)

    @app.page("/status")
    async def status_view(web, request):
        return web.json(pipeline.status())

    @app.page("/")
    async def feed_view(web, request):
        return web.html(FEED_PAGE)
