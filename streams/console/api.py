"""The console's HTTP API (JSON under ``/api/v1``), its login, and its event stream.

Every endpoint but ``/healthz`` names the right it needs (:data:`~streams.console.auth.RIGHTS`):
no or bad credentials answer 401, a missing right 403, both as ``{"error": ...}``.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, get_args

import orjson
from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from detectors.action_book import DecisionError, UnknownActionError
from events.alert import ActionState
from sinks.alert_queries import AlertFilter, BadCursor
from streams.actions.desk import ActionDesk, DecisionNotApplied, DecisionRequest
from streams.console.auth import SESSION_COOKIE, Authenticator, Principal, Right
from streams.console.masking import mask_action, mask_alert, mask_event, mask_record, masked_ids
from streams.console.service import TriageService, UnknownAlert
from streams.console.triage import BulkTriageRequest, TransitionError, TriageRequest

Handler = Callable[[web.Request, Principal], Awaitable[web.StreamResponse]]
MAX_PAGE = 500
ACTION_STATES = get_args(ActionState)
EXPORT_ROWS = 100_000
CSV_COLUMNS = [
    "alert_id",
    "rule_id",
    "category",
    "severity",
    "status",
    "assignee",
    "subject_kind",
    "subject_id",
    "employee_ids",
    "first_event_time",
    "last_event_time",
    "summary",
]


class RevealRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=3, max_length=1000)


def error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status, dumps=_dumps)


def _dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def json(value: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(value, status=status, dumps=_dumps, headers=headers)


def _client(request: web.Request) -> str | None:
    return request.remote


def _bad_body(error_: ValidationError) -> web.Response:
    first = error_.errors()[0]
    field = ".".join(str(p) for p in first["loc"]) or "body"
    message = first["msg"].removeprefix("Value error, ")
    if ":" in message and not first["loc"]:
        field, _, message = message.partition(":")
    return error(400, f"{field}: {message.strip()}")


class ConsoleAPI:
    """The handlers, bound to one store, one set of users and one triage service."""

    def __init__(
        self,
        service: TriageService,
        auth: Authenticator,
        catalogue: Callable[[], list[dict[str, Any]]],
        employee_for: Callable[[str], str | None],
        store_status: Callable[[], dict[str, Any]] | None = None,
        health: Callable[[], dict[str, Any]] | None = None,
        timezone: str = "UTC",
        desk: ActionDesk | None = None,
    ) -> None:
        self.service = service
        self.desk = desk
        """IT actions (``/api/v1/actions``); None where no action topic is followed."""
        self.queries = service.queries
        self.auth = auth
        self.catalogue = catalogue
        self.employee_for = employee_for
        self.store_status = store_status
        self.health = health or (lambda: {"ok": True})
        self.timezone = timezone
        """The policy's timezone: the page shows times in it."""

    def routes(self) -> list[web.RouteDef]:
        guarded = self._guarded
        return [
            web.get("/healthz", self.healthz),
            web.post("/login", self.login),
            web.post("/logout", self.logout),
            web.get("/api/v1/session", guarded("read", self.session)),
            web.get("/api/v1/alerts", guarded("read", self.list_alerts)),
            web.post("/api/v1/alerts/triage", guarded("triage", self.bulk_triage, changes=True)),
            web.get("/api/v1/alerts/{alert_id}", guarded("read", self.get_alert)),
            web.post("/api/v1/alerts/{alert_id}/triage", guarded("triage", self.triage, changes=True)),
            web.post("/api/v1/alerts/{alert_id}/reveal", guarded("reveal", self.reveal, changes=True)),
            web.get("/api/v1/stream", guarded("read", self.stream)),
            web.get("/api/v1/audit", guarded("audit", self.audit)),
            web.get("/api/v1/rules", guarded("read", self.rules)),
            web.get("/api/v1/export.csv", guarded("export", self.export)),
            web.get("/api/v1/actions", guarded("actions", self.list_actions)),
            web.post(
                "/api/v1/actions/{action_id}/decision", guarded("decide", self.decide_action, changes=True)
            ),
        ]

    def _guarded(self, right: Right, handler: Handler, changes: bool = False) -> Callable:
        async def guarded(request: web.Request) -> web.StreamResponse:
            principal = self.auth.identify(request)
            if principal is None:
                return error(401, "sign in, or send Authorization: Bearer <token>")
            if not principal.may(right):
                return error(403, f"the role {principal.role} may not {right}")
            if changes and not self.auth.csrf_ok(request, principal):
                return error(403, "missing or wrong X-CSRF-Token")
            return await handler(request, principal)

        return guarded

    async def healthz(self, request: web.Request) -> web.Response:
        return json(self.health())

    async def login(self, request: web.Request) -> web.Response:
        form = await request.post() if request.content_type != "application/json" else await request.json()
        user = await asyncio.to_thread(
            self.auth.users.by_password, str(form.get("name", "")), str(form.get("password", ""))
        )
        if user is None:
            return error(401, "unknown user or wrong password")
        cookie, csrf = self.auth.issue(user)
        response = json({"user": user.name, "roles": list(user.roles), "csrf": csrf})
        response.set_cookie(
            SESSION_COOKIE,
            cookie,
            httponly=True,
            samesite="Strict",
            secure=self.auth.over_https(request),
            max_age=self.auth.session_seconds,
            path="/",
        )
        return response

    async def logout(self, request: web.Request) -> web.Response:
        response = json({"ok": True})
        response.del_cookie(SESSION_COOKIE, path="/")
        return response

    async def session(self, request: web.Request, principal: Principal) -> web.Response:
        user = principal.user
        rights = sorted(
            r for r in ("triage", "reveal", "audit", "export", "actions", "decide") if principal.may(r)
        )
        return json(
            {
                "user": user.name,
                "display_name": user.display_name,
                "roles": list(user.roles),
                "rights": rights,
                "masked": principal.masked,
                "csrf": principal.csrf,
                "timezone": self.timezone,
            }
        )

    def _filter(self, request: web.Request) -> AlertFilter:
        query = request.query

        def when(name: str) -> datetime | None:
            value = query.get(name)
            if not value:
                return None
            try:
                return datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError as problem:
                raise web.HTTPBadRequest(
                    text=_dumps({"error": f"{name}: expected an ISO 8601 time"}),
                    content_type="application/json",
                ) from problem

        status = query.get("status") or None
        if status not in (None, "open", "acknowledged", "closed"):
            raise web.HTTPBadRequest(
                text=_dumps({"error": "status: one of open, acknowledged, closed"}),
                content_type="application/json",
            )
        return AlertFilter(
            status=status,
            category=query.get("category") or None,
            rule_id=query.get("rule_id") or None,
            severity=query.get("severity") or None,
            q=query.get("q") or None,
            since=when("since"),
            until=when("until"),
        )

    def _limit(self, request: web.Request, default: int = 50, most: int = MAX_PAGE) -> int:
        try:
            limit = int(request.query.get("limit", default))
        except ValueError as problem:
            raise web.HTTPBadRequest(
                text=_dumps({"error": "limit: expected a whole number"}), content_type="application/json"
            ) from problem
        if not 1 <= limit <= most:
            raise web.HTTPBadRequest(
                text=_dumps({"error": f"limit: between 1 and {most}"}), content_type="application/json"
            )
        return limit

    def _shown(self, alert: dict[str, Any], principal: Principal) -> dict[str, Any]:
        return mask_alert(alert) if principal.masked else alert

    def _visible(self, alert: dict[str, Any] | None, principal: Principal) -> bool:
        """The ``it`` role reads only alerts that carry IT actions: those about a mail sender
        (an alert not known here, ``None``, only those who read every alert)."""
        if principal.may("triage") or principal.may("audit"):
            return True
        return alert is not None and alert["subject"]["kind"] == "mail_sender"

    def _record_shown(
        self, record: dict[str, Any], about: dict[str, Any] | None, principal: Principal
    ) -> dict[str, Any] | None:
        """An audit record as ``principal`` sees it, or ``None`` if they may not: a record about
        an alert goes to those who may read the alert (``about``: its subject and employees);
        one about no alert (an export) only to those who read the audit log."""
        if record.get("alert_id") is None:
            if not principal.may("audit"):
                return None
        elif not self._visible(about, principal):
            return None
        if not principal.masked:
            return record
        return mask_record(record, _ids_of(about))

    async def list_alerts(self, request: web.Request, principal: Principal) -> web.Response:
        where, limit = self._filter(request), self._limit(request)
        try:
            rows, cursor = await asyncio.to_thread(
                self.queries.list_alerts, where, limit, request.query.get("cursor") or None
            )
        except BadCursor as problem:
            return error(400, str(problem))
        alerts = [
            self._shown(self.service.with_overlay(a), principal) for a in rows if self._visible(a, principal)
        ]
        headers = {}
        if self.store_status is not None and (store := self.store_status())["behind"]:
            headers["Warning"] = (
                f'199 compliance-monitor "alert store behind: {store["pending_rows"]} rows not written yet"'
            )
        return json({"alerts": alerts, "next_cursor": cursor}, headers=headers)

    async def get_alert(self, request: web.Request, principal: Principal) -> web.Response:
        alert_id = request.match_info["alert_id"]
        try:
            alert = await self.service.alert(alert_id)
        except UnknownAlert:
            return error(404, f"no alert {alert_id}")
        if not self._visible(alert, principal):
            return error(403, f"the role {principal.role} reads only alerts with IT actions")
        stored = await asyncio.to_thread(self.queries.audit, alert_id=alert_id, limit=1000, oldest_first=True)
        events = await asyncio.to_thread(self.queries.events, alert["event_ids"])
        rule = next((r for r in self.catalogue() if r["rule_id"] == alert["rule_id"]), None)
        ids = {*alert.get("employee_ids", []), alert["subject"]["id"]}
        shown = self._shown(alert, principal)
        history = self.service.history(alert_id, stored)
        if principal.masked:
            history = [mask_record(r, masked_ids(alert)) for r in history]
        shown["history"] = history
        shown["evidence"] = [marked(mask_event(e, ids) if principal.masked else e) for e in events]
        shown["rule"] = rule
        return json(shown)

    async def _body(self, request: web.Request, model: type[BaseModel]) -> BaseModel | web.Response:
        try:
            raw = await request.read()
            return model.model_validate_json(raw or b"{}")
        except ValidationError as problem:
            return _bad_body(problem)

    async def triage(self, request: web.Request, principal: Principal) -> web.Response:
        body = await self._body(request, TriageRequest)
        if isinstance(body, web.Response):
            return body
        return await self._change(request.match_info["alert_id"], body, principal, request)  # type: ignore[arg-type]

    async def _change(
        self, alert_id: str, body: TriageRequest, principal: Principal, request: web.Request
    ) -> web.Response:
        if body.action == "assign" and body.assignee not in self.auth.users.by_name:
            return error(400, f"assignee: no user {body.assignee!r}")
        try:
            after, _ = await self.service.change(
                alert_id, body, principal.user.name, principal.role, _client(request)
            )
        except UnknownAlert:
            return error(404, f"no alert {alert_id}")
        except TransitionError as problem:
            return error(409, str(problem))
        return json({"alert_id": alert_id, "triage": after.model_dump(mode="json")})

    async def bulk_triage(self, request: web.Request, principal: Principal) -> web.Response:
        body = await self._body(request, BulkTriageRequest)
        if isinstance(body, web.Response):
            return body
        assert isinstance(body, BulkTriageRequest)  # noqa: S101 - narrowed for the type checker
        change = TriageRequest.model_validate(body.model_dump(exclude={"alert_ids"}))
        results = []
        for alert_id in dict.fromkeys(body.alert_ids):
            response = await self._change(alert_id, change, principal, request)
            result = orjson.loads(response.body)  # type: ignore[arg-type]
            results.append({"alert_id": alert_id, "status": response.status, **result})
        return json({"results": results})

    async def reveal(self, request: web.Request, principal: Principal) -> web.Response:
        body = await self._body(request, RevealRequest)
        if isinstance(body, web.Response):
            return body
        alert_id = request.match_info["alert_id"]
        try:
            alert = await self.service.alert(alert_id)
        except UnknownAlert:
            return error(404, f"no alert {alert_id}")
        pseudonyms = [p for p in {alert["subject"]["id"], *alert["employee_ids"]} if p.startswith("p-")]
        if not pseudonyms:
            return error(409, "this alert shows no pseudonyms")
        record = self.service.new_record(
            "reveal",
            principal.user.name,
            principal.role,
            _client(request),
            alert_id=alert_id,
            reason=body.reason,  # type: ignore[attr-defined]
        )
        # in the audit log before anyone sees the identity: on the topic, and in the store too
        await self.service.record(record, about=alert)
        if not await self.service.wait_stored(record):
            return error(503, "the audit log did not take the record in time; nothing revealed")
        employees = {}
        for pseudonym in sorted(pseudonyms):
            employees[pseudonym] = await asyncio.to_thread(self.employee_for, pseudonym)
        return json({"employees": employees})

    async def audit(self, request: web.Request, principal: Principal) -> web.Response:
        query = request.query
        since = None
        if query.get("since"):
            try:
                since = datetime.fromisoformat(query["since"].replace("Z", "+00:00"))
            except ValueError:
                return error(400, "since: expected an ISO 8601 time")
        records = await asyncio.to_thread(
            self.queries.audit,
            alert_id=query.get("alert_id") or None,
            user=query.get("user") or None,
            since=since,
            limit=self._limit(request, 100, 10_000),
        )
        if principal.masked:  # an auditor: the ids of each record's alert masked in its texts
            scopes = await self.service.scopes([r["alert_id"] for r in records if r["alert_id"]])
            records = [mask_record(r, _ids_of(scopes.get(r["alert_id"] or ""))) for r in records]
        return json({"records": records})

    async def list_actions(self, request: web.Request, principal: Principal) -> web.Response:
        if self.desk is None:
            return error(503, "IT actions are not followed by this process")
        state = request.query.get("state") or None
        if state is not None and state not in ACTION_STATES:
            return error(400, f"state: expected one of {', '.join(ACTION_STATES)}")
        actions = [a.model_dump(mode="json") for a in self.desk.list(state)]  # type: ignore[arg-type]
        return json({"actions": [mask_action(a) for a in actions] if principal.masked else actions})

    async def decide_action(self, request: web.Request, principal: Principal) -> web.Response:
        if self.desk is None:
            return error(503, "IT actions are not followed by this process")
        body = await self._body(request, DecisionRequest)
        if isinstance(body, web.Response):
            return body
        assert isinstance(body, DecisionRequest)  # noqa: S101 - narrowed for the type checker
        action_id = request.match_info["action_id"]
        role = "admin" if "admin" in principal.user.roles else "it"  # the role that grants deciding
        try:
            action = await self.desk.decide(
                action_id, body.decision, principal.user.name, role, body.comment, _client(request)
            )
        except UnknownActionError:
            return error(404, f"no action {action_id}")
        except DecisionError as problem:
            return error(409, str(problem))
        except DecisionNotApplied as problem:
            return error(503, str(problem))
        shown = action.model_dump(mode="json")
        return json({"action": mask_action(shown) if principal.masked else shown})

    async def rules(self, request: web.Request, principal: Principal) -> web.Response:
        return json({"rules": self.catalogue()})

    async def export(self, request: web.Request, principal: Principal) -> web.Response:
        where = self._filter(request)
        rows: list[dict[str, Any]] = []
        cursor = None
        while len(rows) < EXPORT_ROWS:
            page, cursor = await asyncio.to_thread(self.queries.list_alerts, where, 5000, cursor)
            rows.extend(self._shown(self.service.with_overlay(a), principal) for a in page)
            if cursor is None:
                break
        record = self.service.new_record(
            "export",
            principal.user.name,
            principal.role,
            _client(request),
            comment=f"{len(rows)} alerts; {request.query_string}"[:1000],
        )
        await self.service.record(record)
        out = io.StringIO()
        out.write("\ufeff")  # UTF-8 with BOM: spreadsheets open Chinese text correctly
        writer = csv.writer(out)
        writer.writerow(CSV_COLUMNS)
        for a in rows:
            writer.writerow(
                [
                    a["alert_id"],
                    a["rule_id"],
                    a["category"],
                    a["severity"],
                    a["triage"]["status"],
                    a["triage"]["assignee"] or "",
                    a["subject"]["kind"],
                    _cell(a["subject"]["id"]),
                    " ".join(a["employee_ids"]),
                    a["first_event_time"],
                    a["last_event_time"],
                    _cell(a["summary"]),
                ]
            )
        return web.Response(
            body=out.getvalue().encode("utf-8"),
            content_type="text/csv",
            charset="utf-8",
            headers={"Content-Disposition": 'attachment; filename="alerts.csv"'},
        )

    async def stream(self, request: web.Request, principal: Principal) -> web.StreamResponse:
        hub = self.service.hub
        response = web.StreamResponse(
            headers={
                "Content-Type": "text/event-stream",
                "Cache-Control": "no-cache",
                "X-Accel-Buffering": "no",
            }
        )
        await response.prepare(request)
        queue = hub.subscribe()
        try:
            for message in hub.missed(request.headers.get("Last-Event-ID")):
                await response.write(self._sse(message, principal))
            await response.write(b": connected\n\n")
            while True:
                try:
                    message = await asyncio.wait_for(queue.get(), timeout=15)
                except TimeoutError:
                    await response.write(b": keep-alive\n\n")
                    continue
                if message is None:  # the hub closed: the process is shutting down
                    break
                await response.write(self._sse(message, principal))
        except ConnectionResetError:
            pass  # the client went away
        finally:
            hub.unsubscribe(queue)
        return response

    def _sse(self, message: Any, principal: Principal) -> bytes:
        """``message`` as ``principal`` may see it: alerts they may read, records about those
        alerts (or, for the audit log's readers, every record), masked for ``it`` and ``auditor``."""
        if message.event == "alert":
            if not self._visible(message.data, principal):
                return b""
            if principal.masked:
                message = type(message)(message.id, message.event, mask_alert(message.data))
        elif message.event == "triage":
            shown = self._record_shown(message.data, message.about, principal)
            if shown is None:
                return b""
            message = type(message)(message.id, message.event, shown)
        return message.encode()


