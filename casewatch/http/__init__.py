"""casewatch's HTTP server (aiohttp): live event ingest, alert lifecycle and silences, erasure, and
the managers' page (`web_routes`, templates and static files beside it).

`app` builds the application from settings and the route modules; each route module
(`ingest`, ...) installs its routes and contributes its part of the OpenAPI document.
"""
