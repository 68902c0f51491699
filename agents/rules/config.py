"""The rules configuration: a plain mapping (the `rules:` section of the YAML file) in,
a validated `RulesConfig` out, or an error that names the key and the reason.

Pure: the file is read at the edge (casewatch.config_file); this module only judges
what it was given, so the worker, replay and what-if all validate the same way.
"""

import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from functools import cached_property
from typing import Any, TypeVar, cast

from agents.rules import (
    agreement_breach_without_followup,
    agreement_disproportionate_to_risk,
    agreement_review_overdue,
    child_views_not_recorded,
    plan_not_smart,
    repeated_agreements,
    rereferral_after_agreement,
    sexual_abuse_indicator_not_recorded,
    team_rereferral_rate_high,
)
from agents.rules.base import EventRule, Rule, RuleParams, TimeRule, setting

# Every rule, in the order the documentation and the example file list them.
ALL_RULES: tuple[Rule[Any], ...] = (
    rereferral_after_agreement.RULE,
    agreement_disproportionate_to_risk.RULE,
    agreement_review_overdue.RULE,
    agreement_breach_without_followup.RULE,
    repeated_agreements.RULE,
    sexual_abuse_indicator_not_recorded.RULE,
    plan_not_smart.RULE,
    child_views_not_recorded.RULE,
    team_rereferral_rate_high.RULE,
)
RULES_BY_ID: dict[str, Rule[Any]] = {rule.id: rule for rule in ALL_RULES}

P = TypeVar("P", bound=RuleParams)


class RulesConfigError(ValueError):
    """A setting casewatch cannot use. `key` is its dotted path, e.g. rules.x.grace_days."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"{key}: {reason}")
        self.key = key
        self.reason = reason


def _default_params() -> dict[str, RuleParams]:
    return {rule.id: rule.defaults() for rule in ALL_RULES}


@dataclass(frozen=True)
class RulesConfig:
    """Settings of the rules. Defaults follow shared/DOMAIN.md and the DfE definitions."""

    # Facts older than this, counted back from the child's (or team's) latest event, are
    # forgotten: it bounds state and must cover every rule's look-back.
    horizon_months: int = setting(24, "months of facts kept per child and team; covers every look-back",
                                  minimum=1)  # fmt: skip
    link_template: str | None = setting(None, "link to a child's record in the case system, with {child_id}")
    timer_seconds: float = setting(30.0, "how often each live worker runs the time-driven rules", minimum=0.1)
    # While events arrive, a live worker judges deadlines by event time, not its wall clock:
    # the history it has not read yet may settle them (see agents.sweep).
    lateness_days: int = setting(0, "days event time must pass a deadline before it is judged while events "
                                 "arrive (live and replay)", minimum=0)  # fmt: skip
    quiet_seconds: float = setting(60.0, "seconds with no new event on a partition after which a live worker "
                                   "judges its deadlines by the wall clock", minimum=0.0)  # fmt: skip
    params: Mapping[str, RuleParams] = field(default_factory=_default_params)

    def of(self, rule: Rule[P]) -> P:
        """This rule's parameters, typed as the rule declares them."""
        return cast(P, self.params[rule.id])

    @property
    def enabled(self) -> frozenset[str]:
        return frozenset(rule_id for rule_id, params in self.params.items() if params.enabled)

    def link(self, child_id: str) -> str | None:
        return self.link_template.format(child_id=child_id) if self.link_template else None

    # What the engine runs, worked out once per configuration rather than once per event.
    @cached_property
    def event_rules(self) -> dict[str, tuple[tuple[EventRule[Any], RuleParams], ...]]:
        """Enabled event-driven rules, with their parameters, by the event type that triggers them."""
        enabled = [(r, self.params[r.id]) for r in ALL_RULES if isinstance(r, EventRule) and self.params[r.id].enabled]
        kinds = {kind for rule, _ in enabled for kind in rule.triggers}
        return {kind: tuple((r, p) for r, p in enabled if kind in r.triggers) for kind in kinds}

    @cached_property
    def time_rules(self) -> tuple[tuple[TimeRule[Any], RuleParams], ...]:
        return tuple((r, self.params[r.id]) for r in ALL_RULES if isinstance(r, TimeRule) and self.params[r.id].enabled)

    @cached_property
    def time_triggers(self) -> frozenset[str]:
        """Event types after which a child's next deadline may have moved."""
        return frozenset(kind for rule, _ in self.time_rules for kind in rule.triggers)

    def with_params(self, rule_id: str, **changes: Any) -> "RulesConfig":
        """A copy with some of one rule's parameters changed (validated like the file)."""
        return parse_rules_config({rule_id: changes}, base=self)

    def to_mapping(self) -> dict[str, Any]:
        """The settings as the YAML `rules:` section would hold them."""
        out: dict[str, Any] = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "params"}
        for rule in ALL_RULES:
            params = self.params[rule.id]
            out[rule.id] = {f.name: _plain(getattr(params, f.name)) for f in fields(params)}
        return out


