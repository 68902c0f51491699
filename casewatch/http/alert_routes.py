"""Route module: alert lifecycle, silences and notifications (casewatch/delivery/api.py) under /v1.

Behind the same authentication as ingest (casewatch/http_auth.py decides by role); the
handlers and their rules are delivery's, this module only mounts them and documents them.
"""

from typing import Any

from aiohttp import web
from prometheus_client import CollectorRegistry

from casewatch.delivery.api import routes
from casewatch.delivery.lifecycle import MAX_NOTE_CHARS
from casewatch.http.openapi import Fragment
from casewatch.http_auth import ACCESS
from casewatch.settings import Settings
from casewatch.storage import connect

PREFIX = "/v1"


def install(app: web.Application, settings: Settings, registry: CollectorRegistry) -> None:
    access = app[ACCESS]
    app.add_routes(routes(connect(settings.database_url), prefix=PREFIX, outcomes=access.limits.outcomes,
                          max_silence_days=access.limits.max_silence_days))  # fmt: skip


def _operation(summary: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "summary": summary,
        "responses": {
            "200": {"description": "done; the JSON result"},
            "400": {"description": "invalid input"},
            "401": {"description": "no valid bearer token"},
            "403": {"description": "the token's roles do not allow the route, or the alert is of another team"},
            "404": {"description": "unknown alert, silence or notification"},
            "409": {"description": "the current state forbids the change"},
        },
    }
    if body is not None:
        operation["requestBody"] = {"required": True, "content": {"application/json": {"schema": body}}}
    return operation


def _body(*, optional: dict[str, Any] | None = None, **required: Any) -> dict[str, Any]:
    """A JSON object of these fields and no other; the audit log names the token's identity, not a field."""
    return {"type": "object", "required": list(required), "properties": required | (optional or {}),
            "additionalProperties": False}  # fmt: skip


def _with_path_parameters(paths: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Declare each {name} of a path as a required string parameter."""
    for path, item in paths.items():
        names = [part[1:-1] for part in path.split("/") if part.startswith("{")]
        if names:
            item["parameters"] = [
                {"name": n, "in": "path", "required": True, "schema": {"type": "string"}} for n in names
            ]
    return paths


def openapi() -> Fragment:
    alert = f"{PREFIX}/alerts/{{alert_id}}"
    return {
        "paths": _with_path_parameters(
            {
                f"{alert}/ack": {"post": _operation("Acknowledge an alert: someone is on it.", _body())},
                f"{alert}/assign": {"post": _operation("Assign an alert to someone.", _body(to={"type": "string"}))},
                f"{alert}/resolve": {
                    "post": _operation(
                        "Resolve an alert: dealt with, with an outcome from the configured list.",
                        _body(
                            outcome={"type": "string"},
                            optional={
                                "note": {
                                    "type": "string",
                                    "maxLength": MAX_NOTE_CHARS,
                                    "description": "stays in the database, never sent",
                                }
                            },
                        ),
                    )
                },
                f"{alert}/history": {"get": _operation("Who did what to the alert, and when.")},
                f"{PREFIX}/silences": {
                    "get": _operation("Active and future silences (?all=true for ended ones too)."),
                    "post": _operation(
                        "Mute alerts matching labels until an expiry.",
                        _body(
                            matchers={"type": "array", "items": {"type": "string"}, "minItems": 1},
                            optional={
                                "duration": {"type": "string", "description": "30m, 2h, 1d"},
                                "ends_at": {"type": "string", "format": "date-time"},
                                "comment": {"type": "string"},
                            },
                        ),
                    ),
                },
                f"{PREFIX}/silences/{{id}}": {"delete": _operation("End a silence now.")},
                f"{PREFIX}/notifications": {
                    "get": _operation("Notifications, newest first (?status=failed&limit=50).")
                },
                f"{PREFIX}/notifications/{{id}}/resend": {"post": _operation("Resend a notification.", _body())},
            }
        )
    }
