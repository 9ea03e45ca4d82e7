"""Builds the console from settings: users, authentication, triage service, API and page.

The same code runs inside the worker that owns the alert store (embedded chDB) and as
``compliance-monitor console`` against a ClickHouse server.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from functools import lru_cache
from typing import Any

from aiohttp import web

from detectors import Policy
from sinks.alert_queries import AlertQueries
from sinks.clickhouse import ClickHouseSink
from streams.actions.desk import ActionDesk
from streams.console.api import ConsoleAPI
from streams.console.auth import Authenticator
from streams.console.hub import StreamHub
from streams.console.page import page_routes
from streams.console.service import TriageService
from streams.console.triage import AuditRecord
from streams.console.users import load_users
from streams.settings import Settings


class Console:
    """The console's parts, as one object to mount on a web app."""

    def __init__(self, api: ConsoleAPI) -> None:
        self.api = api
        self.service = api.service

    def routes(self) -> list[web.RouteDef]:
        return [*self.api.routes(), *page_routes(self.api)]


def build_console(
    settings: Settings,
    policy: Policy,
    *,
    sink: ClickHouseSink,
    publish: Callable[[AuditRecord], Awaitable[None]],
    store_status: Callable[[], dict[str, Any]] | None = None,
    health: Callable[[], dict[str, Any]] | None = None,
    desk: ActionDesk | None = None,
) -> Console:
    """The console for ``settings.users`` on the store behind ``sink`` (read through its client)."""
    from detectors.catalogue import as_json, catalogue

    assert settings.users is not None  # noqa: S101 - the caller checks
    users = load_users(settings.users)
    auth = Authenticator(users, _secret(settings), settings.trusted_proxy_header, settings.trusted_proxies)
    queries = AlertQueries(sink.client, sink.database, sink._lock)
    service = TriageService(queries, publish, StreamHub())

    @lru_cache(maxsize=1)
    def rules() -> list[dict[str, Any]]:
        return as_json(catalogue(policy))

    api = ConsoleAPI(
        service, auth, rules, sink.employee_for, store_status, health, str(policy.timezone), desk
    )
    return Console(api)


def _secret(settings: Settings) -> bytes:
    """The key that signs session cookies: ``CM_CONSOLE_SECRET``, or one for this process."""
    if settings.console_secret is not None:
        return settings.console_secret.get_secret_value().encode()
    return secrets.token_bytes(32)  # sessions end with the process
