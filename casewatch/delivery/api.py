"""HTTP routes for alert lifecycle, silences and notifications (aiohttp).

`routes(engine)` returns route definitions for the casewatch HTTP app to add behind its
authentication middleware (casewatch/http_auth.py), which decides by role who may call
which route and leaves the identity on the request. The audit log names that identity:
no body names its actor. A manager acts on the alerts of their teams only (403 for
another team's). Bodies are JSON, validated strictly; errors are JSON `{"error": ...}`:
400 bad input, 403 another team's alert, 404 unknown subject, 409 a state that forbids
the change. Database work runs in a thread, off the event loop.

    POST   /alerts/{alert_id}/ack        {}
    POST   /alerts/{alert_id}/assign     {"to": "social.worker"}
    POST   /alerts/{alert_id}/resolve    {"outcome": "data error", "note": "optional, stays here"}
    GET    /alerts/{alert_id}/history
    GET    /silences[?all=true]
    POST   /silences                     {"matchers": ["team=CIN East"], "duration": "2h"}
    DELETE /silences/{id}
    GET    /notifications[?status=failed&limit=50]
    POST   /notifications/{id}/resend    {}
"""

import asyncio
import functools
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Annotated, Any, TypeVar

from aiohttp import web
from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from sqlalchemy import Engine

from casewatch.access import DEFAULT_MAX_SILENCE_DAYS, DEFAULT_OUTCOMES
from casewatch.delivery import lifecycle, outbox, silences
from casewatch.delivery.config import parse_duration
from casewatch.delivery.dispatcher import Clock, utc_now
from casewatch.delivery.lifecycle import Action, Conflict, LifecycleError, OtherTeam, UnknownSubject
from casewatch.http_auth import identity_of

T = TypeVar("T")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


B = TypeVar("B", bound=_Body)


class _Assign(_Body):
    to: str


class _Resolve(_Body):
    outcome: str = Field(description="One of the configured outcomes (GET /openapi.json lists the defaults).")
    note: str | None = Field(None, max_length=lifecycle.MAX_NOTE_CHARS, description="Stays in the database.")


# Longer than this is not a silence but a switch-off; it also keeps `now + duration` in range.
MAX_SILENCE = timedelta(days=366)
# Row ids are 64-bit signed integers in every database casewatch supports.
MAX_ID = 2**63 - 1


def _silence_length(value: object) -> timedelta:
    try:
        length = parse_duration(value)
    except OverflowError:  # 999999999999d does not fit a timedelta
        length = MAX_SILENCE * 2
    if length > MAX_SILENCE:
        raise ValueError(f"must be at most {MAX_SILENCE.days}d")
    return length


class _NewSilence(_Body):
    matchers: list[str] = Field(min_length=1)
    duration: Annotated[timedelta, BeforeValidator(_silence_length)] | None = None
    ends_at: AwareDatetime | None = Field(None, description="With its timezone, e.g. 2026-12-01T17:00:00Z.")
    comment: str | None = None


