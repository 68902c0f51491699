"""The delivery HTTP routes on a real aiohttp server on 127.0.0.1, behind the authentication middleware."""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from casewatch.access import Access, Identity
from casewatch.delivery.api import routes
from casewatch.delivery.config import parse_routing
from casewatch.delivery.outbox import claim, enqueuer, finish
from casewatch.http.sessions import Sessions
from casewatch.http.signed_out import SignedOut
from casewatch.http_auth import authenticate
from casewatch.storage import connect, upsert_alerts
from tests.alerts import make_alert
from tests.test_delivery.support import Clock

PEOPLE = {
    "team.manager": ("manager", frozenset({"CIN East"})),
    "social.worker": ("manager", frozenset({"CIN East"})),
    "west.manager": ("manager", frozenset({"CIN West"})),
    "ops.engineer": ("admin", None),
}
TOKENS = {name: f"{name}-token-0123456789abcdef0123456789" for name in PEOPLE}
ACCESS = Access(tokens=tuple((TOKENS[n], Identity(n, frozenset({role}), teams)) for n, (role, teams) in PEOPLE.items()))
AUTH = {"Authorization": f"Bearer {TOKENS['ops.engineer']}"}  # an admin's


def auth(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[name]}"}


Scenario = Callable[[TestClient[Any, Any]], Awaitable[None]]


def serve(database_url: str, scenario: Scenario, clock: Clock | None = None) -> None:
    async def main() -> None:
        engine = connect(database_url)
        app = web.Application(middlewares=[authenticate(ACCESS, Sessions(b"k" * 32, hours=1), SignedOut(engine))])
        app.add_routes(routes(engine, prefix="/v1", clock=clock or Clock()))
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            await scenario(client)

    asyncio.run(main())


def test_every_route_refuses_a_request_without_a_valid_token(database_url: str) -> None:
    async def scenario(client: TestClient[Any, Any]) -> None:
        for method, path in [("POST", "/v1/alerts/x/ack"), ("GET", "/v1/alerts/x/history"),
                             ("GET", "/v1/silences"), ("POST", "/v1/silences"),
                             ("DELETE", "/v1/silences/1"), ("GET", "/v1/notifications"),
                             ("POST", "/v1/notifications/1/resend")]:  # fmt: skip
            for headers in ({}, {"Authorization": "Bearer wrong"}):
                response = await client.request(method, path, headers=headers, json={})
                assert response.status == 401, (method, path)

    serve(database_url, scenario)


def test_an_alert_is_assigned_acknowledged_and_resolved_over_http_with_its_audit_trail(database_url: str) -> None:
    engine = connect(database_url)
    alert = make_alert("api")
    upsert_alerts(engine=engine, alerts=[alert])
    base = f"/v1/alerts/{alert.alert_id}"

    async def scenario(client: TestClient[Any, Any]) -> None:
        assigned = await client.post(f"{base}/assign", json={"to": "social.worker"}, headers=auth("team.manager"))
        assert assigned.status == 200 and (await assigned.json())["assignee"] == "social.worker"
        other_team = await client.post(f"{base}/ack", json={}, headers=auth("west.manager"))
        assert other_team.status == 403 and "not of a team you see" in (await other_team.json())["error"]
        acked = await client.post(f"{base}/ack", json={}, headers=auth("social.worker"))
        assert (await acked.json())["status"] == "acknowledged"
        twice = await client.post(f"{base}/ack", json={}, headers=auth("social.worker"))
        assert twice.status == 409 and "already acknowledged" in (await twice.json())["error"]
        forged = await client.post(
            f"{base}/assign", json={"to": "x", "by": "someone.else"}, headers=auth("team.manager")
        )
        assert forged.status == 400 and "leave `by` out" in (await forged.json())["error"]
        no_outcome = await client.post(f"{base}/resolve", json={}, headers=auth("team.manager"))
        assert no_outcome.status == 400 and "outcome" in (await no_outcome.json())["error"]
        unknown_outcome = await client.post(
            f"{base}/resolve", json={"outcome": "whatever"}, headers=auth("team.manager")
        )
        assert unknown_outcome.status == 400 and "must be one of" in (await unknown_outcome.json())["error"]
        resolved = await client.post(f"{base}/resolve", json={"outcome": "data error", "note": "dup record"},
                                     headers=auth("team.manager"))  # fmt: skip
        assert (await resolved.json())["status"] == "resolved"
        assert (await resolved.json())["outcome"] == "data error"

        unknown = await client.post(f"/v1/alerts/{'0' * 32}/ack", json={}, headers=AUTH)
        assert unknown.status == 404
        extra = await client.post(f"{base}/ack", json={"note": "Jane Smith"}, headers=AUTH)
        assert extra.status == 400 and "field this route does not take" in (body := await extra.json())["error"]
        assert "Jane" not in body["error"]  # a refused value is not echoed
        assert (await client.get(f"{base}/history", headers=auth("west.manager"))).status == 403
        history = await (await client.get(f"{base}/history", headers=auth("team.manager"))).json()
        assert [(e["actor"], e["action"]) for e in history["entries"]] == [
            ("team.manager", "assign"), ("social.worker", "acknowledge"), ("team.manager", "resolve")
        ]  # fmt: skip
        assert history["entries"][1]["detail"]["status"] == {"from": "open", "to": "acknowledged"}
        assert history["entries"][2]["detail"]["outcome"] == {"from": None, "to": "data error"}
        assert "dup record" not in str(history)  # the note stays in its column, out of the audit log

    serve(database_url, scenario)


