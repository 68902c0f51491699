"""Label matchers, written as Alertmanager writes them: `team="CIN East"`, `severity=~high|medium`.

One parser serves routes, inhibition rules and silences (config file, CLI and HTTP API).
A label an alert lacks matches as the empty string; regular expressions match the whole value.
"""

import json
import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal, cast

from pydantic import BeforeValidator, PlainSerializer

Operator = Literal["=", "!=", "=~", "!~"]
_SYNTAX = re.compile(r"^\s*([a-z_][a-z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$")


@dataclass(frozen=True)
class LabelMatcher:
    name: str
    operator: Operator
    value: str

    def matches(self, labels: dict[str, str]) -> bool:
        actual = labels.get(self.name, "")
        if self.operator in ("=", "!="):
            return (actual == self.value) == (self.operator == "=")
        return (re.fullmatch(self.value, actual) is not None) == (self.operator == "=~")

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
    if operator in ("=~", "!~"):
        try:
            re.compile(value)
        except re.error as error:
            raise ValueError(f"the regular expression of matcher {name} is invalid: {error}") from None
    return LabelMatcher(name, operator, value)


def all_match(matchers: list[LabelMatcher], labels: dict[str, str]) -> bool:
    return all(m.matches(labels) for m in matchers)


Matcher = Annotated[LabelMatcher, BeforeValidator(parse_matcher), PlainSerializer(str, return_type=str)]
