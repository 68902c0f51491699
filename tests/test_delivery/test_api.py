"""The delivery HTTP routes on a real aiohttp server on 127.0.0.1, behind the bearer-token middleware."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from casewatch.delivery.api import routes
from casewatch.delivery.config import parse_routing
from casewatch.delivery.outbox import claim, enqueuer, finish
from casewatch.http_auth import bearer_auth
from casewatch.storage import connect, upsert_alerts
from tests.alerts import make_alert
from tests.test_delivery.support import Clock

TOKEN = "test-token-0123456789"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
Scenario = Callable[[TestClient[Any, Any]], Awaitable[None]]


def serve(database_url: str, scenario: Scenario, clock: Clock | None = None) -> None:
    async def main() -> None:
        app = web.Application(middlewares=[bearer_auth(frozenset({TOKEN}))])
        app.add_routes(routes(connect(database_url), prefix="/api/v1", clock=clock or Clock()))
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            await scenario(client)

    asyncio.run(main())


def test_every_route_refuses_a_request_without_a_valid_token(database_url: str) -> None:
    async def scenario(client: TestClient[Any, Any]) -> None:
        for method, path in [("POST", "/api/v1/alerts/x/ack"), ("GET", "/api/v1/alerts/x/history"),
                             ("GET", "/api/v1/silences"), ("POST", "/api/v1/silences"),
                             ("DELETE", "/api/v1/silences/1"), ("GET", "/api/v1/notifications"),
                             ("POST", "/api/v1/notifications/1/resend")]:  # fmt: skip
            for headers in ({}, {"Authorization": "Bearer wrong"}):
                response = await client.request(method, path, headers=headers, json={"by": "someone"})
                assert response.status == 401, (method, path)

    serve(database_url, scenario)


def test_an_alert_is_assigned_acknowledged_and_resolved_over_http_with_its_audit_trail(database_url: str) -> None:
    engine = connect(database_url)
    alert = make_alert("api")
    upsert_alerts(engine=engine, alerts=[alert])
    base = f"/api/v1/alerts/{alert.alert_id}"

    async def scenario(client: TestClient[Any, Any]) -> None:
        assigned = await client.post(f"{base}/assign", json={"by": "team.manager", "to": "social.worker"}, headers=AUTH)
        assert assigned.status == 200 and (await assigned.json())["assignee"] == "social.worker"
        acked = await client.post(f"{base}/ack", json={"by": "social.worker"}, headers=AUTH)
        assert (await acked.json())["status"] == "acknowledged"
        twice = await client.post(f"{base}/ack", json={"by": "social.worker"}, headers=AUTH)
        assert twice.status == 409 and "already acknowledged" in (await twice.json())["error"]
        resolved = await client.post(f"{base}/resolve", json={"by": "team.manager"}, headers=AUTH)
        assert (await resolved.json())["status"] == "resolved"

        unknown = await client.post(f"/api/v1/alerts/{'0' * 32}/ack", json={"by": "x"}, headers=AUTH)
        assert unknown.status == 404
        extra = await client.post(f"{base}/ack", json={"by": "x", "note": "Jane Smith"}, headers=AUTH)
        assert extra.status == 400 and "field this route does not take" in (body := await extra.json())["error"]
        assert "Jane" not in body["error"]  # a refused value is not echoed
        prose = await client.post(f"{base}/resolve", json={"by": "the manager, on Tuesday"}, headers=AUTH)
        assert prose.status == 400
        history = await (await client.get(f"{base}/history", headers=AUTH)).json()
        assert [(e["actor"], e["action"]) for e in history["entries"]] == [
            ("team.manager", "assign"), ("social.worker", "acknowledge"), ("team.manager", "resolve")
        ]  # fmt: skip
        assert history["entries"][1]["detail"]["status"] == {"from": "open", "to": "acknowledged"}

    serve(database_url, scenario)


def test_silences_are_created_listed_and_removed_over_http(database_url: str) -> None:
    async def scenario(client: TestClient[Any, Any]) -> None:
        new = {"matchers": ['team="CIN East"'], "duration": "2h", "by": "team.manager"}
        created = await client.post("/api/v1/silences", headers=AUTH, json=new)
        assert created.status == 201
        silence = await created.json()
        assert created.headers["Location"] == f"/api/v1/silences/{silence['id']}"
        assert (silence["matchers"], silence["state"]) == (['team="CIN East"'], "active")
        listed = await (await client.get("/api/v1/silences", headers=AUTH)).json()
        assert [s["id"] for s in listed["silences"]] == [silence["id"]]
        bad = await client.post(
            "/api/v1/silences", headers=AUTH, json={"matchers": ["team"], "duration": "1h", "by": "x"}
        )
        assert bad.status == 400 and "a matcher is written" in (await bad.json())["error"]
        removed = await client.delete(f"/api/v1/silences/{silence['id']}?by=team.manager", headers=AUTH)
        assert removed.status == 200 and (await removed.json())["state"] == "removed"
        again = await client.delete(f"/api/v1/silences/{silence['id']}?by=team.manager", headers=AUTH)
        assert again.status == 409
        assert (await client.delete("/api/v1/silences/999?by=x", headers=AUTH)).status == 404
        assert (await (await client.get("/api/v1/silences", headers=AUTH)).json())["silences"] == []

    serve(database_url, scenario)


def test_failed_notifications_are_listed_and_resent_over_http(database_url: str) -> None:
    engine = connect(database_url)
    config = parse_routing(
        {"route": {"receiver": "ops", "group_wait": "0s"}, "receivers": [{"name": "ops", "console": {}}]}
    )
    clock = Clock()
    upsert_alerts(engine=engine, alerts=[make_alert("n")], on_stored=enqueuer(config), now=clock())
    [held] = claim(engine, owner="d1", now=clock(), lease=config.delivery.lease, limit=1)
    finish(engine, held.id, owner="d1", status="failed", now=clock(), error="HTTP 410")

    async def scenario(client: TestClient[Any, Any]) -> None:
        failed = await (await client.get("/api/v1/notifications?status=failed", headers=AUTH)).json()
        assert [(n["id"], n["last_error"]) for n in failed["notifications"]] == [(held.id, "HTTP 410")]
        resent = await client.post(f"/api/v1/notifications/{held.id}/resend", json={"by": "ops.engineer"}, headers=AUTH)
        assert resent.status == 200 and (await resent.json()) == {"id": held.id, "status": "pending"}
        again = await client.post(f"/api/v1/notifications/{held.id}/resend", json={"by": "ops.engineer"}, headers=AUTH)
        assert again.status == 409
        assert (await client.get("/api/v1/notifications?status=lost", headers=AUTH)).status == 400
        missing = await client.post("/api/v1/notifications/999/resend", json={"by": "ops.engineer"}, headers=AUTH)
        assert missing.status == 404

    serve(database_url, scenario, clock)
