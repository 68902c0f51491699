"""Who may do what: identities, their roles and the teams whose alerts they see.

An identity is an API token from the configuration (`access.tokens`), a person signed in
through the council's single sign-on in front of casewatch (`access.proxy`: the proxy's
user and groups headers, trusted only from its address or with its shared secret), or a
person signed in on the page with a token of their own. Roles grant permissions:

    ingest   POST /v1/events            metrics  GET /metrics
    viewer   read the alerts of its teams
    manager  read, and act (acknowledge, assign, resolve) on the alerts of its teams
    admin    read and act on every team's alerts, silences, notifications, erasure

Roles are not ranked: a token that posts events and is scraped holds both `ingest` and
`metrics`, and an admin posts no events. Pure: the parsed `access:` section and the secrets
it names in, decisions out; casewatch/http_auth.py applies them to requests.
"""

import hashlib
import hmac
import ipaddress
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from casewatch import passwords

# Who acted, as the audit log names them: a user name or address from the directory, never prose.
ACTOR = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$")
Role = Literal["ingest", "metrics", "viewer", "manager", "admin"]
Permission = Literal["ingest", "metrics", "read", "act", "admin"]
ROLES: tuple[Role, ...] = get_args(Role)
GRANTS: dict[Role, frozenset[Permission]] = {
    "ingest": frozenset({"ingest"}),
    "metrics": frozenset({"metrics"}),
    "viewer": frozenset({"read"}),
    "manager": frozenset({"read", "act"}),
    "admin": frozenset({"read", "act", "admin"}),
}
# What a token from CASEWATCH_API_TOKENS may do: what the case-system feed and the
# Prometheus scraper, its only users before roles, need; nothing that changes an alert.
LEGACY_ROLES: frozenset[Role] = frozenset({"ingest", "metrics"})
ALL_TEAMS = "*"
DEFAULT_OUTCOMES = ("reviewed: proportionate", "action taken: S47", "action taken: plan", "data error",
                    "not a concern")  # fmt: skip
DEFAULT_MAX_SILENCE_DAYS = 30
# A bearer token of 32 characters (e.g. 16 random bytes in hex) cannot be guessed online.
MIN_TOKEN_CHARS = 32

Name = Annotated[str, StringConstraints(pattern=ACTOR.pattern)]
Outcome = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9 :.,/()_-]{0,63}$")]


Scope = frozenset[str] | None  # teams; None: every team


@dataclass(frozen=True)
class Identity:
    """Someone authenticated: the name the audit log records, roles, and the teams seen (None: all).

    A person in several proxy groups holds each group's grant, kept apart in `grants`: being
    a viewer of every team and a manager of one makes them a manager of that one only.
    """

    name: str
    roles: frozenset[Role]
    teams: Scope  # the teams whose alerts it reads
    grants: tuple[tuple[frozenset[Role], Scope], ...] = ()  # () : one grant, (roles, teams)

    def may(self, permission: Permission) -> bool:
        return any(permission in GRANTS[role] for role in self.roles)

    def teams_for(self, permission: Permission) -> Scope:
        """The teams on whose alerts it has `permission` (None: every team; empty: none)."""
        scopes = [teams for roles, teams in self.grants or ((self.roles, self.teams),)
                  if any(permission in GRANTS[role] for role in roles)]  # fmt: skip
        if any(scope is None for scope in scopes):
            return None
        return frozenset(team for scope in scopes if scope is not None for team in scope)

    def sees(self, team: str) -> bool:
        return self.teams is None or team in self.teams

    def may_on(self, permission: Permission, team: str) -> bool:
        scope = self.teams_for(permission)
        return self.may(permission) and (scope is None or team in scope)


class _Grant(BaseModel):
    model_config = ConfigDict(extra="forbid")

    roles: list[Role] = Field(min_length=1, description="ingest, metrics, viewer, manager or admin")
    teams: list[str] | None = Field(
        None, description="the teams whose alerts it sees; ['*'] for all; admin sees all without it"
    )


class _Token(_Grant):
    name: Name = Field(description="who the token is, as the audit log names it (e.g. cin.east.manager)")
    token_env: str = Field(description="the environment variable holding the token (32+ characters)")


