"""The small HTTP side of the action processes: ``/metrics`` and ``/healthz``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from sinks import metrics


async def serve_metrics(at: tuple[str, int], health: Callable[[], dict[str, Any]]) -> web.AppRunner:
    """Serve Prometheus metrics and a health document (503 until ``health()["ready"]``)."""

    async def metrics_view(request: web.Request) -> web.Response:
        return web.Response(body=metrics.render(), content_type="text/plain")

    async def health_view(request: web.Request) -> web.Response:
        body = health()
        return web.json_response(body, status=200 if body.get("ready") else 503)

    app = web.Application()
    app.router.add_routes([web.get("/metrics", metrics_view), web.get("/healthz", health_view)])
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, *at).start()
    return runner
