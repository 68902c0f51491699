"""Route module: `DELETE /v1/children/{child_id}` erases a child (casewatch/erasure.py).

Admin only (casewatch/http_auth.py); the audit log names the admin's identity. The route
answers 503 while CASEWATCH_ERASURE_KEY is not set, since the audit entry needs it.
"""

import asyncio
import functools
import json
from datetime import UTC, datetime

from aiohttp import web
from prometheus_client import CollectorRegistry

from casewatch.delivery.lifecycle import LifecycleError
from casewatch.erasure import erase_child
from casewatch.http.openapi import Fragment
from casewatch.http_auth import identity_of
from casewatch.settings import Settings, SettingsError
from casewatch.storage import connect

PATH = "/v1/children/{child_id}"


def install(app: web.Application, settings: Settings, registry: CollectorRegistry) -> None:
    engine = connect(settings.database_url)

    async def erase(request: web.Request) -> web.Response:
        child_id, actor = request.match_info["child_id"], identity_of(request).name
        job = functools.partial(erase_child, settings, child_id, actor=actor, now=datetime.now(UTC), engine=engine)
        try:
            done = await asyncio.get_running_loop().run_in_executor(None, job)
        except SettingsError as error:
            return _answer(503, {"error": str(error)})
        except (LifecycleError, ValueError) as error:
            return _answer(400, {"error": str(error)})
        return _answer(200, {"erased": done.subject, "alerts": done.alerts, "notifications": done.notifications,
                             "audit_rows": done.audit_rows, "timeline_events": done.timeline_events,
                             "tombstones": done.tombstones})  # fmt: skip

    app.router.add_delete(PATH, erase)


def _answer(status: int, body: dict[str, object]) -> web.Response:
    return web.Response(status=status, text=json.dumps(body), content_type="application/json")


def openapi() -> Fragment:
    return {
        "paths": {
            PATH: {
                "parameters": [{"name": "child_id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "delete": {
                    "summary": "Erase a child: state in the workers and changelog, alerts, notifications, timeline "
                    "(admin). The audit log names the admin, and the child by a keyed hash.",
                    "responses": {
                        "200": {"description": "erased; counts of what was removed"},
                        "400": {"description": "invalid child ID or actor"},
                        "401": {"description": "no valid bearer token"},
                        "403": {"description": "the token is not an admin's"},
                        "503": {"description": "erasure is not configured (CASEWATCH_ERASURE_KEY)"},
                    },
                },
            }
        }
    }
