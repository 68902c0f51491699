"""A child's timeline rows (agents/timeline.py): ids, dates and codes only, from what the correlate agent admits."""

from dataclasses import dataclass
from datetime import date

import pytest

from agents.timeline import ITEM_ID, KEPT, LEFT_OUT, TimelineRow, timeline_row, timeline_rows
from schemas.events import (
    EVENT_TYPES,
    Assessment,
    CaseEvent,
    Plan,
    PlanOutcome,
    Referral,
    Section47Enquiry,
    WrittenAgreement,
)
from streams.codec import encode, forwarded_from
from streams.topics import Topics
from tests.test_agents.events import agreement, at, closure, referral

COMMON = dict(child_id="C1", recorded_at=at("2024-03-01"), team="CIN East", source="lcs")


@pytest.mark.parametrize(
    ("event", "item_id", "action", "codes"),
    [
        (Referral(event_id="r1", occurred_at=at("2024-02-01"), referral_source="1A", primary_need="N1",
                  concerns=["3A", "19C"], nfa=False, **COMMON),  # type: ignore[arg-type]
         None, None, {"referral_source": "1A", "primary_need": "N1", "concerns": ["19C", "3A"], "nfa": False}),
        (Assessment(event_id="as1", occurred_at=at("2024-02-20"), assessment_id="A-9", factors=["3A", "16A"],
                    started_on=date(2024, 2, 2), child_seen=True, **COMMON),  # type: ignore[arg-type]
         "A-9", None, {"factors": ["16A", "3A"], "started_on": "2024-02-02", "child_seen": True}),
        (Section47Enquiry(event_id="s1", occurred_at=at("2024-02-03"), enquiry_id="E-1", icpc_date=date(2024, 2, 17),
                          **COMMON),  # type: ignore[arg-type]
         "E-1", None, {"icpc_date": "2024-02-17"}),
        (Plan(event_id="p1", occurred_at=at("2024-02-25"), plan_id="P-1", plan_type="cp", action="started",
              categories=["NEG"], outcomes=[PlanOutcome(outcome_id="o1", has_measure=True, has_owner=False)],
              **COMMON),  # type: ignore[arg-type]
         "P-1", "started", {"plan_type": "cp", "categories": ["NEG"]}),
        (WrittenAgreement(event_id="w1", occurred_at=at("2024-02-26"), agreement_id="WA-1", action="made",
                          review_due=date(2024, 3, 26), agreement_type="safety_plan", context="cin",
                          owner_worker_id="sw-17", **COMMON),  # type: ignore[arg-type]
         "WA-1", "made", {"review_due": "2024-03-26", "agreement_type": "safety_plan", "context": "cin",
                          "accompanies_closure": False}),
        (agreement("2024-04-02", "WA-1", action="breached", event_id="w2"), "WA-1", "breached",
         {"accompanies_closure": False}),
        (closure("2024-05-01", reason="RC8"), None, None, {"reason": "RC8"}),
    ],
)  # fmt: skip
def test_each_event_keeps_its_ids_dates_and_codes_and_nothing_else(
    event: CaseEvent, item_id: str | None, action: str | None, codes: dict[str, object]
) -> None:
    row = timeline_row(event)
    assert row == TimelineRow(event_id=event.event_id, child_id="C1", event_type=event.event_type, team=event.team,
                              occurred_at=event.occurred_at, item_id=item_id, action=action, codes=codes)  # fmt: skip
    # Where it came from, the plan's outcome flags and the owning worker stay out.
    assert not {"source", "outcomes", "owner_worker_id", "recorded_at"} & set(row.codes)


def test_every_field_of_every_event_type_is_kept_or_left_out_on_purpose() -> None:
    """A field added to an event fails here until someone decides whether the timeline may hold it."""
    for event_type in EVENT_TYPES:
        name = event_type.model_fields["event_type"].default
        undecided = set(event_type.model_fields) - set(KEPT[name]) - LEFT_OUT
        assert undecided == set(), (name, undecided)
        assert not set(KEPT[name]) & LEFT_OUT
    assert set(KEPT) == {t.model_fields["event_type"].default for t in EVENT_TYPES}
    assert set(ITEM_ID) <= set(KEPT)


@dataclass
class Record:
    """What the consumer hands over: aiokafka's ConsumerRecord has these attributes."""

    topic: str
    partition: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()


def test_records_give_rows_as_the_correlate_agent_reads_them_and_what_it_dead_letters_is_skipped() -> None:
    topics = Topics(prefix="t", partitions=3)
    good, other = referral("2024-02-01", child="C1"), closure("2024-03-01", child="C2")
    home = topics.partition_for("C1")
    away = (home + 1) % 3

    def on_topic(event: CaseEvent, partition: int | None = None, **kwargs: object) -> Record:
        where = topics.partition_for(event.child_id) if partition is None else partition
        fields = {"key": event.child_id.encode(), "value": encode(event)} | kwargs
        return Record(topics.for_event_type(event.event_type), where, **fields)  # type: ignore[arg-type]

    records = [
        on_topic(good),
        on_topic(other),
        on_topic(good, key=None),  # no key: dead-lettered
        on_topic(good, value=b"{not json"),
        Record(topics.for_event_type("referral"), home, b"C1", b'{"event_type": "referral", "name": "x"}'),
        on_topic(other, key=b"C1"),  # key is not the child
        on_topic(agreement("2024-02-10", "WA-1", child="C1"), away),  # wrong partition: forwarded, so kept
        # Forwarded already and still on the wrong partition: dead-lettered, skipped.
        on_topic(closure("2024-06-01", child="C1"), away, headers=(forwarded_from("t.x", 0, 1),)),
    ]
    rows = timeline_rows(records, topics=topics)
    assert [(r.child_id, r.event_id) for r in rows] == [
        ("C1", good.event_id), ("C2", other.event_id), ("C1", "wa-WA-1-made-2024-02-10")]  # fmt: skip


def test_a_code_of_an_unexpected_kind_is_refused_rather_than_stored() -> None:
    odd = PlanOutcome(outcome_id="o", has_measure=True, has_owner=True)
    with pytest.raises(TypeError, match="not PlanOutcome"):
        timeline_row(closure("2024-05-01").model_copy(update={"reason": odd}))
