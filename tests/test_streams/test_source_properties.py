"""Mutated files into every adapter: nothing escapes, every record is accepted or rejected.

Hypothesis mutates a valid file (a value replaced, an element or column dropped, a block
duplicated, bytes inserted, the file cut short) and checks two things: no exception leaves
the adapter, and each record of the file is accounted for, either as its events or as a
rejection with a code and a reason.
"""

import csv
import io
import json
import re
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from schemas.events import Referral, WrittenAgreement
from streams.sources import Item, SourceOptions, SourceRejection, read_source
from tests.test_streams.samples import AGREEMENTS_HEADER, assessment, census, child, cp_plan, episode, section47

OPTIONS = SourceOptions(authority="201", today=date(2026, 11, 1))
BOUNDED = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

CENSUS = census(
    child("C1", episode("2023-05-02", assessment("2023-05-03", "2023-06-01", "3A", "19C"), section47("2023-05-10"),
                        cp_plan("2023-05-24", "2023-11-20", reviews=("2023-08-01",)), closure="2023-12-01",
                        reason="RC8"),
          episode("2024-01-05")),
    child("C2", episode("2023-09-09", assessment("2023-09-10"), source="5D")),
)  # fmt: skip
AGREEMENTS = "\n".join([
    AGREEMENTS_HEADER,
    "wa-1,C1,CIN East,2024-01-10,2024-02-10,2024-02-12,2024-03-01;2024-04-02,2024-06-30,yes",
    "wa-2,C2,CIN West,2024-02-10,,,,,no",
    "wa-3,C3,,2024-03-10,2024-04-10,,2024-03-20,,n",
]) + "\n"  # fmt: skip
_T = datetime(2024, 1, 9, 10, tzinfo=UTC)
JSON_LINES = "".join(
    Referral(event_id=f"r{i}", child_id=f"C{i}", occurred_at=_T, recorded_at=_T, team="T", source="x").model_dump_json()
    + "\n"
    for i in range(3)
)

noise = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)
junk_bytes = st.binary(min_size=1, max_size=8)


def read_records(suffix: str, data: bytes, *whole_file: str) -> tuple[list[Item], list[SourceRejection]] | None:
    """Items and rejections, or None when the file as a whole was refused (with one of `whole_file`'s codes)."""
    items = read_all(suffix, data)
    rejections = [i for i in items if isinstance(i, SourceRejection)]
    return None if any(r.code in whole_file for r in rejections) else (items, rejections)


def read_all(suffix: str, data: bytes) -> list[Item]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"source{suffix}"
        path.write_bytes(data)
        items = list(read_source(path, OPTIONS))
    for item in items:
        if isinstance(item, SourceRejection):
            assert item.code and item.reason and item.position, item
    return items


# -- mutations over text ---------------------------------------------------------------


@st.composite
def mutated(draw: st.DrawFn, text: str, spans: Callable[[str], list[tuple[int, int]]]) -> bytes:
    """Up to three edits: a span's content replaced or dropped, a span duplicated, bytes in, a cut."""
    for _ in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["replace", "drop", "duplicate", "insert", "truncate"]))
        found = spans(text)
        if kind in ("replace", "drop", "duplicate") and found:
            start, end = draw(st.sampled_from(found))
            new = {"replace": draw(noise), "drop": "", "duplicate": text[start:end] * 2}[kind]
            text = text[:start] + new + text[end:]
        elif kind == "insert":
            at = draw(st.integers(0, len(text)))
            text = text[:at] + draw(junk_bytes).decode("latin-1") + text[at:]
        elif kind == "truncate":
            text = text[: draw(st.integers(0, len(text)))]
    return text.encode("utf-8", "surrogatepass")


def xml_spans(text: str) -> list[tuple[int, int]]:
    """The text of every leaf element, and every whole leaf element or CINdetails block."""
    values = [(m.start(1), m.end(1)) for m in re.finditer(r">([^<>]*)</", text)]
    elements = [m.span() for m in re.finditer(r"<(\w+)>[^<>]*</\1>", text)]
    blocks = [m.span() for m in re.finditer(r"<CINdetails>.*?</CINdetails>", text, re.DOTALL)]
    return values + elements + blocks


def csv_spans(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in re.finditer(r"[^,\n]+", text)] + [m.span() for m in re.finditer(r"[^\n]*\n", text)]


def json_spans(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in re.finditer(r'"[^"]*"|[\d.]+|null|true|false', text)]


# -- the properties ----------------------------------------------------------------------


