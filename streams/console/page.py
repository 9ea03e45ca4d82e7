"""The console page: static files (no build step, no data inlined; the page reads the API)."""

from __future__ import annotations

from importlib.resources import files
from typing import TYPE_CHECKING

from aiohttp import web

if TYPE_CHECKING:
    from streams.console.api import ConsoleAPI

STATIC = files("streams.console") / "static"
TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css"}
SECURITY_HEADERS = {
    # no inline script or style from anywhere: event text can only ever be text
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _asset(name: str) -> web.Response:
    suffix = name[name.rfind(".") :]
    return web.Response(
        body=(STATIC / name).read_bytes(),
        content_type=TYPES[suffix],
        charset="utf-8",
        headers=SECURITY_HEADERS,
    )


def page_routes(api: ConsoleAPI) -> list[web.RouteDef]:
    """``/`` (the console, or the sign-in form), and its script and style sheet."""
    names = {p.name for p in STATIC.iterdir()}

    async def index(request: web.Request) -> web.Response:
        return _asset("console.html")

    async def asset(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in names:
            raise web.HTTPNotFound()
        return _asset(name)

    return [web.get("/", index), web.get("/static/{name}", asset)]
