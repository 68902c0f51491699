"""Label matchers, written as Alertmanager writes them: `team="CIN East"`, `severity=~high|medium`.

One parser serves routes, inhibition rules and silences (config file, CLI and HTTP API).
A label an alert lacks matches as the empty string; regular expressions match the whole value.
Regular expressions are RE2's (google-re2): matching takes time linear in the label, so a
pattern typed into a silence cannot hang the dispatcher however it is written (Python's
backtracking `re` took minutes on `(a|a)*b` against 40 characters). What RE2 cannot match
in linear time (backreferences, lookaround) it cannot compile, and the matcher is refused.
"""

import json
import re
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, cast

import re2
from pydantic import BeforeValidator, PlainSerializer

Operator = Literal["=", "!=", "=~", "!~"]
_SYNTAX = re.compile(r"^\s*([a-z_][a-z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$")
# A pattern longer than this is refused: labels are short, and RE2's memory grows with the pattern.
MAX_PATTERN_CHARS = 1000
_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # the refusal is our ValueError; RE2's own stderr line would be noise


@dataclass(frozen=True)
class LabelMatcher:
    name: str
    operator: Operator
    value: str
    _pattern: Any = field(default=None, init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        if self.operator in ("=~", "!~"):
            object.__setattr__(self, "_pattern", compile_pattern(self.name, self.value))

    def matches(self, labels: dict[str, str]) -> bool:
        actual = labels.get(self.name, "")
        if self.operator in ("=", "!="):
            return (actual == self.value) == (self.operator == "=")
        return (self._pattern.fullmatch(actual) is not None) == (self.operator == "=~")

    def __str__(self) -> str:
        return f"{self.name}{self.operator}{json.dumps(self.value)}"


def parse_matcher(text: Any) -> LabelMatcher:
    """Parse `name op value`; the value may be double-quoted (JSON string rules)."""
    if isinstance(text, LabelMatcher):
        return text
    if not isinstance(text, str) or not (match := _SYNTAX.match(text)):
        raise ValueError(
            'a matcher is written name=value, name!=value, name=~regex or name!~regex (e.g. team="CIN East")'
        )
    name, operator, value = match[1], cast(Operator, match[2]), match[3]
    if len(value) >= 2 and value[0] == value[-1] == '"':
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise ValueError(f"the quoted value of matcher {name} is not a valid string") from None
    return LabelMatcher(name, operator, value)


def compile_pattern(name: str, value: str) -> Any:
    """The RE2 pattern of matcher `name`, or a ValueError that says why it cannot be used."""
    if len(value) > MAX_PATTERN_CHARS:
        raise ValueError(f"the regular expression of matcher {name} is over {MAX_PATTERN_CHARS} characters")
    try:
        return re2.compile(value, _OPTIONS)
    except re2.error as error:
        reason = error.args[0].decode(errors="replace") if error.args and isinstance(error.args[0], bytes) else error
        raise ValueError(
            f"the regular expression of matcher {name} cannot be used: {reason} "
            "(matchers are RE2 expressions, matched in linear time: no backreferences or lookaround)"
        ) from None


def all_match(matchers: list[LabelMatcher], labels: dict[str, str]) -> bool:
    return all(m.matches(labels) for m in matchers)


Matcher = Annotated[LabelMatcher, BeforeValidator(parse_matcher), PlainSerializer(str, return_type=str)]
