"""The `routing:` section of the configuration file: receivers, the route tree, inhibition,
escalation and the dispatcher's retry policy, validated when a process starts.

The file at CASEWATCH_CONFIG also holds the `rules:` section (another part of casewatch
reads it); this module reads `routing:` only. Without a file, or without the section,
`DEFAULT_ROUTING` applies: every alert goes to the console, grouped by team and rule.
Secrets never sit in the file: a receiver names the environment variable that holds
them (`password_env: SMTP_PASSWORD`), resolved when the dispatcher starts.
"""

import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, field_validator, model_validator

from agents.worklist import WorklistPolicy
from casewatch.config_file import ConfigFileError, read_config_file
from casewatch.delivery.matchers import Matcher
from casewatch.delivery.urls import check_receiver_url
from casewatch.settings import SettingsError


class RoutingConfigError(SettingsError):
    """The routing configuration cannot be used; the message names the bad key."""


_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h|d)$")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(value: Any) -> timedelta:
    """`30s`, `5m`, `4h`, `1d`, `250ms`, or a number of seconds."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool) and value >= 0:
        return timedelta(seconds=value)
    if isinstance(value, str) and (match := _DURATION.match(value.strip())):
        return timedelta(seconds=float(match[1]) * _UNITS[match[2]])
    raise ValueError("must be a duration such as 30s, 5m, 4h or 1d")


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]
LabelName = Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]{0,63}$")]
ReceiverName = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
EnvName = Annotated[str, Field(pattern=r"^[A-Z_][A-Z0-9_]{0,127}$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ConsoleReceiver(_Strict):
    """One line per alert on standard output: for the demo and for trying routes out."""


class WebhookReceiver(_Strict):
    """JSON POST over https, signed with HMAC-SHA256 over timestamp and body (the secret is required)."""

    url: str
    secret_env: EnvName
    allow_plain_http: bool = Field(False, description="Allow http:// to this machine (127.0.0.1) only.")
    timeout: Duration = timedelta(seconds=10)

    @model_validator(mode="after")
    def _safe_url(self) -> Self:
        try:
            check_receiver_url(self.url, allow_plain_http=self.allow_plain_http)
        except ValueError as error:
            raise ValueError(f"url {error}") from None
        return self


class TeamsReceiver(_Strict):
    """A Teams Workflows webhook. Its URL is a credential, so it comes from the environment."""

    url_env: EnvName
    allow_plain_http: bool = Field(False, description="Allow an http:// URL to this machine (127.0.0.1) only.")
    max_bytes: int = Field(28_000, ge=4_000, le=28_000, description="Teams refuses messages over about 28 KB.")
    timeout: Duration = timedelta(seconds=10)


class EmailReceiver(_Strict):
    """SMTP, one message per group; STARTTLS (or implicit TLS on port 465) and login when configured.

    A login is only ever sent over TLS: `starttls: false` with a username is refused at load.
    """

    host: str
    port: int = Field(587, ge=1, le=65535)
    starttls: bool = True
    implicit_tls: bool | None = Field(None, description="TLS from the first byte; unset: on port 465 only.")
    username: str | None = None
    password_env: EnvName | None = None
    ca_file: Path | None = Field(None, description="CA certificates to trust for STARTTLS (a private CA).")
    sender: str = Field(alias="from", pattern=r"^[^@\s]+@[^@\s]+$")
    to: list[Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+$")]] = Field(min_length=1)
    timeout: Duration = timedelta(seconds=10)

    @model_validator(mode="after")
    def _login_needs_both(self) -> Self:
        if (self.username is None) != (self.password_env is None):
            raise ValueError("username and password_env go together")
        if self.username is not None and not self.starttls and not self.tls_from_start:
            raise ValueError("a login is sent only over TLS: set starttls: true, or port 465 for implicit TLS")
        return self

    @property
    def tls_from_start(self) -> bool:
        """Implicit TLS: set, or by default on port 465 (RFC 8314); STARTTLS does not apply then."""
        return self.port == 465 if self.implicit_tls is None else self.implicit_tls


ChannelKind = Literal["console", "webhook", "teams", "email"]


class Receiver(_Strict):
    """A named destination with exactly one channel."""

    name: ReceiverName
    console: ConsoleReceiver | None = None
    webhook: WebhookReceiver | None = None
    teams: TeamsReceiver | None = None
    email: EmailReceiver | None = None

    @model_validator(mode="after")
    def _exactly_one_channel(self) -> Self:
        if len(self.channels()) != 1:
            raise ValueError("a receiver has exactly one of console, webhook, teams, email")
        return self

    def channels(self) -> list[ChannelKind]:
        kinds: tuple[ChannelKind, ...] = ("console", "webhook", "teams", "email")
        return [kind for kind in kinds if getattr(self, kind) is not None]

    @property
    def kind(self) -> ChannelKind:
        return self.channels()[0]


class Route(_Strict):
    """A node of the routing tree (Alertmanager's semantics).

    An alert enters a node when all its `matchers` match; it then goes to the first
    child that takes it (and further children while a matching child has `continue`),
    or stays at this node when no child takes it. Unset settings are inherited.
    """

    receiver: ReceiverName | None = None
    matchers: list[Matcher] = []
    group_by: list[LabelName] | None = None
    group_wait: Duration | None = None
    group_interval: Duration | None = None
    repeat_interval: Duration | None = None
    notify_on_change: bool | None = Field(None, description="Notify again when a stored alert changes.")
    escalate_after: Duration | None = Field(None, description="Unacknowledged this long: tell escalate_to.")
    escalate_to: ReceiverName | None = None
    continue_: bool = Field(False, alias="continue")
    routes: list["Route"] = []

    @model_validator(mode="after")
    def _escalation_is_complete(self) -> Self:
        if (self.escalate_after is None) != (self.escalate_to is None):
            raise ValueError("escalate_after and escalate_to go together")
        return self


class InhibitRule(_Strict):
    """Hold back target alerts while a source alert about the same child is open.

    `equal` names further labels that must have the same value on both (for example
    `agreement_id`: the same agreement). Alerts about different children never inhibit
    one another.
    """

    source_matchers: list[Matcher] = Field(min_length=1)
    target_matchers: list[Matcher] = Field(min_length=1)
    equal: list[LabelName] = []


class Delivery(_Strict):
    """How the dispatcher retries: exponential backoff with jitter, then park as failed."""

    max_attempts: int = Field(8, ge=1, le=100)
    backoff_initial: Duration = timedelta(seconds=5)
    backoff_max: Duration = timedelta(minutes=10)
    retry_after_max: Duration = Field(timedelta(hours=1), description="Cap on a receiver's Retry-After.")
    lease: Duration = Field(timedelta(seconds=120), description="A claimed notification is retaken after this.")
    poll_interval: Duration = timedelta(seconds=1)
    timer_interval: Duration = Field(timedelta(seconds=15), description="How often escalations and repeats are due.")
    batch_size: int = Field(20, ge=1, le=500)

    @model_validator(mode="after")
    def _sane(self) -> Self:
        if self.backoff_initial <= timedelta(0) or self.backoff_max < self.backoff_initial:
            raise ValueError("backoff_initial must be positive and at most backoff_max")
        if self.poll_interval <= timedelta(0):
            raise ValueError("poll_interval must be positive")
        return self


Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
WEEKDAYS: tuple[Weekday, ...] = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DeliveryClassName = Literal["immediate", "worklist", "report"]


class Worklist(_Strict):
    """The weekly team worklist: when it goes and what it carries (agents/worklist.py).

    The list of ISO week W (Europe/London) covers findings raised up to the end of W and
    goes at `day` and `at` of the following week, London time.
    """

    day: Weekday = Field("monday", description="Weekday the previous week's list goes.")
    at: str = Field("08:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$", description="Hour and minute, Europe/London.")
    overdue_after_weeks: int = Field(2, ge=1, le=52, description="A finding this many weeks old is overdue.")
    keep_weeks: int | None = Field(
        4, ge=1, le=520, description="Lists a finding nobody resolves stays on; null: until resolved."
    )
    classes: list[DeliveryClassName] = Field(
        ["immediate", "worklist"], min_length=1, description="Delivery classes whose findings go on the list."
    )
    teams: list[str] = Field([], description="Teams that get a list even in a week none of their alerts is open.")

    @model_validator(mode="after")
    def _keeps_until_overdue(self) -> Self:
        if self.keep_weeks is not None and self.keep_weeks <= self.overdue_after_weeks:
            raise ValueError("keep_weeks must be more than overdue_after_weeks, or a finding is never overdue")
        return self


# The alert facts that may leave casewatch, beside the alert's own fields (see allowlist.py).
DEFAULT_EXPOSED_FACTS = (
    "agreement_id",
    "agreement_made",
    "referral_date",
    "referral_team",
    "days_between",
    "agreements_in_window",
    "agreement_reviewed",
    "accompanied_closure",
    "window_months",
    "review_due",
    "breach_date",
    "assessment_date",
    "plan_id",
)


class RoutingConfig(_Strict):
    route: Route
    receivers: list[Receiver] = Field(min_length=1)
    inhibit_rules: list[InhibitRule] = []
    delivery: Delivery = Delivery()
    notify_classes: list[DeliveryClassName] = Field(
        ["immediate"],
        description="Delivery classes whose alerts get their own message through the route tree; "
        "worklist alerts are otherwise only lines of the weekly worklist, report alerts only stored.",
    )
    worklist: Worklist | None = Field(
        None, description="The weekly team worklist; without this section no worklist is sent."
    )
    exposed_facts: list[LabelName] = Field(default_factory=lambda: list(DEFAULT_EXPOSED_FACTS))
    page_url: str | None = Field(
        None,
        pattern=r"^https?://[^\s/?#]+(/[^\s?#]*)?$",
        description="Where people reach the managers' page (casewatch serve), e.g. https://casewatch.council.gov.uk: "
        "each alert message links to its alert's page and each worklist to the team's worklist.",
    )

    @field_validator("page_url")
    @classmethod
    def _no_trailing_slash(cls, value: str | None) -> str | None:
        return None if value is None else value.rstrip("/")

    @model_validator(mode="after")
    def _references_resolve(self) -> Self:
        names = [r.name for r in self.receivers]
        if len(set(names)) != len(names):
            raise ValueError("receiver names must be unique")
        if self.route.receiver is None:
            raise ValueError("route.receiver: the root route needs a receiver")
        if self.route.matchers:
            raise ValueError("route.matchers: the root route takes every alert, so it has no matchers")
        for index, receiver in enumerate(self.receivers):
            channel = getattr(receiver, receiver.kind)
            timeout = getattr(channel, "timeout", timedelta(0))
            if timeout * 2 > self.delivery.lease:  # a send outliving its lease could be sent twice
                raise ValueError(f"receivers[{index}].{receiver.kind}.timeout must be under half of delivery.lease")
        for path, route in _walk(self.route, "route"):
            for key in ("receiver", "escalate_to"):
                name = getattr(route, key)
                if name is not None and name not in names:
                    raise ValueError(f"{path}.{key}: no receiver is named {name!r}")
        return self

    def receivers_by_name(self) -> dict[str, Receiver]:
        return {r.name: r for r in self.receivers}

    def worklist_settings(self) -> Worklist:
        """The worklist settings, the defaults when the section is absent (replay's volume uses them)."""
        return self.worklist or Worklist()

    def worklist_policy(self) -> WorklistPolicy:
        settings = self.worklist_settings()
        return WorklistPolicy(
            overdue_after_weeks=settings.overdue_after_weeks,
            keep_weeks=settings.keep_weeks,
            classes=frozenset(settings.classes),
        )


def _walk(route: Route, path: str) -> list[tuple[str, Route]]:
    found = [(path, route)]
    for index, child in enumerate(route.routes):
        found += _walk(child, f"{path}.routes[{index}]")
    return found


DEFAULT_ROUTING = RoutingConfig(
    route=Route(
        receiver="console",
        group_by=["team", "rule"],
        group_wait=timedelta(seconds=30),
        group_interval=timedelta(minutes=5),
        repeat_interval=timedelta(hours=24),
        notify_on_change=True,
    ),
    receivers=[Receiver(name="console", console=ConsoleReceiver())],
)


def load_routing(path: Path | None) -> RoutingConfig:
    """The routing configuration from the file's `routing:` section, or the default."""
    if path is None:
        return DEFAULT_ROUTING
    try:
        document = read_config_file(path)  # the one reader of the file, shared with the rules
    except ConfigFileError as error:
        raise RoutingConfigError(str(error)) from None
    section = document.get("routing")
    if section is None:
        return DEFAULT_ROUTING
    return parse_routing(section, origin=str(path))


def parse_routing(section: Any, *, origin: str = "configuration") -> RoutingConfig:
    try:
        return RoutingConfig.model_validate(section)
    except ValidationError as error:
        problems = [f"{_location(e['loc'])}: {_message(e)}" for e in error.errors()]
        raise RoutingConfigError(f"{origin}: " + "; ".join(problems)) from None


def _location(loc: tuple[int | str, ...]) -> str:
    path = "routing"
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _message(error: Any) -> str:
    """Pydantic's message without the offending value: config can hold secrets by mistake."""
    if error["type"] == "extra_forbidden":
        return "unknown key"
    message = str(error["msg"])
    return message.removeprefix("Value error, ")
