"""The CIN census adapter: every episode's records, their validation, safety and identity."""

import tracemalloc
from datetime import date
from pathlib import Path

import pytest

from schemas.events import Assessment, CaseClosure, CaseEvent, Plan, Referral, Section47Enquiry
from streams.sources import SourceOptions, SourceRejection, read_source
from tests.test_streams.samples import assessment, census, child, cin_plan, cp_plan, episode, section47, write

TODAY = SourceOptions(today=date(2026, 11, 1))
SAMPLE = Path(__file__).parents[2] / ".." / "shared" / "data" / "external" / "cin-2022.xml"


def read(tmp_path: Path, text: str, options: SourceOptions = TODAY) -> tuple[list[CaseEvent], list[SourceRejection]]:
    items = list(read_source(write(tmp_path, "census.xml", text), options))
    events = [i for i in items if not isinstance(i, SourceRejection)]
    return events, [i for i in items if isinstance(i, SourceRejection)]


def test_an_episode_becomes_its_referral_closure_assessment_enquiry_and_plans(tmp_path: Path) -> None:
    text = census(
        child(
            "C1001",
            episode(
                "2023-05-02",
                assessment("2023-05-03", "2023-06-01", "3A", "19C"),
                assessment("2024-01-10"),  # not authorised: no event (its factors are not known yet)
                section47("2023-05-10", "2023-05-24"),
                cp_plan("2023-05-24", "2023-11-20", initial="NEG", latest="SAB", reviews=("2023-08-20",)),
                cin_plan("2023-11-20", "2024-01-15"),
                closure="2024-01-15",
                reason="RC8",
                source="5D",
                need="N1",
            ),
        )
    )
    events, rejections = read(tmp_path, text)
    assert rejections == []
    by_type = {(e.event_type, e.day.isoformat()) for e in events}
    assert by_type == {
        ("referral", "2023-05-02"),
        ("assessment", "2023-06-01"),
        ("section47", "2023-05-10"),
        ("plan", "2023-05-24"),
        ("plan", "2023-08-20"),
        ("plan", "2023-11-20"),
        ("plan", "2024-01-15"),
        ("closure", "2024-01-15"),
    }
    referral = next(e for e in events if isinstance(e, Referral))
    assert (referral.child_id, referral.referral_source, referral.primary_need) == ("C1001", "5D", "N1")
    assert referral.team == "LA 201" and referral.source == "cin-census"
    assert next(e for e in events if isinstance(e, Assessment)).factors == ["19C", "3A"]
    assert next(e for e in events if isinstance(e, Section47Enquiry)).icpc_date == date(2023, 5, 24)
    assert next(e for e in events if isinstance(e, CaseClosure)).reason == "RC8"
    cp = sorted((e.day, e.action, e.categories) for e in events if isinstance(e, Plan) and e.plan_type == "cp")
    assert cp == [
        (date(2023, 5, 24), "started", ["NEG", "SAB"]),
        (date(2023, 8, 20), "reviewed", ["NEG", "SAB"]),
        (date(2023, 11, 20), "ended", ["NEG", "SAB"]),
    ]
    cin = sorted((e.day, e.action) for e in events if isinstance(e, Plan) and e.plan_type == "cin")
    assert cin == [(date(2023, 11, 20), "started"), (date(2024, 1, 15), "ended")]
    assert len({e.plan_id for e in events if isinstance(e, Plan)}) == 2


def test_a_rejection_points_at_the_element_by_xpath_and_the_rest_goes_on(tmp_path: Path) -> None:
    text = census(
        child("C1", episode("2023-05-02")),
        child("C2", episode("2023-04-01"), episode("2023-06-01", closure="2023-07-01", reason="RC99")),
    )
    events, rejections = read(tmp_path, text)
    [rejection] = rejections
    assert rejection.position == "/Message/Children/Child[2]/CINdetails[2]/ReasonForClosure"
    assert (rejection.field, rejection.code) == ("ReasonForClosure", "unknown_code")
    assert "RC99" not in rejection.reason  # the value is kept apart, and only because it is code-shaped
    assert rejection.value == "RC99"
    assert sorted((e.child_id, e.event_type, e.day.isoformat()) for e in events) == [
        ("C1", "referral", "2023-05-02"),
        ("C2", "referral", "2023-04-01"),
        ("C2", "referral", "2023-06-01"),
    ]


