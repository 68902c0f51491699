"""Issue 14, finding 7: a record too large is refused with its reason, and the run goes on."""

import gc
import json
import zipfile
from pathlib import Path

from schemas.events import CaseEvent
from streams.codec import Rejection
from streams.jsonl import CHUNK_LINES, read_jsonl
from streams.sources import SourceOptions, SourceRejection, read_source
from streams.sources.cin_census import MAX_CHILD_BYTES
from tests.test_agents.events import referral

EPISODE = ("<CINdetails><CINreferralDate>2024-01-0{d}</CINreferralDate><ReferralSource>1A</ReferralSource>"
           "<PrimaryNeedCode>N1</PrimaryNeedCode></CINdetails>")  # fmt: skip


def child(child_id: str, episodes: int) -> str:
    body = "".join(EPISODE.format(d=1 + i % 9) for i in range(episodes))
    return f"<Child><ChildIdentifiers><LAchildID>{child_id}</LAchildID></ChildIdentifiers>{body}</Child>"


def test_a_child_element_over_the_cap_is_refused_and_the_children_after_it_are_read(tmp_path: Path) -> None:
    huge = MAX_CHILD_BYTES // len(EPISODE) + 2000
    path = tmp_path / "census.xml"
    path.write_text(
        '<?xml version="1.0"?><Message><Header><CollectionDetails><Year>2024</Year>'
        "<ReferenceDate>2024-03-31</ReferenceDate></CollectionDetails><Source><LEA>201</LEA></Source></Header>"
        f"<Children>{child('C1', 1)}{child('C2', huge)}{child('C3', 1)}</Children></Message>"
    )
    items = list(read_source(path, SourceOptions()))
    rejections = [i for i in items if isinstance(i, SourceRejection)]
    assert [(r.position, r.code) for r in rejections] == [("/Message/Children/Child[2]", "too_large")]
    assert sorted(i.child_id for i in items if not isinstance(i, SourceRejection)) == ["C1", "C3"]


def test_a_json_line_over_the_cap_is_refused_unread_and_the_lines_after_it_are_read(tmp_path: Path) -> None:
    good = referral("2024-05-02").model_dump_json()
    path = tmp_path / "events.jsonl"
    with open(path, "w") as out:
        out.write(good + "\n")
        out.write(json.dumps({"event_type": "referral", "padding": "x" * 3_000_000}) + "\n")
        out.write(referral("2024-06-02").model_dump_json() + "\n")
    items = list(read_source(path, SourceOptions()))
    assert [type(i).__name__ for i in items] == ["Referral", "SourceRejection", "Referral"]
    rejection = items[1]
    assert isinstance(rejection, SourceRejection)
    assert (rejection.position, rejection.code, rejection.raw) == ("2", "too_large", None)


def _annex_a(tmp_path: Path, rows: int) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "List 1"
    sheet.append(["Child Unique ID", "Date of Contact", "Contact Source"])
    for index in range(rows):
        sheet.append([f"C{index}", "2024-01-10", "1A"])
    path = tmp_path / "annex-a.xlsx"
    book.save(path)
    return path


def _rewrite(path: Path, change: dict[str, bytes | None], add: dict[str, bytes] | None = None) -> None:
    """The workbook with some of its parts replaced (or, with None, kept) and parts added."""
    with zipfile.ZipFile(path) as archive:
        parts = {i.filename: archive.read(i) for i in archive.infolist()}
    for name, value in change.items():
        if value is not None:
            parts[name] = value
    parts |= add or {}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, value in parts.items():
            archive.writestr(name, value)


def test_a_zip_bomb_workbook_is_refused_before_it_is_unpacked(tmp_path: Path) -> None:
    path = _annex_a(tmp_path, 2)
    _rewrite(path, {}, add={"xl/padding.xml": b"<a>" + b"A" * 50_000_000 + b"</a>"})
    assert path.stat().st_size < 1_000_000
    [rejection] = list(read_source(path, SourceOptions(authority="201")))
    assert isinstance(rejection, SourceRejection) and rejection.code == "too_large"
    assert "zip bomb" in rejection.reason


def test_every_row_is_read_whatever_a_stale_dimension_says(tmp_path: Path) -> None:
    path = _annex_a(tmp_path, 4)
    with zipfile.ZipFile(path) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml")
    stale = sheet.replace(b'<dimension ref="A1:C5" />', b'<dimension ref="A1:C2" />')
    assert stale != sheet
    _rewrite(path, {"xl/worksheets/sheet1.xml": stale})
    events: list[CaseEvent] = [i for i in read_source(path, SourceOptions(authority="201"))
                               if not isinstance(i, SourceRejection)]  # fmt: skip
    assert sorted(e.child_id for e in events) == ["C0", "C1", "C2", "C3"]


def test_json_lines_read_in_chunks_keep_every_line_and_its_number_across_the_chunk_boundaries(tmp_path: Path) -> None:
    # read_jsonl decodes CHUNK_LINES lines at a time (the garbage collector paused): the
    # lines either side of each boundary, blank ones and a refused one among them, all come through.
    lines = [referral("2024-05-02", child=f"C{i}").model_dump_json() for i in range(2 * CHUNK_LINES + 3)]
    lines[CHUNK_LINES - 1] = ""
    lines[CHUNK_LINES] = "{not json"
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(lines) + "\n")
    read = list(read_jsonl(path))
    assert [line.number for line in read] == [n + 1 for n in range(len(lines)) if n != CHUNK_LINES - 1]
    refused = [line.number for line in read if isinstance(line.result, Rejection)]
    assert refused == [CHUNK_LINES + 1]
    assert gc.isenabled()
