"""Security headers on every answer of `casewatch serve`, the page's above all.

The page loads nothing from elsewhere: its style sheet and script are served here, so
the Content-Security-Policy allows this origin only, no inline script, no framing, and
forms that post back here only. Nothing is cached: pages name children.
"""

from aiohttp import web

from casewatch.http_auth import Handler

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as error:  # a refusal or redirect carries the headers too
        error.headers.update(HEADERS)
        raise
    response.headers.update(HEADERS)
    return response
