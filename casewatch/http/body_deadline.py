"""A request body must arrive within a time limit, or the request is ended with 408.

aiohttp times out idle keep-alive connections but not a body trickled in a byte at a time:
an authenticated client could hold a connection (and a handler) open for ever. The deadline
covers reading the body only: once it has all arrived, the handler may take as long as its
work needs (publishing to Kafka, for one).
"""

import asyncio

from aiohttp import web
from aiohttp.typedefs import Middleware

from casewatch.http_auth import Handler


def body_deadline(seconds: float) -> Middleware:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.body_exists:
            return await handler(request)
        task = asyncio.current_task()
        assert task is not None
        expired = False

        def expire() -> None:
            nonlocal expired
            if not request.content.at_eof():
                expired = True
                task.cancel()

        timer = asyncio.get_running_loop().call_later(seconds, expire)
        try:
            return await handler(request)
        except asyncio.CancelledError:
            if not expired:
                raise
            task.uncancel()
            raise web.HTTPRequestTimeout(
                text=f'{{"error": "the request body did not arrive within {seconds:g} seconds"}}',
                content_type="application/json",
            ) from None
        finally:
            timer.cancel()

    return middleware
