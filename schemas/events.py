"""Case events: what a case system tells casewatch, one record per thing that happened.

Every event carries only what the rules need: the case system's child ID, dates, codes
and the team. Unknown fields are refused rather than ignored, so a name, UPN, address or
free-text note sent by mistake is rejected at the door instead of travelling on.
"""

import re
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    field_validator,
    model_validator,
)
from pydantic.json_schema import WithJsonSchema

from schemas.codes import (
    ABUSE_CATEGORIES,
    ASSESSMENT_FACTORS,
    CLOSURE_REASONS,
    NO_FACTORS_IDENTIFIED,
    PRIMARY_NEED_CODES,
    REFERRAL_SOURCES,
    code_or_none,
)

EVENT_SCHEMA_VERSION = 1

# Identifiers and team names are codes, never prose: the patterns keep free text out.
# Ids are opaque tokens: no spaces and no '@' (an e-mail address is not an id).
EventId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$")]

# A UPN (DfE Common Basic Data Set): a check letter and 12 digits, or for a temporary UPN
# a check letter, 11 digits and a letter. It identifies a pupil nationally, so it is
# personal data that must not stand in for the case system's child ID.
UPN_SHAPE = r"^[A-Za-z][0-9]{11}[0-9A-Za-z]$"
# A house number, words and a street word ("12 Acacia Avenue"), or a postcode, is an address,
# not a team. "Locality 4 Duty Team" is a team. Without a `teams:` list this is the only
# guard, so a council should configure its teams (docs/security.md).
_STREET_WORDS = (
    "road", "rd", "street", "st", "avenue", "ave", "lane", "close", "drive", "way", "court", "crescent",
    "place", "gardens", "grove", "terrace", "walk", "row", "square", "hill", "park", "mews", "rise", "view",
)  # fmt: skip


def _any_case(word: str) -> str:  # JSON Schema patterns have no flags
    return "".join(f"[{c.upper()}{c.lower()}]" for c in word)


ADDRESS_SHAPE = (
    r"(^|[^0-9])[0-9]{1,4}[A-Za-z]?( +[A-Za-z']+)+ +(" + "|".join(_any_case(w) for w in _STREET_WORDS) + r")( |$)"
    r"|(^| )[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}( |$)"
)


def _refusing(shape: str, problem: str) -> AfterValidator:
    """Refuse values with `shape` (searched anywhere), with `problem` as the reason."""
    refused = re.compile(shape)

    def check(value: str) -> str:
        if refused.search(value):
            raise ValueError(problem)
        return value

    return AfterValidator(check)


def _schema(pattern: str, shape: str, description: str) -> WithJsonSchema:
    """The JSON Schema says both rules: the pattern, and `not` the refused shape."""
    return WithJsonSchema({"type": "string", "pattern": pattern, "not": {"pattern": shape}, "description": description})


_CHILD_ID = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
ChildId = Annotated[
    str,
    StringConstraints(pattern=_CHILD_ID),
    _refusing(UPN_SHAPE, "has the shape of a UPN (a letter and 12 characters): send the case-system child ID"),
    _schema(
        _CHILD_ID,
        UPN_SHAPE,
        "The case system's child ID: never a name or a UPN (a UPN shape is refused); "
        "a council may configure a stricter pattern (input.child_id_pattern).",
    ),
]
_TEAM = r"^[A-Za-z0-9][A-Za-z0-9 &()'._/-]{0,63}$"
Team = Annotated[
    str,
    StringConstraints(pattern=_TEAM),
    _refusing(ADDRESS_SHAPE, "has the shape of an address (a house number and a street, or a postcode)"),
    _schema(_TEAM, ADDRESS_SHAPE, "A team name (never an address); with a configured `teams:` list, one of those."),
]
SourceName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")]

EARLIEST_PLAUSIBLE = datetime(1900, 1, 1, tzinfo=UTC)
# A case system's clock and ours may disagree a little; more than this is an error.
CLOCK_SKEW = timedelta(days=1)


def shown(value: object) -> str:
    """A rejected value as a reason may show it: quoted when it has a code's shape."""
    code = code_or_none(value)
    return repr(code) if code is not None else "(not a code)"


