"""A seeded, synthetic stream of case events with a realistic shape.

About 22% of referrals are re-referrals (the national rate, higher in some teams than
others), a share of closures carry a written agreement, and a re-referral is likelier
after one. Episodes also have what the other rules watch: contacts and referrals coded
with concerns (now and then sexual abuse, not always carried into the assessment),
assessments with or without the child's views, strategy discussions and section 47
enquiries, child protection and CIN plans whose outcomes are not always SMART, and
agreements reviewed late or not at all, or breached with or without a follow-up. No real
child is in it.
"""

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from schemas.events import (
    Assessment,
    CaseClosure,
    CaseEvent,
    Contact,
    Plan,
    PlanOutcome,
    Referral,
    Section47Enquiry,
    StrategyDiscussion,
    WrittenAgreement,
)

TEAMS = ("Assessment North", "Assessment South", "CIN East", "CIN West")
# How much likelier than the average a re-referral is in each team, so team rates differ.
TEAM_REREFERRAL = (0.75, 0.95, 1.1, 1.35)
# Factor codes with rough weights: neglect and domestic abuse are common, sexual abuse rarer.
FACTORS = (("16A", 8), ("3A", 6), ("4B", 5), ("17A", 4), ("1B", 3), ("2B", 3),
           ("18C", 2), ("19C", 1), ("11A", 1), ("14A", 2), ("20", 2))  # fmt: skip
CONCERNS = (("16A", 8), ("3A", 6), ("4B", 4), ("17A", 4), ("18C", 2), ("19C", 1), ("19B", 1), ("11A", 1))
SEXUAL_ABUSE = frozenset({"19B", "19C", "11A"})
CLOSURE_REASONS = (("RC8", 5), ("RC7", 4), ("RC9", 3), ("RC5", 1))


@dataclass(frozen=True)
class SimulationSpec:
    """What to simulate. The probabilities are per episode."""

    children: int = 200
    seed: int = 1
    start: date = date(2023, 4, 1)
    months: int = 24
    agreement_at_closure: float = 0.35
    agreement_mid_episode: float = 0.08
    rereferral_after_agreement: float = 0.42
    rereferral_otherwise: float = 0.15
    later_referral: float = 0.2
    contact_before_referral: float = 0.4
    sexual_abuse_recorded: float = 0.65  # when the front door raised it
    strategy_discussion: float = 0.2
    section47_after_strategy: float = 0.5
    cp_plan_after_section47: float = 0.6
    cin_plan: float = 0.3
    smart_outcome: float = 0.85  # each of an outcome's measure, owner and target date
    breach_followed_up: float = 0.5
    source: str = "simulator"

    @property
    def end(self) -> date:
        return self.start + timedelta(days=round(self.months * 30.44))


def simulate(spec: SimulationSpec) -> list[CaseEvent]:
    """All events of all children, in the order the case system would record them."""
    rng = random.Random(spec.seed)
    events = [e for index in range(spec.children) for e in _child(rng, spec, index)]
    events.sort(key=lambda e: (e.recorded_at, e.event_id))
    return events


