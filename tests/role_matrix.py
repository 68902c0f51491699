"""The role matrix of docs/http-api.md ("Roles, route by route"), read as the tests' table."""

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, cast

from casewatch.access import ROLES, Role

DOC = Path(__file__).resolve().parent.parent / "docs" / "http-api.md"
Verdict = Literal["yes", "teams", "no"]


@dataclass(frozen=True)
class Row:
    method: str
    path: str
    verdicts: dict[Role, Verdict]


def role_matrix(doc: Path = DOC) -> list[Row]:
    text = doc.read_text(encoding="utf-8")
    section = text.split("### Roles, route by route", 1)[1].splitlines()
    start = next(n for n, line in enumerate(section) if line.startswith("| route |"))
    header = section[start]
    table = section[start + 2 :]
    lines = table[: next((n for n, line in enumerate(table) if not line.startswith("|")), len(table))]
    roles = [cell.strip() for cell in header.strip("|").split("|")][1:]
    assert tuple(roles) == ROLES, f"the matrix's columns are {roles}, the roles {ROLES}"
    rows = []
    for line in lines:
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        match = re.fullmatch(r"`(GET|POST|DELETE) (\S+)`", cells[0])
        assert match, f"not a route: {cells[0]}"
        verdicts = {
            cast(Role, role): cast(Verdict, "no" if v == "–" else v) for role, v in zip(roles, cells[1:], strict=True)
        }
        assert set(verdicts.values()) <= {"yes", "teams", "no"}, line
        rows.append(Row(match[1], match[2], verdicts))
    return rows
