"""The configuration file's `teams:` and `input:`: what every door admits (issue 14)."""

from datetime import timedelta
from pathlib import Path

import pytest

from casewatch.config_file import ConfigFileError, configured_teams, load_input_policy, parse_input_policy
from casewatch.settings import Settings

EXAMPLE = Path(__file__).parents[2] / "casewatch" / "examples" / "casewatch.example.yaml"


def test_the_example_file_gives_the_default_policy() -> None:
    policy = load_input_policy(Settings(config_path=EXAMPLE))
    assert (policy.skew, policy.teams, policy.child_id_pattern) == (timedelta(days=1), None, None)


def test_teams_pattern_skew_and_placeholder_are_read() -> None:
    data = {"teams": ["Front Door", "CIN East"],
            "input": {"unknown_team": "Front Door", "child_id_pattern": "C[0-9]+", "future_skew_hours": 2}}  # fmt: skip
    policy = parse_input_policy(data)
    assert policy.teams == configured_teams(data) == frozenset({"Front Door", "CIN East"})
    assert policy.unknown_team == "Front Door" and policy.skew == timedelta(hours=2)
    assert policy.child_id_pattern is not None and policy.child_id_pattern.fullmatch("C12")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("input: {x: 1}", "input: unknown key 'x'"),
        ("teams: ['12 Acacia Avenue']", "teams[0]: is not a team name"),
        ("teams: []", "teams: must be a non-empty list"),
        ("input: {unknown_team: X}", "input.unknown_team: must be one of the teams"),
        ("input: {future_skew_hours: 1000}", "input.future_skew_hours: must be a number of hours from 0 to 168"),
        ("input: {child_id_pattern: '('}", "input.child_id_pattern: not a regular expression"),
    ],
)
def test_a_bad_setting_stops_start_up_with_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "casewatch.yaml"
    path.write_text(text + "\n")
    with pytest.raises(ConfigFileError, match=message.replace("(", r"\(").replace("[", r"\[")):
        load_input_policy(Settings(config_path=path))