def test_silences_are_created_listed_and_removed_over_http(database_url: str) -> None:
    async def scenario(client: TestClient[Any, Any]) -> None:
        new = {"matchers": ['team="CIN East"'], "duration": "2h"}
        assert (await client.post("/v1/silences", headers=auth("team.manager"), json=new)).status == 403
        created = await client.post("/v1/silences", headers=AUTH, json=new)
        assert created.status == 201
        silence = await created.json()
        assert created.headers["Location"] == f"/v1/silences/{silence['id']}"
        assert (silence["matchers"], silence["state"], silence["created_by"]) == (
            ['team="CIN East"'], "active", "ops.engineer"
        )  # fmt: skip
        listed = await (await client.get("/v1/silences", headers=AUTH)).json()
        assert [s["id"] for s in listed["silences"]] == [silence["id"]]
        bad = await client.post("/v1/silences", headers=AUTH, json={"matchers": ["team"], "duration": "1h"})
        assert bad.status == 400 and "a matcher is written" in (await bad.json())["error"]
        removed = await client.delete(f"/v1/silences/{silence['id']}", headers=AUTH)
        assert removed.status == 200 and (await removed.json())["removed_by"] == "ops.engineer"
        again = await client.delete(f"/v1/silences/{silence['id']}", headers=AUTH)
        assert again.status == 409
        assert (await client.delete("/v1/silences/999", headers=AUTH)).status == 404
        assert (await (await client.get("/v1/silences", headers=AUTH)).json())["silences"] == []

    serve(database_url, scenario)


def test_a_silence_is_at_most_30_days_and_never_of_everything(database_url: str) -> None:
    async def scenario(client: TestClient[Any, Any]) -> None:
        for body in ({"matchers": ['team="CIN East"'], "duration": "31d"},
                     {"matchers": ['team="CIN East"'], "ends_at": "9999-12-31T00:00:00Z"}):  # fmt: skip
            long = await client.post("/v1/silences", headers=AUTH, json=body)
            assert long.status == 400, body
            assert "at most" in (await long.json())["error"]
        for matchers in (['rule=~".*"'], ['team=~".+"'], ['severity="high"'], ['team!="CIN East"'], ['rule=""'],
                         ['rule=~"[a-z_]+"']):  # fmt: skip
            everything = await client.post("/v1/silences", headers=AUTH, json={"matchers": matchers, "duration": "1h"})
            assert everything.status == 400, matchers
            assert "must name what it mutes" in (await everything.json())["error"]
        ok = {"matchers": ['rule=~"agreement_.*"', 'severity="high"'], "duration": "30d"}
        assert (await client.post("/v1/silences", headers=AUTH, json=ok)).status == 201

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
        failed = await (await client.get("/v1/notifications?status=failed", headers=AUTH)).json()
        assert [(n["id"], n["last_error"]) for n in failed["notifications"]] == [(held.id, "HTTP 410")]
        resent = await client.post(f"/v1/notifications/{held.id}/resend", json={}, headers=AUTH)
        assert resent.status == 200 and (await resent.json()) == {"id": held.id, "status": "pending"}
        again = await client.post(f"/v1/notifications/{held.id}/resend", json={}, headers=AUTH)
        assert again.status == 409
        assert (await client.get("/v1/notifications?status=lost", headers=AUTH)).status == 400
        missing = await client.post("/v1/notifications/999/resend", json={}, headers=AUTH)
        assert missing.status == 404

    serve(database_url, scenario, clock)
