"""The YAML configuration file (CASEWATCH_CONFIG), read once when a command starts.

This is the edge: it reads the file (for every section: alert delivery reads `routing:`
through `read_config_file` too) and hands the `rules:` section to the pure validation in
agents.rules.config. Other top-level sections are someone else's to judge. Any problem stops start-up with the file,
the key and the reason, through the CLI's setting-error path (exit code 2).
"""

from pathlib import Path
from typing import Any

import yaml

from agents.rules import RulesConfig, RulesConfigError, parse_rules_config
from casewatch.settings import Settings, SettingsError


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
