"""The HTTP application itself: its settings, its OpenAPI document, and constant-time token checks.

The ingest path against the real broker is in tests/integration/test_http_ingest.py.
"""

import asyncio
import hmac
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import aiohttp
import jsonschema
import pytest
from aiohttp.test_utils import TestServer
from openapi_spec_validator import validate
from prometheus_client import CollectorRegistry
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from casewatch.http.app import create_app
from casewatch.http.openapi import document, event_schemas
from casewatch.settings import Settings, SettingsError
from schemas.events import EVENT_TYPE_NAMES, Plan, PlanOutcome, Referral

TOKENS = frozenset({"s3cret-token-one-0123456789abcdef", "another-token-two-0123456789abcdef"})
# Kafka is never contacted by these tests: nothing here reaches the point of publishing.
SETTINGS = Settings(
    bootstrap_servers="127.0.0.1:9",
    api_tokens=TOKENS,
    database_url=f"sqlite:///{tempfile.mkdtemp(prefix='casewatch-http-')}/alerts.db",
)
T = datetime(2024, 3, 1, 9, tzinfo=UTC)


def openapi_document() -> dict[str, Any]:
    async def fetch(server: TestServer) -> dict[str, Any]:
        async with aiohttp.ClientSession() as session, session.get(server.make_url("/openapi.json")) as response:
            assert response.status == 200
            return dict(await response.json())

    return run_app(fetch)


def run_app(scenario: Callable[[TestServer], Any], settings: Settings = SETTINGS) -> Any:
    """Run `scenario` against the app served on a real TCP port of 127.0.0.1."""

    async def main() -> Any:
        server = TestServer(create_app(settings, registry=CollectorRegistry()), host="127.0.0.1")
        await server.start_server()
        try:
            return await scenario(server)
        finally:
            await server.close()

    return asyncio.run(main())


def test_the_served_openapi_document_is_valid_openapi_3_1_with_the_ingest_path() -> None:
    spec = openapi_document()
    validate(spec)  # raises on anything the OpenAPI 3.1 specification does not allow
    assert spec["openapi"].startswith("3.1")
    post = spec["paths"]["/v1/events"]["post"]
    assert set(post["requestBody"]["content"]) == {"application/json", "application/x-ndjson"}
    assert set(post["responses"]) == {"200", "400", "401", "413", "415", "503"}
    assert spec["paths"]["/healthz"]["get"]["security"] == []


def test_the_documented_event_schema_accepts_real_events_and_refuses_extra_fields() -> None:
    spec = openapi_document()
    # OpenAPI 3.1 schemas are JSON Schema 2020-12: validate against the document's own component.
    registry: Registry[Any] = Registry().with_resource("urn:casewatch:openapi", DRAFT202012.create_resource(spec))
    validator = jsonschema.Draft202012Validator(
        {"$ref": "urn:casewatch:openapi#/components/schemas/CaseEvent"}, registry=registry
    )
    plan = Plan(
        event_id="lcs:p-1", child_id="C1", occurred_at=T, recorded_at=T, team="CP", source="lcs", plan_id="p-1",
        plan_type="cp", action="started", categories=["NEG"],
        outcomes=[PlanOutcome(outcome_id="o1", has_measure=True, has_owner=False)],
    )  # fmt: skip
    referral = Referral(event_id="lcs:r-1", child_id="C1", occurred_at=T, recorded_at=T, team="FD", source="lcs")
    for event in (plan, referral):
        validator.validate(json.loads(event.model_dump_json()))
    with pytest.raises(jsonschema.ValidationError):
        validator.validate({**json.loads(referral.model_dump_json()), "name": "Jane Smith"})


def test_the_document_carries_every_event_type_from_the_exported_schemas() -> None:
    components = event_schemas()
    union = components["CaseEvent"]
    assert set(union["discriminator"]["mapping"]) == EVENT_TYPE_NAMES
    for target in union["discriminator"]["mapping"].values():
        assert target.removeprefix("#/components/schemas/") in components
    assert "$defs" not in json.dumps(components)


