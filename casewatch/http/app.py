"""The HTTP API and the managers' page as one aiohttp application, and `casewatch serve` to run it.

The application is authentication and roles (casewatch.http_auth), security headers,
health, metrics, the OpenAPI document, and the route modules. A route module is a Python
module with `install(app, settings, registry)` and `openapi()`; adding one is one more
entry in ROUTE_MODULES (and its routes' rows in http_auth.ROUTE_PERMISSIONS).
"""

import secrets
import sys
from collections.abc import Sequence
from typing import Protocol

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest

from casewatch.access import MIN_TOKEN_CHARS
from casewatch.config_file import load_access
from casewatch.http import alert_routes, erasure_routes, ingest, openapi, web_routes
from casewatch.http.body_deadline import body_deadline
from casewatch.http.headers import security_headers
from casewatch.http.sessions import Sessions
from casewatch.http.signed_out import SignedOut
from casewatch.http_auth import ACCESS, SESSIONS, SIGNED_OUT, authenticate
from casewatch.settings import Settings, SettingsError
from casewatch.storage import connect


class RouteModule(Protocol):
    def install(self, app: web.Application, settings: Settings, registry: CollectorRegistry) -> None: ...

    def openapi(self) -> openapi.Fragment: ...


ROUTE_MODULES: tuple[RouteModule, ...] = (ingest, alert_routes, erasure_routes, web_routes)


def create_app(
    settings: Settings, *, registry: CollectorRegistry, modules: Sequence[RouteModule] = ROUTE_MODULES
) -> web.Application:
    """The application for `settings`; metrics go to `registry` (tests pass a fresh one)."""
    short = sum(len(token) < MIN_TOKEN_CHARS for token in settings.api_tokens)
    if short:
        raise SettingsError(
            f"CASEWATCH_API_TOKENS: {short} of the tokens are shorter than {MIN_TOKEN_CHARS} characters "
            "(a short token can be guessed; use e.g. `openssl rand -hex 32`)"
        )
    access = load_access(settings)
    if not access.tokens and access.proxy is None:
        raise SettingsError(
            "CASEWATCH_API_TOKENS is not set and the configuration file gives no access.tokens: the HTTP API does "
            "not start without at least one bearer token (use long random values, e.g. `openssl rand -hex 32`)"
        )
    if settings.session_key is not None and len(settings.session_key) < MIN_TOKEN_CHARS:
        raise SettingsError(f"CASEWATCH_SESSION_KEY must be at least {MIN_TOKEN_CHARS} characters")
    key = settings.session_key.encode() if settings.session_key else secrets.token_bytes(32)
    sessions = Sessions(key, hours=access.limits.session_hours)
    signed_out = SignedOut(connect(settings.database_url))
    # client_max_size bounds what any route reads with request.read()/json(); ingest counts its own.
    app = web.Application(
        middlewares=[
            security_headers,
            authenticate(access, sessions, signed_out),
            body_deadline(settings.body_timeout_seconds),
        ],
        client_max_size=settings.max_body_bytes,
    )
    app[ACCESS], app[SESSIONS], app[SIGNED_OUT] = access, sessions, signed_out
    for module in modules:
        module.install(app, settings, registry)
    document = openapi.document(module.openapi() for module in modules)

    async def openapi_json(_: web.Request) -> web.Response:
        return web.json_response(document)

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def metrics(_: web.Request) -> web.Response:
        return web.Response(body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app.router.add_get("/openapi.json", openapi_json)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    return app


def serve(settings: Settings) -> int:
    """Run the HTTP API until SIGINT or SIGTERM (then in-flight batches finish and the producer flushes)."""
    app = create_app(settings, registry=REGISTRY)
    print(
        f"casewatch: HTTP API on http://{settings.http_host}:{settings.http_port} "
        f"(POST {ingest.PATH}, alerts and silences under {alert_routes.PREFIX}, GET /openapi.json); "
        f"the page at http://{settings.http_host}:{settings.http_port}{web_routes.HOME}",
        file=sys.stderr,
        flush=True,
    )
    web.run_app(app, host=settings.http_host, port=settings.http_port, print=None)
    return 0
