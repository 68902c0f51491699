"""What listing and reporting commands print: a table for people, or JSON for programs.

Every such command takes `--format table|json` (add_format); JSON is one document on
standard output, so `casewatch alerts --format json | jq` always parses.
"""

import argparse
import json
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

FORMATS = ("table", "json")


def add_format(parser: argparse.ArgumentParser, *, choices: Sequence[str] = FORMATS, default: str = "table") -> None:
    parser.add_argument("--format", choices=tuple(choices), default=default,
                        help=f"{' or '.join(choices)} (default {default}); json is one document on standard "
                             "output")  # fmt: skip


def print_json(document: Any) -> None:
    print(json.dumps(document, indent=2, default=_jsonable))


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]], *, empty: str) -> None:
    """Columns as wide as their widest cell; the last one is left ragged. `empty` when there are no rows."""
    if not rows:
        print(empty)
        return
    cells = [[_cell(value) for value in row] for row in rows]
    widths = [max(len(h), *(len(row[i]) for row in cells)) for i, h in enumerate(headers)]
    for row in [list(headers), *cells]:
        print("  ".join(text.ljust(width) for text, width in zip(row, widths, strict=True)).rstrip())


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    return str(value)


def _jsonable(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")