@BOUNDED
@given(mutated(CENSUS, xml_spans))
def test_cin_census_every_episode_is_accounted_for(data: bytes) -> None:
    read = read_records(".xml", data, "malformed_xml", "unsafe_xml", "not_cin_census")
    if read is None:
        return  # the file as a whole was refused, with its reason: the records in it were not reached
    items, rejections = read
    root = ET.fromstring(data)  # the adapter found it well-formed: so does the standard parser
    episodes = refused = 0
    for c, kid in enumerate(root.findall("Children/Child"), start=1):
        where = f"/Message/Children/Child[{c}]"
        if any(r.position == f"{where}/ChildIdentifiers/LAchildID" for r in rejections):
            continue  # the child was refused whole, with its reason
        for e, _ in enumerate(kid.findall("CINdetails"), start=1):
            episodes += 1
            refused += any(_refuses_referral(r, f"{where}/CINdetails[{e}]") for r in rejections)
    assert sum(isinstance(i, Referral) for i in items) + refused == episodes


# The fields the reader builds an episode's referral from (besides its date).
REFERRAL_FIELDS = ("ReferralSource", "PrimaryNeedCode", "ReferralNFA")


def _refuses_referral(rejection: SourceRejection, episode_at: str) -> bool:
    """A rejection of the episode's referral: the episode whole, or its referral's own fields."""
    if rejection.position == episode_at:
        return rejection.field is None or rejection.field in REFERRAL_FIELDS
    if not rejection.position.startswith(episode_at + "/"):
        return False
    return "whole episode" in rejection.reason or rejection.field in REFERRAL_FIELDS


@BOUNDED
@given(mutated(AGREEMENTS, csv_spans))
def test_agreements_csv_every_row_is_accounted_for(data: bytes) -> None:
    read = read_records(".csv", data, "missing_column", "unreadable", "unknown_format")
    if read is None:
        return
    items, rejections = read
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))[1:]
    filled = sum(1 for row in rows if any(cell.strip() for cell in row))
    made = sum(isinstance(i, WrittenAgreement) and i.action == "made" for i in items)
    assert made + len(rejections) == filled
    assert all(re.fullmatch(r"row \d+", r.position) for r in rejections)


@BOUNDED
@given(mutated(JSON_LINES, json_spans))
def test_json_lines_every_line_is_accounted_for(data: bytes) -> None:
    items = read_all(".jsonl", data)
    if any(isinstance(i, SourceRejection) and i.code == "unknown_format" for i in items):
        return
    assert len(items) == sum(1 for line in data.split(b"\n") if line.strip())


cell = st.one_of(
    st.none(), noise, st.integers(-10**6, 10**7), st.floats(allow_nan=True), st.booleans(),
    st.datetimes(min_value=datetime(1800, 1, 1), max_value=datetime(2100, 1, 1)),
    st.sampled_from(["2024-01-09", "09/01/2024", "#N/A", "1A", "s) 8: Other", "RC8", "N1 - Abuse", "C9"]),
)  # fmt: skip
LIST_6 = ["Child Unique ID", "CIN Start Date", "Primary Need Code", "CIN Closure Date", "Reason for Closure",
          "Allocated Team"]  # fmt: skip
LIST_6_ROW = [1001, "2024-01-09", "N1 - Abuse or Neglect", "2024-06-01", "RC8", "CIN East"]


@BOUNDED
@given(st.lists(st.lists(st.tuples(st.integers(0, len(LIST_6) - 1), cell), max_size=3), min_size=1, max_size=4))
def test_annex_a_every_row_is_accounted_for(edits: list[list[tuple[int, Any]]]) -> None:
    rows = []
    for row_edits in edits:
        row = list(LIST_6_ROW)
        for column, value in row_edits:
            row[column] = _printable(value)
        rows.append(row)
    book = Workbook()
    sheet = book.create_sheet("List 6")
    for row in [LIST_6, *rows]:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    items = read_all(".xlsx", buffer.getvalue())
    rejections = [i for i in items if isinstance(i, SourceRejection)]
    assert all(re.fullmatch(r"List 6 row \d+", r.position) for r in rejections)
    filled = sum(1 for row in rows if not all(_blank(v) for v in row))
    # Each List 6 row is one CIN episode: its referral, or its rejection.
    assert sum(isinstance(i, Referral) for i in items) + len(rejections) == filled


def _printable(value: Any) -> Any:
    """xlsx cannot hold control characters: openpyxl refuses them when writing the test file."""
    return re.sub(r"[\x00-\x1f\x7f]", "", value) if isinstance(value, str) else value


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def test_the_unmutated_files_are_read_without_rejections() -> None:
    """The base of every mutation is valid, so each rejection above comes from a mutation."""
    for suffix, text in ((".xml", CENSUS), (".csv", AGREEMENTS), (".jsonl", JSON_LINES)):
        items = read_all(suffix, text.encode())
        assert not [i for i in items if isinstance(i, SourceRejection)], suffix
    assert json.loads(JSON_LINES.splitlines()[0])["event_type"] == "referral"
