"""Identities and roles (casewatch.access), and the server's route table against docs/http-api.md."""

from pathlib import Path

import pytest
import yaml
from prometheus_client import CollectorRegistry

from casewatch.access import GRANTS, ROLES, AccessError, Identity, Limits, parse_access, parse_limits
from casewatch.http.app import create_app
from casewatch.http.sessions import Sessions
from casewatch.http_auth import PUBLIC_PATHS, PUBLIC_PREFIXES, ROUTE_PERMISSIONS
from casewatch.settings import Settings
from tests.role_matrix import role_matrix

TOKEN = "a-token-of-the-right-length-0123456789"
SECRETS = {"EAST": "east-token-0123456789abcdef0123456789", "PROXY": "proxy-secret-0123456789abcdef012345"}


def parse(section: dict[str, object], legacy: tuple[str, ...] = ()) -> object:
    return parse_access({"access": section}, legacy_tokens=legacy, secret=SECRETS.__getitem__)


def test_the_documented_matrix_is_the_servers_table_and_covers_every_route(tmp_path: object) -> None:
    documented = {}
    for row in role_matrix():
        allowed = {role for role, verdict in row.verdicts.items() if verdict != "no"}
        permission = ROUTE_PERMISSIONS[(row.method, row.path)]
        assert allowed == {role for role in ROLES if permission in GRANTS[role]}, (row.method, row.path)
        documented[(row.method, row.path)] = permission
    assert documented == ROUTE_PERMISSIONS
    settings = Settings(bootstrap_servers="127.0.0.1:9", api_tokens=frozenset({TOKEN}),
                        database_url=f"sqlite:///{tmp_path}/a.db")  # fmt: skip
    app = create_app(settings, registry=CollectorRegistry())
    served = {(r.method, r.resource.canonical) for r in app.router.routes() if r.method != "HEAD" and r.resource}
    public = {(m, p) for m, p in served if p in PUBLIC_PATHS or p.startswith(PUBLIC_PREFIXES)}
    assert served - public == set(ROUTE_PERMISSIONS)


def test_legacy_tokens_post_and_are_scraped_only() -> None:
    access = parse({}, legacy=(TOKEN,))
    identity = access.by_token(TOKEN)  # type: ignore[attr-defined]
    assert identity is not None and identity.roles == {"ingest", "metrics"}
    assert identity.name.startswith("api-token-") and TOKEN[:8] not in identity.name
    assert not identity.may("act") and not identity.may("admin") and not identity.may("read")


def test_a_token_maps_to_its_roles_and_teams() -> None:
    access = parse({"tokens": [{"name": "east.manager", "token_env": "EAST", "roles": ["manager"],
                                "teams": ["CIN East"]}]})  # fmt: skip
    identity = access.by_token(SECRETS["EAST"])  # type: ignore[attr-defined]
    assert identity == Identity("east.manager", frozenset({"manager"}), frozenset({"CIN East"}))
    assert identity.may("act") and not identity.may("admin") and not identity.may("ingest")
    assert identity.sees("CIN East") and not identity.sees("CIN West")
    assert access.by_token("x" * 40) is None  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"tokens": [{"name": "m", "token_env": "EAST", "roles": ["manager"]}]}, "teams: a viewer or manager"),
        ({"tokens": [{"name": "the manager", "token_env": "EAST", "roles": ["admin"]}]}, "access.tokens.0.name"),
        ({"tokens": [{"name": "m", "token_env": "EAST", "roles": ["boss"]}]}, "access.tokens.0.roles.0"),
        (
            {
                "tokens": [
                    {"name": "a", "token_env": "EAST", "roles": ["admin"]},
                    {"name": "a", "token_env": "PROXY", "roles": ["admin"]},
                ]
            },
            "same name",
        ),
        ({"proxy": {"groups": {"g": {"roles": ["admin"]}}}}, "trusted_addresses or secret_env"),
        ({"max_silence_days": 9999}, "access.max_silence_days"),
        ({"tokns": []}, "access.tokns"),
    ],
)
def test_a_bad_access_section_is_refused_naming_the_key(section: dict[str, object], message: str) -> None:
    with pytest.raises(AccessError, match=message):
        parse(section)


def test_the_proxy_is_believed_from_its_address_or_with_its_secret_only() -> None:
    groups = {"sg-east": {"roles": ["manager"], "teams": ["CIN East"]}, "sg-qa": {"roles": ["viewer"], "teams": ["*"]}}
    access = parse({"proxy": {"trusted_addresses": ["10.0.0.5"], "secret_env": "PROXY", "groups": groups}})
    proxy = access.proxy  # type: ignore[attr-defined]
    person = {"X-Forwarded-User": "jo.bloggs", "X-Forwarded-Groups": "sg-east, other"}
    east = proxy.identity("10.0.0.5", person)
    assert (east.name, east.roles, east.teams) == ("jo.bloggs", {"manager"}, {"CIN East"})
    assert proxy.identity("10.0.0.9", person) is None  # not from the proxy, no secret
    assert proxy.identity("10.0.0.9", person | {"X-Casewatch-Proxy-Secret": SECRETS["PROXY"]}) is not None
    assert proxy.identity("10.0.0.9", person | {"X-Casewatch-Proxy-Secret": "wrong"}) is None
    both = proxy.identity("10.0.0.5", person | {"X-Forwarded-Groups": "sg-east,sg-qa"})
    assert both.roles == {"manager", "viewer"} and both.teams is None and both.sees("CIN West")
    # A viewer of every team and a manager of one acts on that one only, not on every team.
    assert both.teams_for("act") == {"CIN East"} and both.teams_for("read") is None
    assert both.may_on("act", "CIN East") and not both.may_on("act", "CIN West")
    assert proxy.identity("10.0.0.5", person | {"X-Forwarded-Groups": "other"}) is None  # no group grants
    assert proxy.identity("10.0.0.5", person | {"X-Forwarded-User": "Jo Bloggs, CIN"}) is None  # not a user name


def test_a_session_cookie_is_signed_and_expires() -> None:
    sessions = Sessions(b"k" * 32, hours=1)
    cookie = sessions.issue("east.manager", now=1000.0)
    session = sessions.read(cookie, now=1000.0 + 3599)
    assert session is not None and session.name == "east.manager"
    assert sessions.read(cookie, now=1000.0 + 3601) is None
    assert Sessions(b"j" * 32, hours=1).read(cookie, now=1000.0) is None  # another server's key
    body, _, signature = cookie.partition(".")
    assert sessions.read(body.replace(body[:4], "AAAA") + "." + signature, now=1000.0) is None
    assert sessions.csrf_matches(session.nonce, sessions.csrf(session.nonce))
    assert not sessions.csrf_matches(session.nonce, sessions.csrf("another"))
    assert not sessions.csrf_matches(None, "")


def test_the_example_configuration_gives_the_documented_defaults() -> None:
    example = yaml.safe_load(
        (Path(__file__).parents[2] / "casewatch" / "examples" / "casewatch.example.yaml").read_text()
    )
    assert parse_limits(example) == Limits()
    assert parse_access(example, legacy_tokens=(TOKEN,), secret=SECRETS.__getitem__).tokens[0][0] == TOKEN
