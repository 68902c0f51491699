"""What every source adapter shares: the rejection record, stable event ids, safe field checks.

An adapter is a generator of `Item`s: a valid event, or a `SourceRejection` saying where
(file, position, field) and why a record was refused. Reasons never carry a value that
could be personal data; a code or a date, which a data officer needs to find the record,
is shown only when it has the shape of one.
"""

import hashlib
import re
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from schemas.codes import code_or_none
from schemas.events import CaseEvent, ChildId, EventId, Team
from streams.admission import DEFAULT_POLICY, InputPolicy
from streams.codec import Rejection, describe_validation_error


@dataclass(frozen=True)
class SourceRejection:
    """A record refused: where it is in its file, which field, and why (never the value)."""

    file: str
    position: str  # an XPath, "row 12", "List 3 row 7", or a JSON line's number "4"
    field: str | None
    code: str  # short label, safe as a metric label and for the summary
    reason: str
    value: str | None = None  # only a code- or date-shaped value, see `shown`
    raw: bytes | None = None  # only for native JSON events, as the live path keeps them

    @property
    def key(self) -> str:
        """What the summary groups by: the code, and the field when there is one."""
        return f"{self.code} ({self.field})" if self.field else self.code

    def message(self) -> str:
        shown_value = f" [{self.value}]" if self.value is not None else ""
        return f"{self.field}: {self.reason}{shown_value}" if self.field else f"{self.reason}{shown_value}"

    def describe(self) -> str:
        return f"{self.file}:{self.position}: rejected ({self.code}): {self.message()}"

    def as_rejection(self) -> Rejection:
        """The dead-letter form: the codec's record, with the field in the reason."""
        return Rejection(self.code, self.message())


Item = CaseEvent | SourceRejection


@dataclass(frozen=True)
class SourceOptions:
    """What a file does not say about itself.

    `authority` and `team` are used when the source has none (the CIN census names its
    authority but no team; Annex A and agreement extracts name no authority). `today`
    bounds every date: nothing can have happened after it.
    """

    authority: str | None = None
    team: str | None = None
    today: date = field(default_factory=date.today)
    # Future dates, child ID pattern, teams: the same admission as every other door.
    policy: InputPolicy = DEFAULT_POLICY

    def team_for(self, authority: str | None) -> str:
        return self.team or (f"LA {authority}" if authority else "LA")


class Invalid(Exception):
    """Raised inside an adapter while building one record; becomes a SourceRejection."""

    def __init__(self, field: str | None, code: str, reason: str, value: object = None) -> None:
        super().__init__(reason)
        self.field, self.code, self.reason, self.value = field, code, reason, shown(value)

    def at(self, file: str, position: str) -> SourceRejection:
        return SourceRejection(file, position, self.field, self.code, self.reason, self.value)


def guarded(
    file: str,
    position: str,
    build: Callable[[], Iterator[CaseEvent]],
    *,
    policy: InputPolicy = DEFAULT_POLICY,
    field_in_position: bool = False,
) -> Iterator[Item]:
    """The events of one record, or its rejection: a record is all in or all out.

    Every event passes the admission policy (streams.admission) as a live message would.

    With `field_in_position` (XML), the field is a path below `position`, so the rejection
    points at the element itself: /Message/Children/Child[3]/CINdetails[2]/ReasonForClosure.
    """
    try:
        events = list(build())
    except Invalid as problem:
        where = f"{position}/{problem.field}" if field_in_position and problem.field else position
        yield problem.at(file, where)
        return
    admitted = [policy.admit(event) for event in events]
    for result in admitted:
        if isinstance(result, Rejection):
            yield SourceRejection(file, position, None, result.code, result.reason)
            return
    yield from (event for event in admitted if not isinstance(event, Rejection))


def shown(value: object) -> str | None:
    """A value safe to print: a date, or a short code such as 18A, RC9 or N4; else None."""
    if isinstance(value, date):
        return value.isoformat()
    return code_or_none(value)


def event_id(authority: str, child_id: str, episode: str, kind: str, day: date, *extra: str) -> str:
    """An id derived from what the record is, not from where or when it was read.

    The same episode in this year's and next year's census, or a file loaded twice,
    gives the same id, so downstream it is a redelivery, never a second event.
    """
    material = "|".join((authority, child_id, episode, kind, day.isoformat(), *extra))
    return f"{kind}-{hashlib.sha256(material.encode()).hexdigest()[:32]}"


def moment(day: date) -> datetime:
    """Statutory returns carry days, not times: an event happened at midnight UTC of its day."""
    return datetime.combine(day, time(), tzinfo=UTC)