@pytest.mark.parametrize(
    ("part", "closure", "field", "code"),
    [
        (assessment("2023-04-01", "2023-06-01"), "", "AssessmentActualStartDate", "date_order"),
        (assessment("2023-05-03", "2023-05-01"), "", "AssessmentAuthorisationDate", "date_order"),
        (assessment("2023-05-03", "2023-09-01"), "2023-08-01", "AssessmentAuthorisationDate", "future_date"),
        (assessment("2023-05-03", "2023-06-01", "21", "3A"), "", "FactorsIdentifiedAtAssessment/AssessmentFactors",
         "invalid_combination"),
        (assessment("2023-05-03", "2023-06-01", "99Z"), "", "FactorsIdentifiedAtAssessment/AssessmentFactors",
         "unknown_code"),
        (section47("2023-05-10", "2023-05-01"), "", "DateOfInitialCPC", "date_order"),
        (section47("2024-05-10"), "", "S47ActualStartDate", "future_date"),
        (cp_plan("2023-06-01", "2023-05-30"), "", "CPPendDate", "date_order"),
        (cp_plan("2023-06-01", initial="XYZ"), "", "InitialCategoryOfAbuse", "unknown_code"),
        (cp_plan("2023-06-01", reviews=("2023-05-20",)), "", "Reviews/CPPreviewDate", "date_order"),
        (cin_plan("2023-06-01", "2023-13-40"), "", "CINPlanEndDate", "invalid_date"),
        (cin_plan(""), "", "CINPlanStartDate", "missing"),
    ],
)  # fmt: skip
def test_each_record_is_checked_on_its_own(tmp_path: Path, part: str, closure: str, field: str, code: str) -> None:
    reason = "RC8" if closure else ""
    events, rejections = read(
        tmp_path, census(child("C1", episode("2023-05-02", part, closure=closure, reason=reason)))
    )
    [rejection] = rejections
    assert (rejection.field, rejection.code) == (field, code)
    assert rejection.position.startswith("/Message/Children/Child[1]/CINdetails[1]/")
    assert rejection.position.endswith(field)
    assert "referral" in {e.event_type for e in events}  # the episode's other records are kept


@pytest.mark.parametrize(
    ("referral", "closure", "field", "code"),
    [
        ("2023-05-02", "2023-05-01", "CINclosureDate", "date_order"),  # closure before referral
        ("2024-04-02", "", "CINreferralDate", "future_date"),  # after the reference date 2024-03-31
        ("02/05/2023x", "", "CINreferralDate", "invalid_date"),
        ("", "", "CINreferralDate", "missing"),
    ],
)
def test_an_episode_whose_referral_cannot_stand_is_skipped_whole(
    tmp_path: Path, referral: str, closure: str, field: str, code: str
) -> None:
    text = census(child("C1", episode(referral, assessment("2023-05-03", "2023-06-01"), closure=closure, reason="RC8")))
    events, rejections = read(tmp_path, text)
    assert events == []
    [rejection] = rejections
    assert (rejection.field, rejection.code) == (field, code)
    assert "whole episode" in rejection.reason


def test_dates_are_bounded_by_today_when_the_reference_date_is_later(tmp_path: Path) -> None:
    text = census(child("C1", episode("2026-10-01"), episode("2026-11-05")), reference="2027-03-31", year=2027)
    events, rejections = read(tmp_path, text)
    assert [e.day for e in events] == [date(2026, 10, 1)]
    assert [(r.code, r.reason) for r in rejections] == [
        ("future_date", "is after today 2026-11-01: the whole episode is skipped")
    ]


def test_closure_needs_its_reason_and_the_reason_its_date(tmp_path: Path) -> None:
    text = census(child("C1", episode("2023-05-02", closure="2023-06-01"), episode("2023-07-02", reason="RC8")))
    events, rejections = read(tmp_path, text)
    assert sorted((r.field, r.code) for r in rejections) == [
        ("CINclosureDate", "missing"),
        ("ReasonForClosure", "missing"),
    ]
    assert [e.event_type for e in events] == ["referral", "referral"]


@pytest.mark.parametrize(
    ("year", "factor", "accepted"),
    [(2020, "18A", True), (2020, "19B", False), (2021, "18A", False), (2021, "18C", True), (2017, "19A", True),
     (2021, "24A", False), (2022, "24A", True), (2026, "19C", True)],
)  # fmt: skip
def test_factor_codes_follow_the_census_year(tmp_path: Path, year: int, factor: str, accepted: bool) -> None:
    done = assessment(f"{year - 1}-05-03", f"{year - 1}-06-01", factor)
    text = census(child("C1", episode(f"{year - 1}-05-02", done)), year=year)
    events, rejections = read(tmp_path, text)
    assert ("assessment" in {e.event_type for e in events}) is accepted
    assert [r.code for r in rejections] == ([] if accepted else ["code_not_in_year"])