class _Proxy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    trusted_addresses: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = Field(
        default_factory=list, description="the proxy's own addresses: its headers are believed from there"
    )
    secret_env: str | None = Field(None, description="variable holding the secret the proxy sends in secret_header")
    secret_header: str = "X-Casewatch-Proxy-Secret"
    user_header: str = "X-Forwarded-User"
    groups_header: str = "X-Forwarded-Groups"
    groups: dict[str, _Grant] = Field(description="directory group -> roles and teams")


class _Access(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tokens: list[_Token] = Field(default_factory=list)
    proxy: _Proxy | None = None
    users: dict[Name, _Grant] = Field(default_factory=dict, description="people who sign in with a password")
    password_file: str | None = Field(None, description="their hashed passwords, name:scrypt$... a line")
    max_silence_days: int = Field(DEFAULT_MAX_SILENCE_DAYS, ge=1, le=366)
    session_hours: int = Field(8, ge=1, le=24 * 7, description="how long a sign-in on the page lasts")
    outcomes: list[Outcome] = Field(default_factory=lambda: list(DEFAULT_OUTCOMES), min_length=1)


@dataclass(frozen=True)
class Proxy:
    """The trusted sign-in proxy: where its headers are believed from, and what its groups grant."""

    trusted: frozenset[ipaddress.IPv4Address | ipaddress.IPv6Address]
    secret: str | None
    secret_header: str
    user_header: str
    groups_header: str
    groups: Mapping[str, Identity]  # group -> its grant (the name unused)

    def trusts(self, remote: str | None, headers: Mapping[str, str]) -> bool:
        """From the proxy's address, or carrying its secret (compared in constant time)."""
        if self.secret is not None:
            presented = headers.get(self.secret_header, "")
            if hmac.compare_digest(presented.encode(), self.secret.encode()):
                return True
        try:
            return remote is not None and ipaddress.ip_address(remote) in self.trusted
        except ValueError:
            return False

    def identity(self, remote: str | None, headers: Mapping[str, str]) -> Identity | None:
        """The person the proxy signed in, or None (headers absent, not from the proxy, or no group grants)."""
        user = headers.get(self.user_header, "").strip()
        if not user or not self.trusts(remote, headers) or not ACTOR.match(user):
            return None
        grants = [
            self.groups[g.strip()] for g in headers.get(self.groups_header, "").split(",") if g.strip() in self.groups
        ]
        if not grants:
            return None
        roles = frozenset(role for grant in grants for role in grant.roles)
        seen = [grant.teams for grant in grants]
        teams = None if any(t is None for t in seen) else frozenset(team for t in seen if t for team in t)
        return Identity(user, roles, teams, tuple((grant.roles, grant.teams) for grant in grants))


@dataclass(frozen=True)
class Limits:
    """What anyone may do, whoever they are: the outcomes a resolution may give, the longest
    silence, the length of a sign-in. Read without the tokens, so the CLI applies them too."""

    outcomes: tuple[str, ...] = DEFAULT_OUTCOMES
    max_silence_days: int = DEFAULT_MAX_SILENCE_DAYS
    session_hours: int = 8


@dataclass(frozen=True)
class Access:
    """The deployment's identities and the limits on what they do."""

    tokens: tuple[tuple[str, Identity], ...]
    proxy: Proxy | None = None
    limits: Limits = Limits()
    users: tuple[Identity, ...] = ()
    passwords: Mapping[str, str] = field(default_factory=dict)  # user -> scrypt hash (casewatch.passwords)

    def by_token(self, presented: str) -> Identity | None:
        """The identity of `presented`; every token is compared, always, in constant time."""
        candidate = presented.encode()
        found = None
        for token, identity in self.tokens:
            if hmac.compare_digest(candidate, token.encode()):
                found = identity
        return found

    def by_name(self, name: str) -> Identity | None:
        """A token's or a user's identity by its name (a page sign-in keeps the name, never the secret)."""
        known = (*(identity for _, identity in self.tokens), *self.users)
        return next((identity for identity in known if identity.name == name), None)

    def by_password(self, name: str, password: str) -> Identity | None:
        """A user whose password this is (as slow for an unknown name as for a known one)."""
        if not passwords.check(dict(self.passwords), name, password):
            return None
        return next((identity for identity in self.users if identity.name == name), None)


class AccessError(ValueError):
    """The `access:` section cannot be used; the message names the key."""


def _section(data: Mapping[str, Any]) -> _Access:
    try:
        return _Access.model_validate(data.get("access") or {})
    except ValidationError as error:
        first = error.errors(include_input=False, include_url=False)[0]
        where = ".".join(str(p) for p in ("access", *first["loc"]))
        raise AccessError(f"{where}: {first['msg']}") from None


def parse_limits(data: Mapping[str, Any]) -> Limits:
    """The limits of the `access:` section of the configuration file (`data` is the whole file)."""
    section = _section(data)
    return Limits(tuple(dict.fromkeys(section.outcomes)), section.max_silence_days, section.session_hours)


def parse_access(
    data: Mapping[str, Any],
    *,
    legacy_tokens: Iterable[str],
    secret: Callable[[str], str],
    read_file: Callable[[str], str] = lambda path: "",
) -> Access:
    """The `access:` section of the configuration file (`data` is the whole file), with the
    CASEWATCH_API_TOKENS tokens as ingest-and-metrics identities; `secret(name)` reads a
    variable, `read_file(path)` the password file."""
    section = _section(data)
    tokens: list[tuple[str, Identity]] = []
    for token in sorted(set(legacy_tokens)):
        name = "api-token-" + hashlib.sha256(token.encode()).hexdigest()[:8]  # names it without revealing it
        tokens.append((token, Identity(name, LEGACY_ROLES, None)))
    for index, entry in enumerate(section.tokens):
        where = f"access.tokens[{index}]"
        value = secret(entry.token_env)
        if len(value) < MIN_TOKEN_CHARS:
            raise AccessError(f"{where}: {entry.token_env} is shorter than {MIN_TOKEN_CHARS} characters "
                              "(a short token can be guessed; use e.g. `openssl rand -hex 32`)")  # fmt: skip
        tokens.append((value, _identity(entry.name, entry, where)))
    names = [identity.name for _, identity in tokens]
    if len(set(names)) < len(names):
        raise AccessError("access.tokens: two tokens have the same name (the audit log could not tell them apart)")
    if len({value for value, _ in tokens}) < len(tokens):
        raise AccessError("access.tokens: two identities share one token value")
    users = tuple(_identity(name, grant, f"access.users.{name}") for name, grant in section.users.items())
    if {u.name for u in users} & set(names):
        raise AccessError("access.users: a user has the name of a token (the audit log could not tell them apart)")
    hashed: dict[str, str] = {}
    if section.password_file is not None:
        try:
            hashed = passwords.parse_password_file(read_file(section.password_file))
        except passwords.PasswordFileError as error:
            raise AccessError(f"access.password_file: {error}") from None
    elif users:
        raise AccessError("access.users: name the password_file that holds their passwords")
    return Access(
        tokens=tuple(tokens),
        proxy=None if section.proxy is None else _proxy(section.proxy, secret),
        limits=parse_limits(data),
        users=users,
        passwords=hashed,
    )


def _identity(name: str, grant: _Grant, where: str) -> Identity:
    roles = frozenset(grant.roles)
    if grant.teams is None or ALL_TEAMS in grant.teams:
        if grant.teams is None and roles & {"viewer", "manager"} and "admin" not in roles:
            raise AccessError(f"{where}.teams: a viewer or manager sees the teams listed here (['*'] for all)")
        return Identity(name, roles, None)
    return Identity(name, roles, frozenset(grant.teams))


def _proxy(section: _Proxy, secret: Callable[[str], str]) -> Proxy:
    if not section.trusted_addresses and section.secret_env is None:
        raise AccessError("access.proxy: give trusted_addresses or secret_env, or anyone could claim to be anyone")
    value = None if section.secret_env is None else secret(section.secret_env)
    if value is not None and len(value) < MIN_TOKEN_CHARS:
        raise AccessError(f"access.proxy.secret_env: {section.secret_env} is shorter than {MIN_TOKEN_CHARS} characters")
    groups = {group: _identity(group, grant, f"access.proxy.groups.{group}") for group, grant in section.groups.items()}
    return Proxy(
        trusted=frozenset(section.trusted_addresses),
        secret=value,
        secret_header=section.secret_header,
        user_header=section.user_header,
        groups_header=section.groups_header,
        groups=groups,
    )
