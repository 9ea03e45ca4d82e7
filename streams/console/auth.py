"""Who is asking, and what their roles let them do.

API clients send ``Authorization: Bearer <token>``; the page signs in at ``/login`` and
gets a signed session cookie (``HttpOnly``, ``SameSite=Strict``; ``Secure`` when the
browser came over HTTPS: to this server, or to a trusted proxy that says so in
``X-Forwarded-Proto``) that carries a CSRF token, which every state-changing request from
the page repeats in ``X-CSRF-Token``. A trusted reverse proxy may name the user in a
header, accepted only from the configured proxy addresses; the proxy adds it to whatever
the browser sends, so such requests need a CSRF token too (``/api/v1/session`` gives it).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import secrets
import time
from dataclasses import dataclass
from typing import Literal

import orjson
from aiohttp import web

from streams.console.users import Directory, Role, User

Right = Literal["read", "triage", "reveal", "audit", "export", "actions", "decide"]
RIGHTS: dict[Right, frozenset[Role]] = {
    "read": frozenset({"officer", "hr", "it", "auditor", "admin"}),
    "triage": frozenset({"officer", "hr", "admin"}),
    "reveal": frozenset({"hr", "admin"}),
    "audit": frozenset({"auditor", "admin"}),
    "export": frozenset({"officer", "hr", "auditor", "admin"}),
    "actions": frozenset({"it", "officer", "admin"}),
    "decide": frozenset({"it", "admin"}),
}
MASKED_ROLES: frozenset[Role] = frozenset({"it", "auditor"})
SESSION_COOKIE = "cm_session"
CSRF_HEADER = "X-CSRF-Token"


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated user, and how they were recognised."""

    user: User
    via: Literal["token", "session", "proxy"]
    csrf: str | None = None

    def may(self, right: Right) -> bool:
        return any(role in RIGHTS[right] for role in self.user.roles)

    @property
    def masked(self) -> bool:
        """Whether ids and numbers are masked for this user (``it`` and ``auditor`` only)."""
        return not any(role not in MASKED_ROLES for role in self.user.roles)

    @property
    def role(self) -> Role:
        """The role the audit log records: the most powerful one the user holds."""
        for role in ("admin", "hr", "officer", "it", "auditor"):
            if role in self.user.roles:
                return role  # type: ignore[return-value]
        return self.user.role


class Authenticator:
    """Recognises the user of a request; issues and checks session cookies."""

    def __init__(
        self,
        users: Directory,
        secret: bytes,
        proxy_header: str | None = None,
        trusted_proxies: list[str] | None = None,
        session_seconds: int = 12 * 3600,
    ) -> None:
        self.users = users
        self.secret = secret
        self.proxy_header = proxy_header
        self.trusted = [ipaddress.ip_network(p, strict=False) for p in trusted_proxies or []]
        self.session_seconds = session_seconds

    def identify(self, request: web.Request) -> Principal | None:
        """The principal of ``request``, or ``None`` without (valid) credentials."""
        header = request.headers.get("Authorization", "")
        if header.lower().startswith("bearer "):
            user = self.users.by_token(header[7:].strip())
            return Principal(user, "token") if user else None
        if self.proxy_header and self._from_trusted_proxy(request):
            name = request.headers.get(self.proxy_header)
            if name and (user := self.users.by_name.get(name)):
                return Principal(user, "proxy", csrf=self._proxy_csrf(user))
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie:
            return self._session(cookie)
        return None

    def over_https(self, request: web.Request) -> bool:
        """Whether the browser reached us over HTTPS: directly, or through a trusted proxy
        that terminated TLS and sent ``X-Forwarded-Proto: https`` (its first value: the
        client's side, when proxies are chained). From anyone else the header is ignored."""
        if request.secure:
            return True
        if not self._from_trusted_proxy(request):
            return False
        forwarded = request.headers.get("X-Forwarded-Proto", "")
        return forwarded.split(",")[0].strip().lower() == "https"

    def _from_trusted_proxy(self, request: web.Request) -> bool:
        try:
            address = ipaddress.ip_address(request.remote or "")
        except ValueError:
            return False
        return any(address in network for network in self.trusted)

    def issue(self, user: User) -> tuple[str, str]:
        """A session cookie value for ``user`` and its CSRF token."""
        csrf = secrets.token_urlsafe(24)
        payload = base64.urlsafe_b64encode(
            orjson.dumps({"u": user.name, "exp": int(time.time()) + self.session_seconds, "csrf": csrf})
        ).decode()
        return f"{payload}.{self._sign(payload)}", csrf

    def _proxy_csrf(self, user: User) -> str:
        """The CSRF token of a user the proxy names: there is no cookie of ours to carry one,
        so it is derived from the key (the same in every process that shares the key)."""
        return hmac.new(self.secret, f"proxy-csrf|{user.name}".encode(), hashlib.sha256).hexdigest()[:32]

    def _sign(self, payload: str) -> str:
        return hmac.new(self.secret, payload.encode(), hashlib.sha256).hexdigest()

    def _session(self, cookie: str) -> Principal | None:
        payload, _, signature = cookie.rpartition(".")
        if not payload or not hmac.compare_digest(self._sign(payload), signature):
            return None
        try:
            data = orjson.loads(base64.urlsafe_b64decode(payload))
        except ValueError:
            return None
        user = self.users.by_name.get(data.get("u", ""))
        if user is None or data.get("exp", 0) < time.time():
            return None
        return Principal(user, "session", csrf=data.get("csrf"))

    @staticmethod
    def csrf_ok(request: web.Request, principal: Principal) -> bool:
        """A state-changing request from a browser repeats its CSRF token: a session cookie
        and the proxy's header both come with any request the browser makes, even one that
        another site starts; a bearer token never does."""
        if principal.via == "token":
            return True
        sent = request.headers.get(CSRF_HEADER, "")
        return bool(principal.csrf) and hmac.compare_digest(sent, principal.csrf or "")