def test_a_2026_return_with_sex_and_a_pre_proceedings_block_is_read(tmp_path: Path) -> None:
    pre_proceedings = "<PreProceedings><PreProceedingsStartDate>2025-06-01</PreProceedingsStartDate></PreProceedings>"
    text = census(
        child("C1", episode("2025-05-02", pre_proceedings, source="5D", closure="2025-09-01", reason="RC9"),
              gender="<Sex>F</Sex>"),
        year=2026,
    )  # fmt: skip
    events, rejections = read(tmp_path, text)
    assert rejections == []
    assert [e.event_type for e in events] == ["referral", "closure"]


def test_a_namespaced_return_and_a_return_without_header_are_read(tmp_path: Path) -> None:
    text = census(child("C1", episode("2023-05-02"))).replace("<Message>", '<Message xmlns="urn:example:cin">')
    events, _ = read(tmp_path, text)
    assert [e.team for e in events] == ["LA 201"]
    headless = text.split("<Header>")[0] + text.split("</Header>")[1]
    events, rejections = read(tmp_path, headless, SourceOptions(team="Front Door", today=date(2026, 1, 1)))
    assert rejections == [] and [e.team for e in events] == ["Front Door"]


def test_event_ids_depend_on_the_episode_not_on_the_file(tmp_path: Path) -> None:
    """Next year's census repeats this year's open episode: the same ids, so no new events."""
    this_year = census(child("C1", episode("2023-05-02", assessment("2023-05-03", "2023-06-01", "3A"))), year=2024)
    next_year = census(
        child("C1", episode("2023-05-02", assessment("2023-05-03", "2023-06-01", "3A"), closure="2024-05-01",
                            reason="RC8"), episode("2024-09-01")),
        year=2025,
    )  # fmt: skip
    first, _ = read(tmp_path, this_year)
    second, _ = read(tmp_path, next_year)
    assert {e.event_id for e in first} < {e.event_id for e in second}
    assert [e for e in second if e.event_id in {f.event_id for f in first}] == first
    other_la, _ = read(tmp_path, this_year.replace("<LEA>201</LEA>", "<LEA>202</LEA>"))
    assert not {e.event_id for e in first} & {e.event_id for e in other_la}


def test_a_bad_child_id_rejects_the_child_without_echoing_it(tmp_path: Path) -> None:
    events, rejections = read(tmp_path, census(child("Jessamy Quennell", episode("2023-05-02"))))
    assert events == []
    [rejection] = rejections
    assert rejection.position == "/Message/Children/Child[1]/ChildIdentifiers/LAchildID"
    assert rejection.code == "invalid_id" and "Jessamy" not in rejection.describe()


BOMB = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<Message><Children><Child><ChildIdentifiers><LAchildID>&lol9;</LAchildID></ChildIdentifiers></Child></Children></Message>
"""
EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE Message [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<Message><Children><Child><ChildIdentifiers><LAchildID>&secret;</LAchildID></ChildIdentifiers></Child></Children></Message>
"""
EXTERNAL_DTD = """<?xml version="1.0"?>
<!DOCTYPE Message SYSTEM "http://127.0.0.1:9/cin.dtd">
<Message><Children/></Message>
"""


@pytest.mark.parametrize("text", [BOMB, EXTERNAL_ENTITY, EXTERNAL_DTD], ids=["billion-laughs", "entity", "dtd"])
def test_xml_bombs_and_external_entities_are_refused_with_a_reason(tmp_path: Path, text: str) -> None:
    events, rejections = read(tmp_path, text)
    assert events == []
    [rejection] = rejections
    assert rejection.code == "unsafe_xml"
    assert (
        "DTD" in rejection.reason and "entity expansion" in rejection.reason and "external entities" in rejection.reason
    )
    assert "passwd" not in rejection.describe()