def routes(
    engine: Engine,
    *,
    prefix: str = "",
    clock: Clock = utc_now,
    outcomes: Sequence[str] = DEFAULT_OUTCOMES,
    max_silence_days: int = DEFAULT_MAX_SILENCE_DAYS,
) -> list[web.RouteDef]:
    async def run(work: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(None, work)

    def change(action: Action) -> Handler:
        models: dict[str, type[_Body]] = {"assign": _Assign, "resolve": _Resolve}
        model = models.get(action, _Body)

        async def handler(request: web.Request) -> web.StreamResponse:
            body: _Body = await _parse(request, model)
            identity = identity_of(request)
            work = functools.partial(
                lifecycle.change, engine, request.match_info["alert_id"], action, actor=identity.name, now=clock(),
                assignee=getattr(body, "to", None), outcome=getattr(body, "outcome", None),
                note=getattr(body, "note", None), teams=identity.teams_for("act"), outcomes=outcomes,
            )  # fmt: skip
            return _json(asdict(await run(work)))

        return handler

    async def history(request: web.Request) -> web.StreamResponse:
        alert_id, teams = request.match_info["alert_id"], identity_of(request).teams_for("read")
        entries = await run(functools.partial(lifecycle.scoped_audit_trail, engine, alert_id, teams=teams))
        return _json({"entries": [asdict(e) for e in entries]})

    async def list_silences(request: web.Request) -> web.StreamResponse:
        now = clock()
        work = functools.partial(
            silences.list_silences, engine, include_ended=request.query.get("all") == "true", now=now
        )
        return _json({"silences": [_silence(row, now) for row in await run(work)]})

    async def add_silence(request: web.Request) -> web.StreamResponse:
        body = await _parse(request, _NewSilence)
        now = clock()
        if (body.duration is None) == (body.ends_at is None):
            raise _error(web.HTTPBadRequest, "give exactly one of duration and ends_at")
        ends_at = now + (body.duration or timedelta(0)) if body.ends_at is None else body.ends_at
        work = functools.partial(silences.add_silence, engine, body.matchers, ends_at=ends_at,
                                 actor=identity_of(request).name, now=now, comment=body.comment,
                                 max_days=max_silence_days)  # fmt: skip
        row = await run(work)
        return _json(_silence(row, now), status=201, headers={"Location": f"{prefix}/silences/{row.id}"})

    async def remove_silence(request: web.Request) -> web.StreamResponse:
        work = functools.partial(silences.remove_silence, engine, _id(request), actor=identity_of(request).name,
                                 now=clock())  # fmt: skip
        return _json(_silence(await run(work), clock()))

    async def list_notifications(request: web.Request) -> web.StreamResponse:
        status = request.query.get("status")
        if status is not None and status not in ("pending", "sending", "sent", "failed", "muted"):
            raise _error(web.HTTPBadRequest, "status must be pending, sending, sent, failed or muted")
        limit = _int(request.query.get("limit", "50"), "limit")
        work = functools.partial(outbox.list_notifications, engine, status=status, limit=min(limit, 1000))
        return _json({"notifications": [asdict(n) for n in await run(work)]})

    async def resend(request: web.Request) -> web.StreamResponse:
        await _parse(request, _Body)
        work = functools.partial(lifecycle.resend_notification, engine, _id(request), actor=identity_of(request).name,
                                 now=clock())  # fmt: skip
        await run(work)
        return _json({"id": _id(request), "status": "pending"})

    return [
        web.post(f"{prefix}/alerts/{{alert_id}}/ack", _guard(change("acknowledge"))),
        web.post(f"{prefix}/alerts/{{alert_id}}/assign", _guard(change("assign"))),
        web.post(f"{prefix}/alerts/{{alert_id}}/resolve", _guard(change("resolve"))),
        web.get(f"{prefix}/alerts/{{alert_id}}/history", _guard(history)),
        web.get(f"{prefix}/silences", _guard(list_silences)),
        web.post(f"{prefix}/silences", _guard(add_silence)),
        web.delete(f"{prefix}/silences/{{id}}", _guard(remove_silence)),
        web.get(f"{prefix}/notifications", _guard(list_notifications)),
        web.post(f"{prefix}/notifications/{{id}}/resend", _guard(resend)),
    ]


def _guard(handler: Handler) -> Handler:
    """Lifecycle errors as HTTP answers: 404 unknown, 409 conflicting state, 400 otherwise."""

    @functools.wraps(handler)
    async def guarded(request: web.Request) -> web.StreamResponse:
        try:
            return await handler(request)
        except UnknownSubject as error:
            raise _error(web.HTTPNotFound, str(error)) from None
        except OtherTeam as error:
            raise _error(web.HTTPForbidden, str(error)) from None
        except Conflict as error:
            raise _error(web.HTTPConflict, str(error)) from None
        except LifecycleError as error:
            raise _error(web.HTTPBadRequest, str(error)) from None

    return guarded


async def _parse(request: web.Request, model: type[B]) -> B:
    try:
        document = json.loads(await request.read())
    except (ValueError, RecursionError):  # not UTF-8, not JSON, or nested too deeply to read
        raise _error(web.HTTPBadRequest, "the body must be a JSON object in UTF-8") from None
    try:
        return model.model_validate(document)
    except ValidationError as error:  # names known fields only, never a value or an unknown key
        raise _error(web.HTTPBadRequest, _problems(error, model)) from None


def _problems(error: ValidationError, model: type[BaseModel]) -> str:
    problems = []
    for item in error.errors(include_input=False, include_url=False):
        if item["type"] == "extra_forbidden" and item["loc"] == ("by",):
            problems.append("by: the audit log names the signed-in identity (the token's name); leave `by` out")
            continue
        if item["type"] == "extra_forbidden":
            problems.append("body: has a field this route does not take (its name is not shown)")
            continue
        where = ".".join(str(p) if isinstance(p, int) or p in model.model_fields else "(field)" for p in item["loc"])
        problems.append(f"{where or 'body'}: {item['msg']}")
    return "; ".join(dict.fromkeys(problems))


def _id(request: web.Request) -> int:
    return _int(request.match_info["id"], "id")


def _int(text: str, name: str) -> int:
    # ASCII digits only: str.isdigit() accepts '²', which int() then refuses.
    if not (text.isascii() and text.isdigit() and len(text) <= 19) or not 1 <= int(text) <= MAX_ID:
        raise _error(web.HTTPBadRequest, f"{name} must be a whole number from 1 to {MAX_ID}")
    return int(text)


def _silence(row: silences.SilenceRow, now: datetime) -> dict[str, Any]:
    return asdict(row) | {"matchers": [str(m) for m in row.matchers], "state": row.state(now)}


def _json(value: Any, *, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(value, status=status, headers=headers, dumps=lambda v: json.dumps(v, default=_iso))


def _iso(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")


def _error(kind: type[web.HTTPException], message: str) -> web.HTTPException:
    return kind(text=json.dumps({"error": message}), content_type="application/json")
