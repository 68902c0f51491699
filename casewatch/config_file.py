"""The YAML configuration file (CASEWATCH_CONFIG), read once when a command starts.

This is the edge: it reads the file (for every section: alert delivery reads `routing:`
through `read_config_file` too) and hands the `rules:` section to the pure validation in
agents.rules.config. Other top-level sections are someone else's to judge. Any problem stops start-up with the file,
the key and the reason, through the CLI's setting-error path (exit code 2).
"""

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml

from agents.rules import RulesConfig, RulesConfigError, parse_rules_config
from casewatch.access import Access, AccessError, Limits, parse_access, parse_limits
from casewatch.settings import Settings, SettingsError, environment_value
from streams.admission import DEFAULT_POLICY, InputPolicy
from streams.sources.records import Invalid
from streams.sources.records import team as team_name


class ConfigFileError(SettingsError):
    """The configuration file cannot be read, or a setting in it cannot be used."""


def read_config_file(path: Path) -> dict[str, Any]:
    """The file's top-level mapping ({} for an empty file)."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else type(error).__name__
        raise ConfigFileError(f"cannot read the configuration file {path}: {reason}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or "cannot be parsed"
        raise ConfigFileError(f"{path} is not valid YAML{where}: {problem}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigFileError(f"{path}: must be a YAML mapping with sections such as `rules:` and `routing:`")
    return data


def load_rules(settings: Settings) -> RulesConfig:
    """The rules configuration: the environment's base, overridden by the file's `rules:` section."""
    if settings.config_path is None:
        return settings.rules
    data = read_config_file(settings.config_path)
    try:
        return parse_rules_config(data.get("rules"), base=settings.rules)
    except RulesConfigError as error:
        raise ConfigFileError(f"{settings.config_path}: {error}") from None


def load_access(settings: Settings) -> Access:
    """Who may use the HTTP API and the page: the file's `access:` section and CASEWATCH_API_TOKENS."""
    data = read_config_file(settings.config_path) if settings.config_path is not None else {}
    try:
        return parse_access(data, legacy_tokens=settings.api_tokens, secret=environment_value, read_file=_read_text)
    except AccessError as error:
        raise ConfigFileError(f"{settings.config_path}: {error}") from None


def _read_text(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else type(error).__name__
        raise ConfigFileError(f"cannot read the password file {path}: {reason}") from None


def load_limits(settings: Settings) -> Limits:
    """The outcomes and the longest silence (`access:`), for the CLI, which needs no token."""
    if settings.config_path is None:
        return Limits()
    try:
        return parse_limits(read_config_file(settings.config_path))
    except AccessError as error:
        raise ConfigFileError(f"{settings.config_path}: {error}") from None


MAX_SKEW_HOURS = 24 * 7
INPUT_KEYS = frozenset({"future_skew_hours", "child_id_pattern", "unknown_team"})


def load_input_policy(settings: Settings) -> InputPolicy:
    """What every door admits: the file's `teams:` list and `input:` section (docs/security.md)."""
    if settings.config_path is None:
        return DEFAULT_POLICY
    data = read_config_file(settings.config_path)
    try:
        return parse_input_policy(data)
    except ValueError as error:
        raise ConfigFileError(f"{settings.config_path}: {error}") from None


def configured_teams(data: dict[str, Any]) -> frozenset[str] | None:
    """The council's teams (top-level `teams:`), or None when the file lists none.

    Read here once, for admission and for anyone else who needs the list (the worklist)."""
    raw = data.get("teams")
    if raw is None:
        return None
    if not isinstance(raw, list) or not raw:
        raise ValueError("teams: must be a non-empty list of team names")
    teams = set()
    for index, value in enumerate(raw):
        try:
            teams.add(team_name(value, f"teams[{index}]"))
        except Invalid as problem:
            raise ValueError(f"teams[{index}]: {problem.reason}") from None
    return frozenset(teams)


def parse_input_policy(data: dict[str, Any]) -> InputPolicy:
    section = data.get("input") or {}
    if not isinstance(section, dict):
        raise ValueError("input: must be a mapping")
    unknown = sorted(str(k) for k in section if k not in INPUT_KEYS)
    if unknown:
        raise ValueError(f"input: unknown key {unknown[0]!r} (known: {', '.join(sorted(INPUT_KEYS))})")
    hours = section.get("future_skew_hours", DEFAULT_POLICY.skew.total_seconds() / 3600)
    if isinstance(hours, bool) or not isinstance(hours, int | float) or not 0 <= hours <= MAX_SKEW_HOURS:
        raise ValueError(f"input.future_skew_hours: must be a number of hours from 0 to {MAX_SKEW_HOURS}")
    pattern = section.get("child_id_pattern")
    compiled = None
    if pattern is not None:
        if not isinstance(pattern, str):
            raise ValueError("input.child_id_pattern: must be a regular expression in quotes")
        try:
            compiled = re.compile(pattern)
        except re.error as error:
            raise ValueError(f"input.child_id_pattern: not a regular expression ({error})") from None
    teams = configured_teams(data)
    placeholder = section.get("unknown_team")
    if placeholder is not None and (teams is None or placeholder not in teams):
        raise ValueError("input.unknown_team: must be one of the teams listed under `teams:`")
    return InputPolicy(skew=timedelta(hours=hours), child_id_pattern=compiled, teams=teams, unknown_team=placeholder)
