"""Route module: the managers' page under /ui, server-rendered with Jinja2.

The team worklist, a child's timeline (case events and alerts), an alert (acknowledge,
assign, resolve with an outcome) and, for admins, silences. Everything it loads is served from here (templates
and style sheet in this package). Every form carries a CSRF token, checked before any
change; the session cookie is HttpOnly, SameSite=Strict, and Secure behind https. URLs
carry no personal data beyond the child id. Changes go through the same functions as the
API (casewatch.delivery.lifecycle, silences), with the signed-in identity as the actor and
its teams as the scope.
"""

import asyncio
import functools
import secrets
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any, TypeVar

import jinja2
from aiohttp import web
from prometheus_client import CollectorRegistry
from sqlalchemy import Engine

from agents.timeline import Code
from agents.worklist import MARK_TEXT, WorklistPolicy
from casewatch.access import Access
from casewatch.config_file import load_rules
from casewatch.delivery import lifecycle, silences
from casewatch.delivery.config import parse_duration
from casewatch.delivery.lifecycle import Action, Conflict, LifecycleError, OtherTeam, UnknownSubject
from casewatch.delivery.views import AGES, Filters, choices, findings, sees_child, timeline_entries, worklist
from casewatch.http.openapi import Fragment
from casewatch.http.sessions import COOKIE, PRE_COOKIE, Sessions
from casewatch.http_auth import ACCESS, CSRF_SEED, IDENTITY, SESSION, SESSIONS, SIGNED_OUT, identity_of
from casewatch.settings import Settings
from casewatch.storage import connect
from casewatch.timeline import child_timeline

HOME = "/ui/worklist"
T = TypeVar("T")
Page = Callable[[web.Request], Awaitable[web.StreamResponse]]

