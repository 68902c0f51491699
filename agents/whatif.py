"""What if a setting were different? The same history replayed twice, compared per rule.

An authority tunes windows and thresholds on its own records before changing them live:
`what_if` runs `replay` with the current settings and with the changed ones, and counts,
per rule, the alerts the change would add and remove (and those it would only reword,
e.g. a new severity). Alert ids name the triggering facts, not the settings, so an alert
both runs raise has the same id in both.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import yaml

from agents.replay import replay
from agents.rules import RulesConfig, RulesConfigError, parse_rules_config
from agents.rules.config import ALL_RULES
from schemas.alerts import Alert
from schemas.events import CaseEvent


@dataclass(frozen=True)
class RuleChange:
    """One rule's alerts before and after the change."""

    rule: str
    before: int
    after: int
    added: int
    removed: int
    changed: int  # raised both times, with different content


@dataclass(frozen=True)
class WhatIf:
    overrides: dict[str, Any]
    config: RulesConfig
    changes: list[RuleChange]
    events: int


def parse_overrides(items: Sequence[str]) -> dict[str, Any]:
    """`KEY=VALUE` pairs; KEY a dotted path under `rules:` (e.g. agreement_review_overdue.grace_days),
    VALUE as YAML would read it (14, 0.25, false, [19B, 19C])."""
    overrides: dict[str, Any] = {}
    for item in items:
        key, sep, text = item.partition("=")
        key = key.strip().removeprefix("rules.")
        if not sep or not key:
            raise RulesConfigError(item, "expected KEY=VALUE, e.g. agreement_review_overdue.grace_days=14")
        try:
            overrides[key] = yaml.safe_load(text) if text.strip() else None
        except yaml.YAMLError:
            raise RulesConfigError(f"rules.{key}", "the value is not valid YAML") from None
    return overrides


def with_overrides(config: RulesConfig, overrides: Mapping[str, Any]) -> RulesConfig:
    """The configuration with the dotted keys set, validated like the file (errors name the key)."""
    nested: dict[str, Any] = {}
    for key, value in overrides.items():
        head, _, rest = key.partition(".")
        if not rest:
            nested[head] = value
            continue
        section = nested.setdefault(head, {})
        if not isinstance(section, dict) or "." in rest:
            raise RulesConfigError(f"rules.{key}", "unknown setting")
        section[rest] = value
    return parse_rules_config(nested, base=config)


def what_if(
    events: Sequence[CaseEvent], config: RulesConfig, overrides: Mapping[str, Any], *, as_of: date | None = None
) -> WhatIf:
    changed = with_overrides(config, overrides)
    before = replay(events, config, as_of=as_of)
    after = replay(events, changed, as_of=as_of).alerts
    return WhatIf(dict(overrides), changed, [_compare(r.id, before.alerts, after) for r in ALL_RULES], before.events)


def _compare(rule: str, before: Mapping[str, Alert], after: Mapping[str, Alert]) -> RuleChange:
    old = {k: a for k, a in before.items() if a.rule == rule}
    new = {k: a for k, a in after.items() if a.rule == rule}
    both = old.keys() & new.keys()
    return RuleChange(
        rule=rule,
        before=len(old),
        after=len(new),
        added=len(new.keys() - old.keys()),
        removed=len(old.keys() - new.keys()),
        changed=sum(1 for k in both if old[k] != new[k]),
    )