def _as_utc(value: datetime) -> datetime:
    """Naive times from a case system are taken as UTC, so every comparison is aware."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class EventBase(BaseModel):
    """Fields every case event has."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1] = Field(1, description="Version of this event contract.")
    event_id: EventId = Field(description="Unique and stable per event; redelivery reuses it.")
    child_id: ChildId = Field(description="The case system's child ID (never a name or UPN).")
    occurred_at: datetime = Field(description="When it happened (event time).")
    recorded_at: datetime = Field(description="When the case system recorded it.")
    team: Team = Field(description="The responsible team, as the case system names it.")
    source: SourceName = Field(description="The system or extract the event came from.")

    @field_validator("occurred_at", "recorded_at")
    @classmethod
    def _normalise_time(cls, value: datetime) -> datetime:
        try:
            value = _as_utc(value)
        except OverflowError:  # 9999-12-31T23:59:59-14:00 is in the year 10000 in UTC
            raise ValueError("is after the year 9999 in UTC, which is not a plausible case date") from None
        if value < EARLIEST_PLAUSIBLE:
            raise ValueError("is before 1900, which is not a plausible case date")
        return value

    @model_validator(mode="after")
    def _happened_before_recorded(self) -> "EventBase":
        if self.occurred_at - CLOCK_SKEW > self.recorded_at:  # subtracting: 9999-12-31 + a day overflows
            raise ValueError("occurred_at is after recorded_at: an event cannot be recorded before it happens")
        return self

    @property
    def day(self) -> date:
        """The calendar day of the event, which is what the DfE definitions count in."""
        return self.occurred_at.date()


def _known_factors(value: list[str]) -> list[str]:
    unknown = sorted(set(value) - ASSESSMENT_FACTORS)
    if unknown:
        raise ValueError(f"unknown assessment factor codes {', '.join(shown(u) for u in unknown)}")
    return sorted(set(value))


class Contact(EventBase):
    """A contact with the front door that is not (yet) a referral, with its concerns as codes."""

    event_type: Literal["contact"] = "contact"
    concerns: list[str] = Field(default_factory=list, description="Concerns, as CIN assessment factor codes.")

    @field_validator("concerns")
    @classmethod
    def _known_concerns(cls, value: list[str]) -> list[str]:
        return _known_factors(value)


class Referral(EventBase):
    """A request for services for a child not already in need (DfE definition)."""

    event_type: Literal["referral"] = "referral"
    referral_source: str | None = Field(None, description="CIN census referral source code, e.g. 1A.")
    primary_need: str | None = Field(None, description="CIN census primary need code N0-N9.")
    concerns: list[str] = Field(default_factory=list, description="Concerns, as CIN assessment factor codes.")
    nfa: bool | None = Field(
        None, description="The referral led to no further action (CIN census ReferralNFA); null when not given."
    )
    referrals_last_12_months: int | None = Field(
        None,
        ge=0,
        le=999,
        description="Referrals of the child in the 12 months before (Annex A List 3); null when not given.",
    )

    @field_validator("concerns")
    @classmethod
    def _known_concerns(cls, value: list[str]) -> list[str]:
        return _known_factors(value)

    @field_validator("referral_source")
    @classmethod
    def _known_source(cls, value: str | None) -> str | None:
        if value is not None and value not in REFERRAL_SOURCES:
            raise ValueError(f"unknown referral source code {shown(value)}")
        return value

    @field_validator("primary_need")
    @classmethod
    def _known_need(cls, value: str | None) -> str | None:
        if value is not None and value not in PRIMARY_NEED_CODES:
            raise ValueError(f"unknown primary need code {shown(value)}")
        return value


class Assessment(EventBase):
    """An assessment authorised, with the factors it identified (CIN census codes)."""

    event_type: Literal["assessment"] = "assessment"
    assessment_id: EventId
    factors: list[str] = Field(default_factory=list, description="CIN assessment factor codes.")
    child_views_recorded: bool | None = Field(
        None, description="Whether the child's views were recorded; null when the source does not say."
    )
    started_on: date | None = Field(
        None,
        description="When the assessment actually started (occurred_at is its authorisation); null when not given.",
    )
    child_seen: bool | None = Field(
        None, description="The child was seen during the assessment (Annex A List 4); null when not given."
    )
    child_seen_alone: bool | None = Field(
        None, description="The child was seen alone (Annex A List 7); null when not given."
    )

    @field_validator("factors")
    @classmethod
    def _known_factors(cls, value: list[str]) -> list[str]:
        if NO_FACTORS_IDENTIFIED in value and len(set(value)) > 1:
            raise ValueError("factor 21 (no factors identified) cannot be combined with other factors")
        return _known_factors(value)


