"""casewatch's HTTP API (aiohttp): live event ingest now; alert lifecycle and silences plug in beside it.

`app` builds the application from settings and the route modules; each route module
(`ingest`, ...) installs its routes and contributes its part of the OpenAPI document.
"""