_UK_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


def parse_date(value: object, field: str, *, required: bool = True) -> date | None:
    """A day from an ISO date (or date-time), a UK dd/mm/yyyy date, or a date object."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = value.strip() if isinstance(value, str) else ""
    if value is None or (isinstance(value, str) and not text):
        if required:
            raise Invalid(field, "missing", "is required but empty or absent")
        return None
    try:
        if match := _UK_DATE.match(text):
            day, month, year = (int(g) for g in match.groups())
            return date(year, month, day)
        return (
            date.fromisoformat(text[:10])
            if len(text) >= 10 and text[10:11] in ("", "T", " ", "Z", "+", "-")
            else _bad(field)
        )
    except ValueError:
        return _bad(field)


def _bad(field: str) -> date:
    raise Invalid(field, "invalid_date", "is not a date (expected YYYY-MM-DD)")


def not_after(day: date | None, limit: date, field: str, limit_name: str) -> None:
    if day is not None and day > limit:
        raise Invalid(field, "future_date", f"is after {limit_name} {limit.isoformat()}", day)


def in_order(earlier: date | None, later: date | None, field: str, earlier_name: str) -> None:
    """`later` (the field checked) must not be before `earlier`."""
    if earlier is not None and later is not None and later < earlier:
        raise Invalid(field, "date_order", f"is before {earlier_name} {earlier.isoformat()}", later)


def code(value: str | None, allowed: Collection[str], field: str, label: str, *, required: bool = False) -> str | None:
    """A code from a list, or None when absent and optional."""
    text = (value or "").strip()
    if not text:
        if required:
            raise Invalid(field, "missing", "is required but empty or absent")
        return None
    if text not in allowed:
        raise Invalid(field, "unknown_code", f"is not a known {label} code", text)
    return text


# Yes/no as the sources write it: CIN census yesnotype (true/false/TRUE/FALSE/1/0), Annex A
# ("Yes", "a) Yes", "Y"), extracts (yes/no, y/n).
_YES = frozenset({"true", "yes", "y", "1"})
_NO = frozenset({"false", "no", "n", "0"})
_LIST_LETTER = re.compile(r"^[a-z]\)\s*")


def yes_no(value: object, field: str) -> bool | None:
    """A yes/no flag, or None when absent; anything else is refused without being echoed."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    text = _LIST_LETTER.sub("", str(value).strip().lower())
    if text in _YES or text in _NO:
        return text in _YES
    if not text or text in ("#n/a", "n/a"):
        return None
    raise Invalid(field, "invalid_value", "is not yes or no (true/false, y/n, 1/0)")


def count(value: object, field: str, *, maximum: int) -> int | None:
    """A whole number 0..maximum (an int, an integral float from Excel, or digits), or None when absent."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "#n/a", "n/a")):
        return None
    number: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        number = int(value.strip())
    if number is None or not 0 <= number <= maximum:
        raise Invalid(field, "invalid_value", f"is not a whole number from 0 to {maximum}")
    return number


_child_ids: TypeAdapter[str] = TypeAdapter(ChildId)
_record_ids: TypeAdapter[str] = TypeAdapter(EventId)
_teams: TypeAdapter[str] = TypeAdapter(Team)


def child_id(value: object, field: str) -> str:
    """The case system's child ID; anything else (a name, a UPN with spaces...) is refused unseen."""
    return _identifier(_child_ids, value, field, "is not a case-system child ID (letters, digits, '.', '_', '-')")


def record_id(value: object, field: str) -> str:
    return _identifier(_record_ids, value, field, "is not a record ID (letters, digits, '.', '_', ':', '-')")


def team(value: object, field: str) -> str:
    return _identifier(_teams, value, field, "is not a team name (letters, digits, spaces, & ( ) ' . _ / -)")


def _identifier(adapter: TypeAdapter[str], value: object, field: str, reason: str) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        raise Invalid(field, "missing", "is required but empty or absent")
    if not isinstance(value, str | int) or isinstance(value, bool):
        raise Invalid(field, "invalid_id", reason)
    try:
        return adapter.validate_python(str(value).strip())
    except ValidationError:
        raise Invalid(field, "invalid_id", reason) from None


M = TypeVar("M", bound=BaseModel)


def build(model: type[M], **values: Any) -> M:
    """Construct a record; a contract violation becomes Invalid (its reason has no input values)."""
    try:
        return model(**values)
    except ValidationError as error:
        raise Invalid(None, "schema", describe_validation_error(error)) from None