class StrategyDiscussion(EventBase):
    """A strategy discussion held about the child (a follow-up to a concern or a breach)."""

    event_type: Literal["strategy_discussion"] = "strategy_discussion"


class Section47Enquiry(EventBase):
    """A section 47 enquiry started (occurred_at), with its initial child protection conference."""

    event_type: Literal["section47"] = "section47"
    enquiry_id: EventId
    icpc_date: date | None = Field(None, description="Date of the initial child protection conference.")


class PlanOutcome(BaseModel):
    """One outcome of a plan, as flags only: the outcome's wording stays in the case system."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    outcome_id: EventId
    has_measure: bool
    has_owner: bool
    target_date: date | None = None


class Plan(EventBase):
    """A child protection (CP) or child in need (CIN) plan started, reviewed or ended."""

    event_type: Literal["plan"] = "plan"
    plan_id: EventId
    plan_type: Literal["cp", "cin"]
    action: Literal["started", "reviewed", "ended"]
    categories: list[str] = Field(default_factory=list, description="Categories of abuse (NEG, PHY, SAB, EMO, MUL).")
    outcomes: list[PlanOutcome] = Field(default_factory=list)
    previous_plans: int | None = Field(
        None,
        ge=0,
        le=99,
        description="Earlier CP plans of the child (CIN census NumberOfPreviousCPP); null when not given.",
    )

    @field_validator("categories")
    @classmethod
    def _known_categories(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - ABUSE_CATEGORIES)
        if unknown:
            raise ValueError(f"unknown category of abuse codes {', '.join(shown(u) for u in unknown)}")
        return sorted(set(value))


AgreementType = Literal["working_agreement", "safety_plan", "plo_schedule", "written_undertaking"]
AgreementContext = Literal["assessment", "s47", "cin", "cp", "closure"]
ReviewOutcome = Literal["kept", "partly", "not_kept"]


class WrittenAgreement(EventBase):
    """Something that happened to a written agreement with a family.

    Agreements are not statutory data: they come from the case system's own records.
    """

    event_type: Literal["agreement"] = "agreement"
    agreement_id: EventId
    action: Literal["made", "reviewed", "breached", "ended"]
    review_due: date | None = Field(None, description="When the agreement is due for review.")
    accompanies_closure: bool = Field(False, description="The case was closed with this agreement in place.")
    agreement_type: AgreementType | None = Field(None, description="What kind of agreement; null when not given.")
    context: AgreementContext | None = Field(None, description="Where in the case it was made; null when not given.")
    review_outcome: ReviewOutcome | None = Field(
        None, description="On a review: whether the family kept to it; null when not given."
    )
    owner_team: Team | None = Field(None, description="The team that owns the agreement, when not the event's team.")
    owner_worker_id: EventId | None = Field(None, description="The owning worker, as an opaque case-system id.")

    @model_validator(mode="after")
    def _review_after_made(self) -> "WrittenAgreement":
        if self.review_due is not None and self.review_due < self.day:
            raise ValueError("review_due is before the agreement event date")
        return self


class CaseClosure(EventBase):
    """A child in need episode closed, with the CIN census reason."""

    event_type: Literal["closure"] = "closure"
    reason: str = Field(description="CIN census reason for closure RC1-RC9.")

    @field_validator("reason")
    @classmethod
    def _known_reason(cls, value: str) -> str:
        if value not in CLOSURE_REASONS:
            raise ValueError(f"unknown reason for closure {shown(value)}")
        return value


CaseEvent = Annotated[
    Contact | Referral | Assessment | StrategyDiscussion | Section47Enquiry | Plan | WrittenAgreement | CaseClosure,
    Field(discriminator="event_type"),
]
EVENT_TYPES: tuple[type[EventBase], ...] = (
    Contact,
    Referral,
    Assessment,
    StrategyDiscussion,
    Section47Enquiry,
    Plan,
    WrittenAgreement,
    CaseClosure,
)
EVENT_TYPE_NAMES: frozenset[str] = frozenset(t.model_fields["event_type"].default for t in EVENT_TYPES)

_case_event_adapter: TypeAdapter[CaseEvent] = TypeAdapter(CaseEvent)


def parse_event(data: str | bytes | dict[str, Any]) -> CaseEvent:
    """Validate one event from JSON text or a decoded object; raises pydantic.ValidationError."""
    if isinstance(data, dict):
        return _case_event_adapter.validate_python(data)
    return _case_event_adapter.validate_json(data)