def _ids_of(alert: dict[str, Any] | None) -> set[str]:
    """The masked ids of a record's alert (none known: only numbers are masked in its texts)."""
    return masked_ids(alert) if alert else set()


TEXT_FIELDS = ("text", "subject", "body_text")


def marked(event: dict[str, Any]) -> dict[str, Any]:
    """``event`` with the lexicon terms in its transcript turns and texts marked as
    ``matches: [{start, end, category, term, how}]`` (turns: on the turn; texts: ``data.matches``)."""
    from detectors.text.matcher import default_matcher

    matcher = default_matcher()

    def found(text: str) -> list[dict[str, Any]]:
        hits = matcher.find(text)
        return [
            {"start": m.start, "end": m.end, "category": m.category, "term": m.term, "how": m.how}
            for m in hits
        ]

    data = dict(event.get("data") or {})
    texts = {f: found(data[f]) for f in TEXT_FIELDS if isinstance(data.get(f), str)}
    if texts:
        data["matches"] = texts
    if isinstance(data.get("transcript"), list):
        data["transcript"] = [
            {**turn, "matches": found(str(turn.get("text", "")))} if isinstance(turn, dict) else turn
            for turn in data["transcript"]
        ]
    return {**event, "data": data}


def _cell(value: str) -> str:
    """A CSV cell a spreadsheet shows as text, never runs as a formula (a phone number stays)."""
    risky = value[:1] in ("=", "@", "\t", "\r") or (
        value[:1] in ("+", "-") and not value[1:].replace(" ", "").isdigit()
    )
    return "'" + value if risky else value