def test_two_modules_claiming_one_path_is_an_error() -> None:
    fragment = {"paths": {"/v1/x": {}}}
    with pytest.raises(ValueError, match="two route modules declare /v1/x"):
        document([fragment, fragment])


def test_the_app_refuses_to_start_without_tokens_or_kafka() -> None:
    with pytest.raises(SettingsError, match="CASEWATCH_API_TOKENS is not set"):
        create_app(Settings(bootstrap_servers="127.0.0.1:9"), registry=CollectorRegistry())
    with pytest.raises(SettingsError, match="KAFKA_BOOTSTRAP_SERVERS is not set"):
        create_app(Settings(api_tokens=TOKENS), registry=CollectorRegistry())


def test_a_wrong_token_of_the_right_length_is_refused_by_constant_time_comparison(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    wrong = "s3cret-token-one-0123456789abcdeX"  # as long as a real token, differing only in its last character
    assert len(wrong) == len("s3cret-token-one-0123456789abcdef")

    async def scenario(server: TestServer) -> tuple[int, str | None]:
        headers = {"Authorization": f"Bearer {wrong}", "Content-Type": "application/json"}
        async with (
            aiohttp.ClientSession() as session,
            session.post(server.make_url("/v1/events"), data=b"[]", headers=headers) as response,
        ):
            return response.status, response.headers.get("WWW-Authenticate")

    status, challenge = run_app(scenario)
    assert status == 401
    assert challenge == 'Bearer realm="casewatch"'
    # Every configured token was compared with hmac.compare_digest, none with ==.
    assert sorted(compared) == sorted((wrong.encode(), token.encode()) for token in TOKENS)


def test_max_body_bytes_setting() -> None:
    assert Settings.from_env({}).max_body_bytes == 1024 * 1024
    assert Settings.from_env({"CASEWATCH_MAX_BODY_BYTES": "2048"}).max_body_bytes == 2048
    with pytest.raises(SettingsError, match="CASEWATCH_MAX_BODY_BYTES must be at least 1"):
        Settings.from_env({"CASEWATCH_MAX_BODY_BYTES": "0"})


def test_casewatch_serve_without_tokens_exits_with_a_clear_message() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CASEWATCH_", "KAFKA_"))}
    env["KAFKA_BOOTSTRAP_SERVERS"] = "127.0.0.1:9"
    done = subprocess.run(
        [sys.executable, "-m", "casewatch", "serve"], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert "CASEWATCH_API_TOKENS is not set" in done.stderr


def test_a_token_of_casewatch_api_tokens_may_post_and_be_scraped_but_not_touch_alerts() -> None:
    """Today's configuration keeps working for what it served (the feed, the scraper), and no more."""

    async def scenario(server: TestServer) -> list[tuple[int, str]]:
        url = server.make_url("/v1/alerts/0123456789abcdef0123456789abcdef/ack")
        headers = {"Authorization": "Bearer s3cret-token-one-0123456789abcdef"}
        found = []
        async with aiohttp.ClientSession() as session:
            for method, target in (("POST", url), ("GET", server.make_url("/v1/silences")),
                                   ("GET", server.make_url("/metrics"))):  # fmt: skip
                async with session.request(method, target, json={}, headers=headers) as answer:
                    found.append((answer.status, await answer.text()))
            async with session.post(url, json={}) as anonymous:
                found.append((anonymous.status, ""))
        return found

    (ack, ack_text), (silences, _), (metrics, _), (anonymous, _) = run_app(scenario)
    assert (ack, silences, metrics, anonymous) == (403, 403, 200, 401)
    assert "roles: ingest, metrics" in ack_text and "manager or admin" in ack_text
    assert "/v1/alerts/{alert_id}/ack" in openapi_document()["paths"]
