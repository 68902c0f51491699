"""Bearer-token authentication for casewatch's HTTP endpoints (aiohttp middleware).

Tokens come from settings; each request's token is compared in constant time against
every configured token, so timing reveals neither which token nor how much matched.
"""

import hmac
from collections.abc import Awaitable, Callable, Iterable

from aiohttp import web
from aiohttp.typedefs import Middleware

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# Paths anyone may read: documentation and health, never data.
PUBLIC_PATHS = frozenset({"/openapi.json", "/healthz"})


def token_matches(presented: str, tokens: Iterable[str]) -> bool:
    """True when `presented` equals one of `tokens`; every token is compared, always."""
    candidate = presented.encode()
    found = False
    for token in tokens:
        found |= hmac.compare_digest(candidate, token.encode())
    return found


def bearer_auth(tokens: frozenset[str]) -> Middleware:
    """Middleware answering 401 (with WWW-Authenticate) unless a configured token is presented."""
    if not tokens:
        raise ValueError("at least one API token must be configured")

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in PUBLIC_PATHS:
            return await handler(request)
        scheme, _, presented = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token_matches(presented.strip(), tokens):
            raise web.HTTPUnauthorized(
                text='{"error": "a valid bearer token is required"}',
                content_type="application/json",
                headers={"WWW-Authenticate": 'Bearer realm="casewatch"'},
            )
        return await handler(request)

    return middleware