def parse_rules_config(data: Any, base: RulesConfig | None = None) -> RulesConfig:
    """Validate a `rules:` mapping; keys it leaves out keep their values from `base`."""
    base = base if base is not None else RulesConfig()
    if data is None:
        return base
    if not isinstance(data, Mapping):
        raise RulesConfigError("rules", f"must be a mapping of settings, not {_kind(data)}")
    general: dict[str, Any] = {}
    params = dict(base.params)
    general_fields = {f.name: f for f in fields(RulesConfig) if f.name != "params"}
    for key, value in data.items():
        path = f"rules.{key}"
        if key in RULES_BY_ID:
            params[key] = _parse_params(path, params[key], value)
        elif key in general_fields:
            general[key] = _coerce(path, general_fields[key], _hints(RulesConfig)[key], value)
        else:
            known = ", ".join([*general_fields, *RULES_BY_ID])
            raise RulesConfigError(path, f"unknown setting (known: {known})")
    config = replace(base, params=params, **general)
    _check(config)
    return config


def _parse_params(path: str, current: RuleParams, value: Any) -> RuleParams:
    if isinstance(value, bool):  # `rule_id: false` is short for `enabled: false`
        return replace(current, enabled=value)
    if not isinstance(value, Mapping):
        raise RulesConfigError(path, f"must be a mapping of the rule's settings (or true/false), not {_kind(value)}")
    known = {f.name: f for f in fields(current)}
    changes = {}
    for key, item in value.items():
        if key not in known:
            raise RulesConfigError(f"{path}.{key}", f"unknown setting (known: {', '.join(known)})")
        changes[key] = _coerce(f"{path}.{key}", known[key], _hints(type(current))[key], item)
    return replace(current, **changes)


def _coerce(path: str, spec: Any, hint: Any, value: Any) -> Any:
    """Check one value against its declared type and limits; return it in that type."""
    limits = spec.metadata
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is bool:
        if not isinstance(value, bool):
            raise RulesConfigError(path, f"must be true or false, not {value!r}")
        return value
    if hint is int or hint is float:
        number_ok = isinstance(value, int) or (hint is float and isinstance(value, float))
        if isinstance(value, bool) or not number_ok:
            wanted = "a whole number" if hint is int else "a number"
            raise RulesConfigError(path, f"must be {wanted}, not {value!r}")
        if limits.get("minimum") is not None and value < limits["minimum"]:
            raise RulesConfigError(path, f"must be at least {limits['minimum']}, not {value!r}")
        if limits.get("maximum") is not None and value > limits["maximum"]:
            raise RulesConfigError(path, f"must be at most {limits['maximum']}, not {value!r}")
        return hint(value)
    if origin is typing.Literal:
        if value not in args:
            raise RulesConfigError(path, f"must be one of {', '.join(args)}, not {value!r}")
        return value
    if origin is frozenset:
        if isinstance(value, str | int):
            value = [value]
        if not isinstance(value, list | tuple) or not all(isinstance(v, str | int) for v in value):
            raise RulesConfigError(path, f"must be a list of codes, not {_kind(value)}")
        items = frozenset(str(v) for v in value)
        unknown = sorted(items - limits["choices"]) if "choices" in limits else []
        if unknown:
            known = ", ".join(sorted(limits["choices"]))
            raise RulesConfigError(path, f"unknown codes {', '.join(unknown)} (known: {known})")
        return items
    if origin in (types.UnionType, typing.Union) and str in args:  # an optional text setting
        if value is not None and not isinstance(value, str):
            raise RulesConfigError(path, f"must be text, not {_kind(value)}")
        return value
    raise TypeError(f"{path}: no validation for settings of type {hint}")  # a programming error, not a user's


def _check(config: RulesConfig) -> None:
    """What no single value shows: the link template's shape, and a horizon that covers every window."""
    if config.link_template is not None:
        try:
            config.link_template.format(child_id="C1")
        except (KeyError, IndexError, ValueError):
            raise RulesConfigError(
                "rules.link_template", "may only contain the placeholder {child_id} (and must contain it)"
            ) from None
        if "{child_id}" not in config.link_template:
            raise RulesConfigError("rules.link_template", "must contain {child_id}")
    needs = [
        (months, f"{rule_id}.{name}")
        for rule_id, params in config.params.items()
        if params.enabled
        for name, months in vars(params).items()
        if name.endswith("_months")
    ]
    if needs:
        months, where = max(needs)
        if config.horizon_months < months:
            reason = f"must be at least {months}, the look-back of rules.{where}, not {config.horizon_months}"
            raise RulesConfigError("rules.horizon_months", reason)


def _hints(cls: Any) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _plain(value: Any) -> Any:
    return sorted(value) if isinstance(value, frozenset) else value


def _kind(value: Any) -> str:
    name = type(value).__name__
    return "nothing" if value is None else f"{'an' if name[0] in 'aeiou' else 'a'} {name}"
