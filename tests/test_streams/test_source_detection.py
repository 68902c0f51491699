"""Which adapter reads a file: its content decides, its name only when the content cannot."""

from pathlib import Path

import pytest
from openpyxl import Workbook

from streams.sources import detect_format, read_source
from streams.sources.records import SourceOptions, SourceRejection
from tests.test_streams.samples import AGREEMENTS_HEADER, census, child, episode


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("return.xml", census(child("C1", episode("2023-05-02"))), "cin-census"),
        ("return.txt", "\ufeff  " + census(child("C1", episode("2023-05-02"))), "cin-census"),  # BOM, misnamed
        ("events.jsonl", '{"event_type": "referral"}\n', "jsonl"),
        ("events.dat", '{"event_type": "referral"}\n', "jsonl"),
        ("agreements.csv", AGREEMENTS_HEADER + "\n", "agreements-csv"),
        ("export.txt", "child_id,agreement_id,made_date\n", "agreements-csv"),
        ("agreements.csv", "", "agreements-csv"),  # empty: the name decides, the adapter says what is missing
        ("notes.txt", "Dear colleague,\n", None),
    ],
)
def test_the_format_is_detected_from_the_content_first(
    tmp_path: Path, name: str, content: str, expected: str | None
) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    assert detect_format(path) == expected


def test_a_workbook_is_detected_whatever_its_name(tmp_path: Path) -> None:
    path = tmp_path / "annex.bin"
    Workbook().save(path)
    assert detect_format(path) == "annex-a"


def test_an_unknown_file_is_one_rejection_not_an_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("Dear colleague,\n")
    [item] = list(read_source(path, SourceOptions()))
    assert isinstance(item, SourceRejection) and item.code == "unknown_format"
    assert "Dear" not in item.describe()


def test_a_damaged_csv_that_starts_with_an_angle_bracket_is_still_read_as_csv(tmp_path: Path) -> None:
    # Found by hypothesis: '<' used to be enough to call any file a CIN census.
    path = tmp_path / "agreements.csv"
    path.write_bytes(b"<gibberish;;\nwa-1,C1\n")
    assert detect_format(path) == "agreements-csv"
    other = tmp_path / "unnamed"
    other.write_bytes(b"<Header/>")
    assert detect_format(other) == "cin-census"
