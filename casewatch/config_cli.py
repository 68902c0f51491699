"""`casewatch config show|check|example`: what this deployment is set to, and from where.

`show` lists every environment variable casewatch reads with its effective value and its
source (default, environment, .env, a secret file, --config), secrets as ***, then the
rules as the configuration file and the environment leave them. `check` reads every
section of the YAML as the commands that use it would, and stops at the first problem
(exit 2). `example` prints the documented example file shipped in the package.
"""

import argparse
import sys
from importlib import resources
from typing import Any

from casewatch.config_file import load_input_policy, load_limits, load_rules, read_config_file
from casewatch.output import add_format, print_json, print_table
from casewatch.settings import VARIABLES, Settings, SettingsError, layered_environment

MASK = "***"
# The rules settings the environment gives (the file may override them).
RULES_FROM_ENVIRONMENT = {
    "link_template": "CASEWATCH_LINK_TEMPLATE",
    "rereferral_after_agreement.window_months": "CASEWATCH_WINDOW_MONTHS",
}


def configure(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(title="actions", metavar="ACTION", dest="action", required=True)
    show = actions.add_parser("show", help="every effective setting and its source; secrets as ***")
    add_format(show)
    show.set_defaults(run=run_show)
    check = actions.add_parser("check", help="read the configuration file as casewatch would; exit 2 at a problem")
    check.set_defaults(run=run_check)
    example = actions.add_parser("example", help="print the example configuration file (every setting, explained)")
    example.set_defaults(run=run_example)


def effective_settings(args: argparse.Namespace, settings: Settings) -> list[dict[str, str | None]]:
    """One row per setting: name, value (secrets masked), source."""
    layered = layered_environment(env_file=getattr(args, "env_file", None))
    rows: list[dict[str, str | None]] = []
    for variable in VARIABLES:
        value, source = layered.values.get(variable.name), layered.source(variable.name)
        if variable.name == "CASEWATCH_CONFIG" and getattr(args, "config", None) is not None:
            value, source = str(args.config), "--config"
        if value is None:
            shown = variable.default
        elif variable.name == "CASEWATCH_DATABASE_URL":
            shown = settings.database_url_masked  # the host and database are needed; the password is not
        elif variable.secret:
            shown = MASK
        else:
            shown = value
        rows.append({"name": variable.name, "value": shown, "source": source})
    rows += _rules_rows(settings, layered.sources)
    return rows


def _rules_rows(settings: Settings, env_sources: dict[str, str]) -> list[dict[str, str | None]]:
    in_file = _rules_section(settings)
    rows: list[dict[str, str | None]] = []
    for key, value in _flatten(load_rules(settings).to_mapping()):
        rule, _, param = key.partition(".")
        set_in_file = key in in_file or (param and isinstance(in_file.get(rule), dict) and param in in_file[rule])
        variable = RULES_FROM_ENVIRONMENT.get(key)
        source = "file" if set_in_file else env_sources.get(variable, "default") if variable else "default"
        rows.append({"name": f"rules.{key}", "value": None if value is None else str(value), "source": source})
    return rows


def _rules_section(settings: Settings) -> dict[str, Any]:
    if settings.config_path is None:
        return {}
    section = read_config_file(settings.config_path).get("rules")
    return section if isinstance(section, dict) else {}


def _flatten(mapping: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    for key, value in mapping.items():
        if isinstance(value, dict):
            found += _flatten(value, f"{prefix}{key}.")
        else:
            found.append((f"{prefix}{key}", sorted(value) if isinstance(value, set | frozenset) else value))
    return found


def run_show(args: argparse.Namespace, settings: Settings) -> int:
    rows = effective_settings(args, settings)
    if args.format == "json":
        print_json(rows)
        return 0
    print_table(("setting", "value", "source"), [(r["name"], r["value"], r["source"]) for r in rows], empty="")
    return 0


def run_check(args: argparse.Namespace, settings: Settings) -> int:
    from casewatch.delivery.config import load_routing
    from casewatch.report.cli import comparators

    if settings.config_path is None:
        raise SettingsError("no configuration file to check: give --config PATH or set CASEWATCH_CONFIG")
    load_rules(settings)
    load_routing(settings.config_path)
    load_input_policy(settings)
    load_limits(settings)
    comparators(settings)
    print(f"{settings.config_path}: rules, routing, teams, input, access limits and report are valid")
    return 0


def example_text() -> str:
    """The example configuration, as shipped in the package (casewatch/examples)."""
    return resources.files("casewatch").joinpath("examples", "casewatch.example.yaml").read_text(encoding="utf-8")


def run_example(args: argparse.Namespace, settings: Settings) -> int:
    sys.stdout.write(example_text())
    return 0
