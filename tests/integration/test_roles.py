"""The role matrix of docs/http-api.md, route by route and role by role, on a running `casewatch serve`.

Each role's identity calls each route of the table over real HTTP: bearer tokens on the API,
a page sign-in (cookie and CSRF token, as a browser has them) on /ui. `yes` and `teams`
must pass the role check, `–` must not; `teams` rows are also called by a manager of
another team, who must be refused (or, on the worklist, not see the other team's child).
Then the trusted proxy's headers, believed from its address or with its secret only.
"""

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import pytest

from casewatch.passwords import hash_password
from casewatch.storage import connect, upsert_alerts
from schemas.alerts import Alert
from streams.admin import ensure_topics
from tests.alerts import make_alert
from tests.integration.http_support import IDENTITIES, TOKENS, Answer, Api, PageSession, csrf_of, running_server
from tests.integration.support import Deployment
from tests.role_matrix import Row, role_matrix

PROXY_SECRET = "proxy-secret-0123456789abcdef0123456789"
PASSWORD = "correct horse battery staple"
BY_ROLE = {"ingest": "feed.ingest", "metrics": "prometheus", "viewer": "east.viewer", "manager": "east.manager",
           "admin": "dpo.officer"}  # fmt: skip
OTHER_TEAM = "west.manager"
EAST = make_alert("roles-east", child_id="C-east-1", team="CIN East")
SECOND = make_alert("roles-east-2", child_id="C-east-2", team="CIN East")
WEST = make_alert("roles-west-1", child_id="C-west-1", team="CIN West")
UNTOUCHED = make_alert("roles-east-3", child_id="C-east-3", team="CIN East")  # no test acts on it
REFERRAL = {"event_type": "referral", "event_id": "lcs:roles-1", "child_id": "C-roles", "team": "Front Door",
            "occurred_at": "2024-05-02T10:00:00Z", "recorded_at": "2024-05-02T10:00:00Z", "source": "lcs",
            "referral_source": "2A"}  # fmt: skip
API_BODIES: dict[tuple[str, str], Any] = {
    ("POST", "/v1/events"): [REFERRAL],
    ("POST", "/v1/alerts/{alert_id}/ack"): {},
    ("POST", "/v1/alerts/{alert_id}/assign"): {"to": "social.worker"},
    ("POST", "/v1/alerts/{alert_id}/resolve"): {"outcome": "data error"},
    ("POST", "/v1/silences"): {"matchers": ['team="CIN East"'], "duration": "1h"},
    ("POST", "/v1/notifications/{id}/resend"): {},
}
PAGE_FORMS: dict[str, dict[str, str]] = {
    "/ui/alerts/{alert_id}/assign": {"to": "social.worker"},
    "/ui/alerts/{alert_id}/resolve": {"outcome": "data error"},
    "/ui/silences": {"matchers": 'team="CIN East"', "duration": "1h"},
}
PROXY = {
    "trusted_addresses": ["127.0.0.2"],
    "secret_env": "CASEWATCH_TEST_PROXY_SECRET",
    "groups": {
        "sg-east-managers": {"roles": ["manager"], "teams": ["CIN East"]},
        "sg-qa": {"roles": ["viewer"], "teams": ["*"]},
    },
}