def test_a_truncated_file_keeps_what_was_read_and_says_where_it_broke(tmp_path: Path) -> None:
    text = census(child("C1", episode("2023-05-02")), child("C2", episode("2023-06-02")))
    cut = text[: text.index("<LAchildID>C2") + 20]
    events, rejections = read(tmp_path, cut)
    assert [e.child_id for e in events] == ["C1"]
    [rejection] = rejections
    assert rejection.code == "malformed_xml" and rejection.position.startswith("line ")
    assert "nothing after this point was read" in rejection.reason


def test_a_foreign_xml_file_is_not_taken_for_a_census(tmp_path: Path) -> None:
    events, rejections = read(tmp_path, "<Workbook><Row/></Workbook>")
    assert events == [] and [r.code for r in rejections] == ["not_cin_census"]


def test_the_reader_streams_memory_does_not_grow_with_the_file(tmp_path: Path) -> None:
    def peak(children: int) -> int:
        text = census(*(child(f"C{i}", episode("2023-05-02", assessment("2023-05-03", "2023-06-01", "3A")))
                        for i in range(children)))  # fmt: skip
        path = write(tmp_path, f"census-{children}.xml", text)
        tracemalloc.start()
        try:
            count = sum(1 for _ in read_source(path, TODAY))
            assert count == 2 * children
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    small, large = peak(200), peak(4000)
    # Twenty times the children (the file is ~4 MB) may not cost more than a fraction of a megabyte.
    assert large - small < 512 * 1024, (small, large)


def test_a_bad_header_is_reported_and_the_children_are_still_read(tmp_path: Path) -> None:
    text = census(child("C1", episode("2023-05-02")), lea="20X").replace("<Year>2024</Year>", "<Year>24</Year>")
    events, rejections = read(tmp_path, text)
    assert sorted((r.position, r.code) for r in rejections) == [
        ("/Message/Header/CollectionDetails/Year", "invalid_value"),
        ("/Message/Header/Source/LEA", "invalid_id"),
    ]
    assert [(e.event_type, e.team) for e in events] == [("referral", "LA")]


@pytest.mark.parametrize(("nfa", "expected"), [("true", True), ("FALSE", False), ("1", True), ("0", False)])
def test_referral_nfa_previous_cp_plans_and_the_assessment_start_are_read(
    tmp_path: Path, nfa: str, expected: bool
) -> None:
    text = census(child("C1", episode(
        "2023-05-02",
        assessment("2023-05-04", "2023-06-01", "3A"),
        cp_plan("2023-06-10", previous="2"),
        cin_plan("2023-06-02"),
        nfa=nfa,
    )))  # fmt: skip
    events, rejections = read(tmp_path, text)
    assert rejections == []
    assert [e.nfa for e in events if isinstance(e, Referral)] == [expected]
    [assessed] = [e for e in events if isinstance(e, Assessment)]
    assert (assessed.started_on, assessed.day) == (date(2023, 5, 4), date(2023, 6, 1))
    assert {e.plan_type: e.previous_plans for e in events if isinstance(e, Plan)} == {"cp": 2, "cin": None}


@pytest.mark.parametrize(
    ("nfa", "previous", "field", "kept"),
    [("maybe", "0", "ReferralNFA", "plan"), ("false", "-1", "NumberOfPreviousCPP", "referral"),
     ("false", "Jane Smith", "NumberOfPreviousCPP", "referral")],
)  # fmt: skip
def test_a_bad_nfa_or_previous_plan_count_rejects_its_record_with_a_reason_and_no_echo(
    tmp_path: Path, nfa: str, previous: str, field: str, kept: str
) -> None:
    text = census(child("C1", episode("2023-05-02", cp_plan("2023-06-10", previous=previous), nfa=nfa)))
    events, [rejection] = read(tmp_path, text)
    assert rejection.field == field and rejection.code == "invalid_value"
    assert rejection.position.endswith(f"/{field}")
    bad = nfa if field == "ReferralNFA" else previous
    assert rejection.value is None and bad not in rejection.reason
    assert kept in {e.event_type for e in events}


@pytest.mark.skipif(not SAMPLE.exists(), reason="shared/data/external/cin-2022.xml is not beside the repository")
def test_the_shared_2022_sample_gives_its_referral_nfa() -> None:
    items = list(read_source(SAMPLE, TODAY))
    [referral] = [i for i in items if isinstance(i, Referral)]
    assert (referral.day, referral.nfa) == (date(1970, 10, 6), False)
    # Its CP plan (NumberOfPreviousCPP 10) starts before the referral: refused for that, with its reason.
    assert any(isinstance(i, SourceRejection) and i.field == "CPPstartDate" for i in items)