_templates = jinja2.Environment(
    loader=jinja2.PackageLoader("casewatch.http", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
)
_templates.globals["MARK_TEXT"] = MARK_TEXT


def _shown(value: Code) -> str:
    """A timeline code as the page shows it: lists joined, flags as yes or no."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return ", ".join(value) if isinstance(value, list) else str(value)


_templates.filters["shown"] = _shown
_STYLE = resources.files("casewatch.http").joinpath("static/casewatch.css").read_bytes()


def install(app: web.Application, settings: Settings, registry: CollectorRegistry) -> None:
    pages = Pages(connect(settings.database_url), app[ACCESS], app[SESSIONS], link=load_rules(settings).link)
    app.router.add_get("/", pages.root)
    app.router.add_get("/ui/static/casewatch.css", pages.style)
    app.router.add_get("/ui/sign-in", pages.sign_in_form)
    app.router.add_post("/ui/sign-in", pages.sign_in)
    app.router.add_post("/ui/sign-out", pages.sign_out)
    app.router.add_get(HOME, pages.worklist)
    app.router.add_get("/ui/children/{child_id}", pages.child)
    app.router.add_get("/ui/alerts/{alert_id}", pages.alert)
    actions: tuple[tuple[Action, str], ...] = (("acknowledge", "ack"), ("assign", "assign"), ("resolve", "resolve"))
    for action, path in actions:
        app.router.add_post(f"/ui/alerts/{{alert_id}}/{path}", pages.change(action))
    app.router.add_get("/ui/silences", pages.silences)
    app.router.add_post("/ui/silences", pages.add_silence)
    app.router.add_post("/ui/silences/{id}/end", pages.end_silence)


def openapi() -> Fragment:
    return {}  # the page is for people; /openapi.json documents the API


class Pages:
    def __init__(
        self, engine: Engine, access: Access, sessions: Sessions, *, link: Callable[[str], str | None]
    ) -> None:
        self.engine, self.access, self.sessions = engine, access, sessions
        self.link = link  # a child's record in the case system (rules.link_template)

    async def run(self, work: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(None, work)

    def render(self, request: web.Request, name: str, status: int = 200, **values: Any) -> web.Response:
        identity = request.get(IDENTITY)
        seed = request.get(CSRF_SEED)
        values.setdefault("error", "")
        html = _templates.get_template(name).render(
            identity=identity, csrf=self.sessions.csrf(seed) if seed else "", **values
        )
        return web.Response(text=html, content_type="text/html", status=status)

    async def root(self, _: web.Request) -> web.StreamResponse:
        raise web.HTTPSeeOther(HOME)

    async def style(self, _: web.Request) -> web.StreamResponse:
        return web.Response(body=_STYLE, content_type="text/css")

    # Sign-in: a token of one's own or a password (demo, tests); people sign in through the proxy.

    async def sign_in_form(self, request: web.Request, *, error: str = "", status: int = 200) -> web.Response:
        seed = secrets.token_hex(16)
        out = request.query.get("out") == "1" and not error
        response = self.render(request, "sign_in.html", status, error=error, out=out,
                               pre_csrf=self.sessions.csrf("pre:" + seed))  # fmt: skip
        _cookie(request, response, PRE_COOKIE, seed, max_age=3600)
        return response

    async def sign_in(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        seed = request.cookies.get(PRE_COOKIE)
        if not self.sessions.csrf_matches(None if seed is None else "pre:" + seed, str(form.get("csrf", ""))):
            return await self.sign_in_form(request, error="The form had expired: sign in again.", status=400)
        user = str(form.get("user", "")).strip()
        if user:  # scrypt takes a moment: off the event loop
            work = functools.partial(self.access.by_password, user, str(form.get("password", "")))
            identity = await self.run(work)
        else:
            identity = self.access.by_token(str(form.get("token", "")).strip())
        if identity is None:
            what = "That user name and password do not match." if user else "That token is not known."
            return await self.sign_in_form(request, error=what, status=401)
        if not identity.may("read"):
            return await self.sign_in_form(request, error="That token is not for the page (it has no viewer, "
                                           "manager or admin role).", status=403)  # fmt: skip
        response = web.HTTPSeeOther(HOME)
        _cookie(request, response, COOKIE, self.sessions.issue(identity.name), max_age=self.sessions.seconds)
        response.del_cookie(PRE_COOKIE, path="/ui/")
        raise response

    async def sign_out(self, request: web.Request) -> web.StreamResponse:
        await self.checked_form(request)
        session = request.get(SESSION)
        if session is not None:  # (signed in through the proxy: the proxy signs people out)
            expires = datetime.fromtimestamp(session.expires, UTC)
            await request.app[SIGNED_OUT].record(session.nonce, expires)  # every copy of the cookie ends here
        response = web.HTTPSeeOther("/ui/sign-in?out=1")
        response.del_cookie(COOKIE, path="/ui/")
        raise response

    async def checked_form(self, request: web.Request) -> dict[str, str]:
        """The posted form, once its CSRF token is this session's (else 403)."""
        form = await request.post()
        if not self.sessions.csrf_matches(request.get(CSRF_SEED), str(form.get("csrf", ""))):
            raise web.HTTPForbidden(text="The form's CSRF token is missing or not this session's: reload the page.")
        return {k: v for k, v in form.items() if isinstance(v, str)}

    # Reading.

    async def worklist(self, request: web.Request) -> web.StreamResponse:
        identity = identity_of(request)
        query = request.query
        filters = Filters(**{name: query.get(name, "") for name in ("team", "rule", "severity", "status", "age")})
        found = await self.run(functools.partial(findings, self.engine, teams=identity.teams_for("read")))
        now = datetime.now(UTC)
        lists = worklist(found, filters, now=now, policy=WorklistPolicy())
        statuses = {f.alert.alert_id: f.status for f in found}
        return self.render(request, "worklist.html", lists=lists, filters=filters, choices=choices(found),
                           ages=list(AGES), statuses=statuses)  # fmt: skip

    async def child(self, request: web.Request) -> web.StreamResponse:
        """The child's case events, whatever team recorded them, and the alerts of the reader's
        teams; only for a reader one of whose teams holds an event or an alert of the child."""
        child_id = request.match_info["child_id"]
        teams = identity_of(request).teams_for("read")
        found = await self.run(functools.partial(findings, self.engine, teams=teams, child_id=child_id))
        events = await self.run(functools.partial(child_timeline, self.engine, child_id=child_id))
        if not sees_child(teams, events, found):
            raise web.HTTPNotFound(text="Nothing about this child is stored for your teams.")
        link = self.link(child_id) or next((f.alert.link for f in found if f.alert.link), None)
        return self.render(request, "child.html", child_id=child_id, entries=timeline_entries(events, found),
                           link=link)  # fmt: skip

    async def alert(self, request: web.Request, *, error: str = "", status: int = 200) -> web.Response:
        alert_id = request.match_info["alert_id"]
        identity = identity_of(request)
        found = await self.run(functools.partial(findings, self.engine, teams=None, alert_id=alert_id))
        if not found:
            raise web.HTTPNotFound(text="No such alert.")
        if not identity.sees(found[0].alert.team):
            raise web.HTTPForbidden(text="This alert is of a team you do not see.")
        trail = await self.run(functools.partial(lifecycle.audit_trail, self.engine, subject="alert",
                                                 subject_id=alert_id))  # fmt: skip
        return self.render(request, "alert.html", status, finding=found[0], trail=trail, error=error,
                           outcomes=self.access.limits.outcomes, may_act=identity.may_on("act", found[0].alert.team),
                           max_note=lifecycle.MAX_NOTE_CHARS)  # fmt: skip

    # Acting on an alert.

    def change(self, action: Action) -> Page:
        async def handler(request: web.Request) -> web.StreamResponse:
            form = await self.checked_form(request)
            identity = identity_of(request)
            alert_id = request.match_info["alert_id"]
            outcome = form.get("outcome") if action == "resolve" else None
            work = functools.partial(
                lifecycle.change, self.engine, alert_id, action, actor=identity.name, now=datetime.now(UTC),
                assignee=form.get("to", "").strip() if action == "assign" else None, outcome=outcome,
                note=form.get("note", "").strip() or None if action == "resolve" else None,
                teams=identity.teams_for("act"),
                outcomes=self.access.limits.outcomes,
            )  # fmt: skip
            try:
                await self.run(work)
            except UnknownSubject:
                raise web.HTTPNotFound(text="No such alert.") from None
            except OtherTeam:
                raise web.HTTPForbidden(text="This alert is of a team you do not see.") from None
            except LifecycleError as error:
                return await self.alert(request, error=str(error), status=409 if isinstance(error, Conflict) else 400)
            raise web.HTTPSeeOther(f"/ui/alerts/{alert_id}")

        return handler

    # Silences (admin only: casewatch/http_auth.py).

    async def silences(self, request: web.Request, *, error: str = "", status: int = 200) -> web.Response:
        now = datetime.now(UTC)
        rows = await self.run(functools.partial(silences.list_silences, self.engine, now=now))
        return self.render(request, "silences.html", status, rows=rows, now=now, error=error,
                           max_days=self.access.limits.max_silence_days)  # fmt: skip

    async def add_silence(self, request: web.Request) -> web.StreamResponse:
        form = await self.checked_form(request)
        now = datetime.now(UTC)
        matchers = [line.strip() for line in form.get("matchers", "").splitlines() if line.strip()]
        try:
            length = parse_duration(form.get("duration", "").strip())
        except (ValueError, OverflowError):
            return await self.silences(request, error="The duration is written 30m, 2h or 7d.", status=400)
        longest = self.access.limits.max_silence_days
        # One day past the longest is enough for add_silence to refuse, and keeps the sum in range.
        ends_at = now + min(length, timedelta(days=longest + 1))
        work = functools.partial(silences.add_silence, self.engine, matchers, ends_at=ends_at,
                                 actor=identity_of(request).name, now=now,
                                 comment=form.get("comment", "").strip() or None, max_days=longest)  # fmt: skip
        try:
            await self.run(work)
        except LifecycleError as error:
            return await self.silences(request, error=str(error), status=400)
        raise web.HTTPSeeOther("/ui/silences")

    async def end_silence(self, request: web.Request) -> web.StreamResponse:
        await self.checked_form(request)
        text = request.match_info["id"]
        if not (text.isascii() and text.isdigit() and len(text) <= 18):
            raise web.HTTPNotFound(text="No such silence.")
        work = functools.partial(silences.remove_silence, self.engine, int(text), actor=identity_of(request).name,
                                 now=datetime.now(UTC))  # fmt: skip
        try:
            await self.run(work)
        except UnknownSubject:
            raise web.HTTPNotFound(text="No such silence.") from None
        except LifecycleError as error:
            return await self.silences(request, error=str(error), status=409)
        raise web.HTTPSeeOther("/ui/silences")


def _cookie(request: web.Request, response: web.StreamResponse, name: str, value: str, *, max_age: int) -> None:
    """HttpOnly, SameSite=Strict, and Secure when the browser reached us over https (the proxy says so)."""
    secure = request.secure or request.headers.get("X-Forwarded-Proto", "").lower() == "https"
    response.set_cookie(name, value, max_age=max_age, path="/ui/", httponly=True, samesite="Strict", secure=secure)