@pytest.fixture(scope="module")
def api(kafka_bootstrap: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    deployment = Deployment.create(kafka_bootstrap, tmp_path_factory.mktemp("roles"))
    ensure_topics(kafka_bootstrap, deployment.settings.topics)
    upsert_alerts(engine=connect(deployment.settings.database_url), alerts=[EAST, SECOND, WEST, UNTOUCHED])
    env = {"CASEWATCH_TEST_PROXY_SECRET": PROXY_SECRET}
    passwords = deployment.folder / "passwords"
    passwords.write_text(f"# made with casewatch password\njo.east:{hash_password(PASSWORD)}\n")
    people = {"users": {"jo.east": {"roles": ["manager"], "teams": ["CIN East"]}}, "password_file": str(passwords)}
    with running_server(deployment, env=env, access={"proxy": PROXY, **people}) as server:
        yield server


@pytest.fixture(scope="module")
def sessions(api: Api) -> dict[str, PageSession]:
    """Each identity's page sign-in; ingest and metrics tokens are refused one (no cookie)."""
    signed = {name: api.sign_in(TOKENS[name]) for name in IDENTITIES}
    for name in ("feed.ingest", "prometheus"):
        assert (signed[name].signed_in_status, signed[name].cookie) == (403, ""), name
    return signed


def concrete(row: Row, alert: Alert = EAST) -> str:
    child = "C-nobody" if row.path == "/v1/children/{child_id}" else str(alert.child_id)
    return row.path.format(alert_id=alert.alert_id, child_id=child, id="1")


def call(api: Api, sessions: dict[str, PageSession], row: Row, name: str) -> Answer:
    path = concrete(row)
    if row.path.startswith("/ui/"):
        session = sessions[name]
        if row.path == "/ui/sign-out" and session.cookie:  # it ends the session: not the shared one
            session = api.sign_in(TOKENS[name])
        return session.get(path) if row.method == "GET" else session.post(path, PAGE_FORMS.get(row.path, {}))
    body = API_BODIES.get((row.method, row.path))
    return api.request(row.method, path, None if body is None else json.dumps(body).encode(),
                       headers={"Content-Type": "application/json"}, token=TOKENS[name])  # fmt: skip


def to_sign_in(answer: Answer) -> bool:
    return answer.status == 303 and answer.headers.get("location") == "/ui/sign-in"


@pytest.mark.parametrize("row", role_matrix(), ids=lambda row: f"{row.method} {row.path}")
def test_every_role_on_the_route_gets_what_the_matrix_says(
    api: Api, sessions: dict[str, PageSession], row: Row
) -> None:
    for role, verdict in row.verdicts.items():
        answer = call(api, sessions, row, BY_ROLE[role])
        seen = (role, answer.status, answer.body[:300])
        if verdict == "no" and row.path.startswith("/ui/") and role in ("ingest", "metrics"):
            assert to_sign_in(answer), seen  # it has no sign-in on the page at all
        elif verdict == "no":
            assert answer.status == 403, seen
            assert b"may not use this route" in answer.body, seen
        else:
            # Past the role check: the route's own answer (erasure is 503 here, with no CASEWATCH_ERASURE_KEY).
            limit = 504 if row.path == "/v1/children/{child_id}" else 500
            assert answer.status not in (401, 403) and answer.status < limit and not to_sign_in(answer), seen
    if "teams" in row.verdicts.values():
        other = call(api, sessions, row, OTHER_TEAM)
        if row.path == "/ui/worklist":
            assert other.status == 200 and str(EAST.child_id).encode() not in other.body
        else:
            assert other.status in (403, 404), (other.status, other.body[:300])


def test_the_audit_log_names_the_token_not_the_body(api: Api) -> None:
    target = f"/v1/alerts/{SECOND.alert_id}"
    forged = api.request("POST", f"{target}/assign", json.dumps({"to": "x", "by": "evil"}).encode(),
                         headers={"Content-Type": "application/json"}, token=TOKENS["east.manager"])  # fmt: skip
    assert forged.status == 400 and b"leave `by` out" in forged.body
    done = api.request("POST", f"{target}/resolve", json.dumps({"outcome": "not a concern"}).encode(),
                       headers={"Content-Type": "application/json"}, token=TOKENS["east.manager"])  # fmt: skip
    assert done.status == 200, done
    entries = api.request("GET", f"{target}/history", token=TOKENS["east.viewer"]).json()["entries"]
    assert [(e["actor"], e["action"], e["detail"]["outcome"]["to"]) for e in entries] == [
        ("east.manager", "resolve", "not a concern")
    ]


def test_a_form_without_this_sessions_csrf_token_is_refused(sessions: dict[str, PageSession]) -> None:
    manager = sessions["east.manager"]
    answer = manager.post(f"/ui/alerts/{EAST.alert_id}/assign", {"to": "social.worker"}, csrf=False)
    assert answer.status == 403 and b"CSRF" in answer.body
    stolen = sessions["dpo.officer"].csrf  # another session's token
    forged = manager.api.request("POST", f"/ui/alerts/{EAST.alert_id}/assign",
                                 f"to=social.worker&csrf={stolen}".encode(), token=None, headers={
                                     "Cookie": f"casewatch_session={manager.cookie}",
                                     "Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
    assert forged.status == 403


def test_the_page_sets_strict_cookies_and_a_content_security_policy(api: Api) -> None:
    form = api.request("GET", "/ui/sign-in", token=None)
    assert "default-src 'none'" in form.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in form.headers["content-security-policy"]
    [cookie] = form.set_cookies
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie  # plain http here
    behind_https = api.request("GET", "/ui/sign-in", token=None, headers={"X-Forwarded-Proto": "https"})
    assert "Secure" in behind_https.set_cookies[0]
    assert api.request("GET", "/ui/worklist", token=TOKENS["dpo.officer"]).status == 303  # no bearer on the page


def test_the_proxy_is_believed_from_its_address_or_with_its_secret(api: Api) -> None:
    person = {"X-Forwarded-User": "jo.bloggs", "X-Forwarded-Groups": "sg-east-managers"}
    page = f"/ui/alerts/{EAST.alert_id}"
    from_proxy = api.request("GET", page, token=None, headers=person, source="127.0.0.2")
    assert from_proxy.status == 200 and b"jo.bloggs" in from_proxy.body
    assert to_sign_in(api.request("GET", page, token=None, headers=person))  # 127.0.0.1 is not the proxy
    with_secret = api.request("GET", page, token=None, headers=person | {"X-Casewatch-Proxy-Secret": PROXY_SECRET})
    assert with_secret.status == 200
    wrong = api.request("GET", page, token=None, headers=person | {"X-Casewatch-Proxy-Secret": "x" * 40})
    assert to_sign_in(wrong)
    stranger = api.request("GET", page, token=None, headers=person | {"X-Forwarded-Groups": "sg-other"},
                           source="127.0.0.2")  # fmt: skip
    assert to_sign_in(stranger)


def test_a_user_signs_in_with_the_password_whose_hash_the_file_holds(api: Api) -> None:
    signed = api.sign_in(user="jo.east", password=PASSWORD)
    assert signed.cookie, signed
    page = signed.get(f"/ui/alerts/{EAST.alert_id}")
    assert page.status == 200 and b"jo.east" in page.body
    assert signed.get(f"/ui/alerts/{make_alert('roles-west', team='CIN West').alert_id}").status == 404
    for user, password in (("jo.east", "not the password"), ("nobody", PASSWORD)):
        refused = api.sign_in(user=user, password=password)
        assert (refused.signed_in_status, refused.cookie) == (401, "")


def test_a_person_in_two_groups_acts_only_where_a_group_lets_them_act(api: Api) -> None:
    """A viewer of every team (sg-qa) who manages CIN East reads CIN West's alert, and cannot act on it."""
    person = {"X-Forwarded-User": "qa.east", "X-Forwarded-Groups": "sg-qa,sg-east-managers"}
    page = api.request("GET", f"/ui/alerts/{WEST.alert_id}", token=None, headers=person, source="127.0.0.2")
    assert page.status == 200 and b'id="actions"' not in page.body
    form = urlencode({"csrf": csrf_of(page.body)}).encode()
    headers = person | {"Content-Type": "application/x-www-form-urlencoded"}
    acted = api.request("POST", f"/ui/alerts/{WEST.alert_id}/ack", form, token=None, headers=headers,
                        source="127.0.0.2")  # fmt: skip
    assert acted.status == 403, acted
    east = api.request("GET", f"/ui/alerts/{UNTOUCHED.alert_id}", token=None, headers=person, source="127.0.0.2")
    assert east.status == 200 and b'id="actions"' in east.body


def test_a_copy_of_the_cookie_stops_working_when_its_holder_signs_out(api: Api) -> None:
    signed = api.sign_in(user="jo.east", password=PASSWORD)
    copy = PageSession(api, signed.cookie, signed.csrf, signed.signed_in_status)  # a shared PC, a proxy log
    assert copy.get("/ui/worklist").status == 200
    out = signed.post("/ui/sign-out", {})
    assert out.status == 303 and out.headers.get("location") == "/ui/sign-in?out=1"
    assert to_sign_in(copy.get("/ui/worklist"))  # signed, unexpired, and over
    assert to_sign_in(copy.get(f"/ui/alerts/{EAST.alert_id}"))
    assert copy.post(f"/ui/alerts/{EAST.alert_id}/ack", {}).status == 303  # to the sign-in, not acted on
    again = api.sign_in(user="jo.east", password=PASSWORD)  # a new sign-in is a new session
    assert again.get("/ui/worklist").status == 200