def _child(rng: random.Random, spec: SimulationSpec, index: int) -> Iterator[CaseEvent]:
    child_id = f"S{spec.seed}C{index:07d}"
    team = TEAMS[index % len(TEAMS)]
    factor = TEAM_REREFERRAL[index % len(TEAMS)]
    ids = _EventIds(f"{spec.source}:{child_id}")
    base = _Base(rng, ids, child_id, team, spec.source)
    days = (spec.end - spec.start).days
    referral = spec.start + timedelta(days=rng.randrange(max(1, days * 2 // 3)))
    while referral < spec.end:
        concerns = _concerns(rng) if rng.random() < 0.7 else []
        if rng.random() < spec.contact_before_referral:
            yield Contact(**base("contact", referral - timedelta(days=rng.randint(1, 14))), concerns=_concerns(rng))
        yield Referral(**base("referral", referral), referral_source=rng.choice(("1A", "2A", "3A", "5D", "6", "8")),
                       primary_need=rng.choice(("N1", "N4", "N5")), concerns=concerns)  # fmt: skip
        sexual_abuse = bool(SEXUAL_ABUSE & set(concerns))
        enquiry = None
        if rng.random() < (0.6 if sexual_abuse else spec.strategy_discussion):
            discussed = referral + timedelta(days=rng.randint(1, 7))
            yield StrategyDiscussion(**base("strategy", discussed))
            if rng.random() < spec.section47_after_strategy:
                enquiry = discussed + timedelta(days=rng.randint(0, 3))
                yield Section47Enquiry(**base("s47", enquiry), enquiry_id=ids("e"),
                                       icpc_date=enquiry + timedelta(days=rng.randint(10, 20)))  # fmt: skip
        assessed = referral + timedelta(days=rng.randint(5, 40))
        factors = _factors(rng)
        if sexual_abuse and rng.random() < spec.sexual_abuse_recorded:
            factors = sorted({*factors, rng.choice(sorted(SEXUAL_ABUSE))} - {"21"})
        views = rng.choices((True, False, None), weights=(8, 1, 1))[0]
        yield Assessment(**base("assessment", assessed), assessment_id=ids("a"), factors=factors,
                         child_views_recorded=views)  # fmt: skip
        closed = assessed + timedelta(days=rng.randint(10, 120))
        if enquiry is not None and rng.random() < spec.cp_plan_after_section47:
            categories = ["SAB"] if sexual_abuse and rng.random() < 0.7 else [rng.choice(("NEG", "PHY", "EMO"))]
            yield from _plan(rng, spec, base, ids, "cp", enquiry + timedelta(days=15), closed, categories)
        elif rng.random() < spec.cin_plan:
            yield from _plan(rng, spec, base, ids, "cin", assessed + timedelta(days=5), closed, [])
        agreed = False
        if rng.random() < spec.agreement_mid_episode:
            agreed = True
            yield from _agreement(rng, spec, base, ids, assessed + timedelta(days=3), closure=False)
        if closed >= spec.end:
            return
        yield CaseClosure(**base("closure", closed), reason=_weighted(rng, CLOSURE_REASONS))
        if rng.random() < spec.agreement_at_closure:
            agreed = True
            yield from _agreement(rng, spec, base, ids, closed, closure=True)
        chance = (spec.rereferral_after_agreement if agreed else spec.rereferral_otherwise) * factor
        if rng.random() < chance:
            referral = closed + timedelta(days=rng.randint(14, 200))
        elif rng.random() < spec.later_referral:
            referral = closed + timedelta(days=rng.randint(380, 700))
        else:
            return


class _EventIds:
    """Stable event ids: the same seed gives the same ids, so a re-run is a redelivery."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.issued = 0

    def __call__(self, kind: str) -> str:
        self.issued += 1
        return f"{self.prefix}:{kind}:{self.issued}"


class _Base:
    """The fields every event of one child shares, with its own id and times."""

    def __init__(self, rng: random.Random, ids: _EventIds, child_id: str, team: str, source: str) -> None:
        self.rng, self.ids, self.child_id, self.team, self.source = rng, ids, child_id, team, source

    def __call__(self, kind: str, day: date) -> dict[str, object]:
        occurred = datetime.combine(day, time(9), tzinfo=UTC) + timedelta(minutes=self.rng.randrange(8 * 60))
        recorded = occurred + timedelta(minutes=self.rng.randrange(3 * 24 * 60))
        return {"event_id": self.ids(kind), "child_id": self.child_id, "team": self.team, "occurred_at": occurred,
                "recorded_at": recorded, "source": self.source}  # fmt: skip


def _agreement(
    rng: random.Random, spec: SimulationSpec, base: _Base, ids: _EventIds, made: date, *, closure: bool
) -> Iterator[CaseEvent]:
    agreement_id = ids("wa")
    review_due = made + timedelta(days=rng.choice((28, 42, 90)))
    common = {"agreement_id": agreement_id, "accompanies_closure": closure}
    yield WrittenAgreement(**base("agreement", made), action="made", review_due=review_due, **common)
    if rng.random() < 0.5:
        reviewed = review_due + timedelta(days=rng.randint(-5, 20))
        yield WrittenAgreement(**base("agreement", reviewed), action="reviewed", **common)
    if rng.random() < 0.3:
        breached = made + timedelta(days=rng.randint(10, 150))
        yield WrittenAgreement(**base("agreement", breached), action="breached", **common)
        if rng.random() < spec.breach_followed_up:
            yield StrategyDiscussion(**base("strategy", breached + timedelta(days=rng.randint(0, 8))))


def _plan(
    rng: random.Random,
    spec: SimulationSpec,
    base: _Base,
    ids: _EventIds,
    plan_type: str,
    started: date,
    ended: date,
    categories: list[str],
) -> Iterator[CaseEvent]:
    plan_id = ids("plan")
    common = {"plan_id": plan_id, "plan_type": plan_type, "categories": categories}
    yield Plan(**base("plan", started), action="started", outcomes=_outcomes(rng, spec, ids, started), **common)
    review = started + timedelta(days=90)
    if review < ended:
        yield Plan(**base("plan", review), action="reviewed", outcomes=_outcomes(rng, spec, ids, review), **common)
    if ended > started:
        yield Plan(**base("plan", ended), action="ended", **common)


def _outcomes(rng: random.Random, spec: SimulationSpec, ids: _EventIds, day: date) -> list[PlanOutcome]:
    smart = spec.smart_outcome
    return [
        PlanOutcome(
            outcome_id=ids("o"),
            has_measure=rng.random() < smart,
            has_owner=rng.random() < smart,
            target_date=day + timedelta(days=rng.randint(30, 180)) if rng.random() < smart else None,
        )
        for _ in range(rng.randint(1, 3))
    ]


def _concerns(rng: random.Random) -> list[str]:
    return sorted({_weighted(rng, CONCERNS) for _ in range(rng.randint(1, 2))})


def _factors(rng: random.Random) -> list[str]:
    if rng.random() < 0.1:
        return ["21"]
    return sorted({_weighted(rng, FACTORS) for _ in range(rng.randint(1, 3))})


def _weighted(rng: random.Random, choices: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([c for c, _ in choices], weights=[w for _, w in choices])[0]
