"""Builds the console from settings: users, authentication, triage service, API and page.

The same code runs inside the worker that owns the alert store (embedded chDB) and as
``compliance-monitor console`` against a ClickHouse server.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from functools import lru_cache
from typing import Any

from aiohttp import web

from detectors import Policy
from sinks.alert_queries import AlertQueries
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
    client: Any,
    database: str,
    lock: threading.Lock,
    publish: Callable[[AuditRecord], Awaitable[None]],
    employee_for: Callable[[str], str | None],
    secret: bytes,
    store_status: Callable[[], dict[str, Any]] | None = None,
    health: Callable[[], dict[str, Any]] | None = None,
) -> Console:
    """The console for ``settings.users`` on the store behind ``client``."""
    from detectors.catalogue import as_json, catalogue

    assert settings.users is not None  # noqa: S101 - the caller checks
    users = load_users(settings.users)
    auth = Authenticator(users, secret, settings.trusted_proxy_header, settings.trusted_proxies)
    service = TriageService(AlertQueries(client, database, lock), publish, StreamHub())

    @lru_cache(maxsize=1)
    def rules() -> list[dict[str, Any]]:
        return as_json(catalogue(policy))

    api = ConsoleAPI(service, auth, rules, employee_for, store_status, health, str(policy.timezone))
    return Console(api)
