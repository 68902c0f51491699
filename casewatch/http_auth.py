"""Authentication and the role check for every route of `casewatch serve` (aiohttp middleware).

Who: the API (/v1, /metrics) knows bearer tokens only; the page (/ui) knows a person signed
in through the trusted proxy's headers, or a page session (casewatch/http/sessions.py).
What: ROUTE_PERMISSIONS names the permission of every route (casewatch.access grants them
to roles), and docs/http-api.md shows the same table by role; a test holds the two and the
server to each other. A route missing from the table is refused to everyone. Which team:
handlers check that themselves, with the identity this middleware leaves on the request.
"""

import json
from collections.abc import Awaitable, Callable

from aiohttp import web
from aiohttp.typedefs import Middleware

from casewatch.access import GRANTS, ROLES, Access, Identity, Permission
from casewatch.http.sessions import COOKIE, Session, Sessions
from casewatch.http.signed_out import SignedOut

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# Paths anyone may read: documentation, health, the sign-in page and the page's style; never data.
PUBLIC_PATHS = frozenset({"/openapi.json", "/healthz", "/", "/ui/sign-in"})
PUBLIC_PREFIXES = ("/ui/static/",)
WEB_PREFIX = "/ui/"
ACCESS = web.AppKey("access", Access)
SESSIONS = web.AppKey("sessions", Sessions)
SIGNED_OUT = web.AppKey("signed_out", SignedOut)
IDENTITY = web.RequestKey("identity", Identity)
CSRF_SEED = web.RequestKey("csrf_seed", str)  # what the forms' CSRF tokens of this sign-in derive from
SESSION = web.RequestKey("session", Session)  # the page session of this request, if it came with one

ROUTE_PERMISSIONS: dict[tuple[str, str], Permission] = {
    ("POST", "/v1/events"): "ingest",
    ("GET", "/metrics"): "metrics",
    ("GET", "/v1/alerts/{alert_id}/history"): "read",
    ("POST", "/v1/alerts/{alert_id}/ack"): "act",
    ("POST", "/v1/alerts/{alert_id}/assign"): "act",
    ("POST", "/v1/alerts/{alert_id}/resolve"): "act",
    ("GET", "/v1/silences"): "admin",
    ("POST", "/v1/silences"): "admin",
    ("DELETE", "/v1/silences/{id}"): "admin",
    ("GET", "/v1/notifications"): "admin",
    ("POST", "/v1/notifications/{id}/resend"): "admin",
    ("DELETE", "/v1/children/{child_id}"): "admin",
    ("GET", "/ui/worklist"): "read",
    ("GET", "/ui/children/{child_id}"): "read",
    ("GET", "/ui/alerts/{alert_id}"): "read",
    ("POST", "/ui/alerts/{alert_id}/ack"): "act",
    ("POST", "/ui/alerts/{alert_id}/assign"): "act",
    ("POST", "/ui/alerts/{alert_id}/resolve"): "act",
    ("GET", "/ui/silences"): "admin",
    ("POST", "/ui/silences"): "admin",
    ("POST", "/ui/silences/{id}/end"): "admin",
    ("POST", "/ui/sign-out"): "read",
}


def identity_of(request: web.Request) -> Identity:
    """The authenticated identity of a request that passed the middleware."""
    return request[IDENTITY]


def roles_with(permission: Permission) -> str:
    return " or ".join(role for role in ROLES if permission in GRANTS[role])


def permission_of(request: web.Request) -> Permission | None:
    resource = request.match_info.route.resource
    if resource is None:
        return None
    method = "GET" if request.method == "HEAD" else request.method
    return ROUTE_PERMISSIONS.get((method, resource.canonical))


def bearer_identity(request: web.Request, access: Access) -> Identity | None:
    scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
    return access.by_token(presented.strip()) if scheme.lower() == "bearer" else None


def authenticate(access: Access, sessions: Sessions, signed_out: SignedOut) -> Middleware:
    """401 without an identity (the page: to the sign-in), 403 when its roles lack the route's permission.

    A page session counts only if it has not been signed out (`signed_out`, in the database)."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in PUBLIC_PATHS or request.path.startswith(PUBLIC_PREFIXES):
            return await handler(request)
        page = request.path.startswith(WEB_PREFIX)
        identity, seed, session = None, None, None
        if page:
            if access.proxy is not None:
                identity = access.proxy.identity(request.remote, request.headers)
                seed = None if identity is None else f"proxy:{identity.name}"
            if identity is None and (session := sessions.read(request.cookies.get(COOKIE, ""))) is not None:
                if await signed_out.contains(session.nonce):
                    session = None  # a copy of a cookie whose holder has signed out
                else:
                    identity, seed = access.by_name(session.name), session.nonce
        else:
            identity = bearer_identity(request, access)
        if identity is None:
            if page:
                raise web.HTTPSeeOther("/ui/sign-in")
            raise web.HTTPUnauthorized(
                text='{"error": "a valid bearer token is required"}',
                content_type="application/json",
                headers={"WWW-Authenticate": 'Bearer realm="casewatch"'},
            )
        if request.match_info.http_exception is not None:
            raise request.match_info.http_exception  # no such route (404) or method (405), said once authenticated
        permission = permission_of(request)
        if permission is None or not identity.may(permission):
            roles = ", ".join(sorted(identity.roles))
            needs = "a role (it is in no role's table)" if permission is None else f"the role {roles_with(permission)}"
            message = f"{identity.name} (roles: {roles}) may not use this route: it needs {needs}"
            if page:
                raise web.HTTPForbidden(text=message)
            raise web.HTTPForbidden(text=json.dumps({"error": message}), content_type="application/json")
        request[IDENTITY] = identity
        if seed is not None:
            request[CSRF_SEED] = seed
        if session is not None:
            request[SESSION] = session
        return await handler(request)

    return middleware
