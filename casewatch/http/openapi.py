"""The OpenAPI 3.1 document: a base (authentication, health, metrics) plus each route module's part.

The event schemas are the exported wire contracts (schemas.export), moved under
`components` so that the document stands alone in any OpenAPI tool.
"""

import json
from collections.abc import Iterable, Mapping
from typing import Any

from casewatch import __version__
from schemas.events import EVENT_SCHEMA_VERSION
from schemas.export import schemas

# What a route module contributes: {"paths": {...}, "components": {"schemas": {...}}}.
Fragment = Mapping[str, Any]

COMPONENTS = "#/components/schemas/"


def ref(name: str) -> dict[str, str]:
    return {"$ref": COMPONENTS + name}


def json_content(schema: Mapping[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": dict(schema)}}


def error_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": json_content(ref("Error"))}


def event_schemas() -> dict[str, Any]:
    """`CaseEvent` (any event, told apart by event_type) and each event record, as components."""
    union = schemas()[f"case-event.v{EVENT_SCHEMA_VERSION}.schema.json"]
    # The exported file keeps the records under $defs and refers to them as "#/$defs/Name"
    # (in $ref and in the discriminator's mapping); moved under components, so do the references.
    moved: dict[str, Any] = json.loads(json.dumps(union).replace('"#/$defs/', f'"{COMPONENTS}'))
    components: dict[str, Any] = moved.pop("$defs")
    for key in ("$schema", "$id"):
        moved.pop(key, None)
    components["CaseEvent"] = moved
    return components


def document(fragments: Iterable[Fragment]) -> dict[str, Any]:
    """The whole document; two modules claiming the same path, or different schemas under one name, fail."""
    doc: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "casewatch HTTP API",
            "version": __version__,
            "description": (
                "Live case-system events into casewatch. Every path except /healthz and /openapi.json "
                "needs `Authorization: Bearer <token>` with a configured token, whose roles decide the routes it may "
                "call (docs/http-api.md: the role matrix). "
                f"Event contracts: JSON Schema files case-event.v{EVENT_SCHEMA_VERSION}.schema.json and one "
                "per event type, reproduced here under components."
            ),
        },
        "security": [{"bearer": []}],
        "paths": {
            "/healthz": {
                "get": {
                    "summary": "Liveness: the server answers. Kafka is checked by each POST (503 when unreachable).",
                    "security": [],
                    "responses": {"200": {"description": "Up.", "content": json_content(ref("Health"))}},
                }
            },
            "/openapi.json": {
                "get": {
                    "summary": "This document.",
                    "security": [],
                    "responses": {"200": {"description": "OpenAPI 3.1 document.", "content": json_content({})}},
                }
            },
            "/metrics": {
                "get": {
                    "summary": "Prometheus metrics of this server (counts only, never event data).",
                    "responses": {
                        "200": {"description": "Prometheus text format.", "content": {"text/plain": {"schema": {}}}},
                        "401": error_response("No valid bearer token."),
                    },
                }
            },
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {"error": {"type": "string", "description": "What was wrong, never the data."}},
                },
                "Health": {"type": "object", "required": ["status"], "properties": {"status": {"const": "ok"}}},
            },
        },
    }
    for fragment in fragments:
        for path, item in fragment.get("paths", {}).items():
            if path in doc["paths"]:
                raise ValueError(f"two route modules declare {path}")
            doc["paths"][path] = item
        for name, schema in fragment.get("components", {}).get("schemas", {}).items():
            if doc["components"]["schemas"].setdefault(name, schema) != schema:
                raise ValueError(f"two route modules declare different schemas named {name}")
    return doc
