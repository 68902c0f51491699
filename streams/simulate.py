"""A seeded, synthetic stream of case events with a realistic shape.

About 22% of referrals are re-referrals (the national rate), a share of closures carry a
written agreement, and a re-referral is likelier after one. No real child is in it.
"""

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from schemas.events import Assessment, CaseClosure, CaseEvent, Referral, WrittenAgreement

TEAMS = ("Assessment North", "Assessment South", "CIN East", "CIN West")
# Factor codes with rough weights: neglect and domestic abuse are common, sexual abuse rarer.
FACTORS = (("16A", 8), ("3A", 6), ("4B", 5), ("17A", 4), ("1B", 3), ("2B", 3),
           ("18C", 2), ("19C", 1), ("11A", 1), ("14A", 2), ("20", 2))  # fmt: skip
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
    ids = _EventIds(f"{spec.source}:{child_id}")
    days = (spec.end - spec.start).days
    referral = spec.start + timedelta(days=rng.randrange(max(1, days * 2 // 3)))
    while referral < spec.end:
        yield Referral(**_base(rng, ids("referral"), child_id, team, referral, spec.source),
                       referral_source=rng.choice(("1A", "2A", "3A", "5D", "6", "8")),
                       primary_need=rng.choice(("N1", "N4", "N5")))  # fmt: skip
        assessed = referral + timedelta(days=rng.randint(5, 40))
        factors = _factors(rng)
        yield Assessment(**_base(rng, ids("assessment"), child_id, team, assessed, spec.source),
                         assessment_id=ids("a"), factors=factors)  # fmt: skip
        closed = assessed + timedelta(days=rng.randint(10, 120))
        agreed = False
        if rng.random() < spec.agreement_mid_episode:
            agreed = True
            yield from _agreement(rng, spec, ids, child_id, team, assessed + timedelta(days=3), closure=False)
        if closed >= spec.end:
            return
        yield CaseClosure(**_base(rng, ids("closure"), child_id, team, closed, spec.source),
                          reason=_weighted(rng, CLOSURE_REASONS))  # fmt: skip
        if rng.random() < spec.agreement_at_closure:
            agreed = True
            yield from _agreement(rng, spec, ids, child_id, team, closed, closure=True)
        chance = spec.rereferral_after_agreement if agreed else spec.rereferral_otherwise
        if rng.random() < chance:
            referral = closed + timedelta(days=rng.randint(14, 200))
        elif rng.random() < spec.later_referral:
            referral = closed + timedelta(days=rng.randint(380, 700))
        else:
            return


def _agreement(
    rng: random.Random, spec: SimulationSpec, ids: "_EventIds", child_id: str, team: str, made: date, *, closure: bool
) -> Iterator[CaseEvent]:
    agreement_id = ids("wa")
    review_due = made + timedelta(days=rng.choice((28, 42, 90)))
    common = {"agreement_id": agreement_id, "accompanies_closure": closure}
    yield WrittenAgreement(**_base(rng, ids("agreement"), child_id, team, made, spec.source),
                           action="made", review_due=review_due, **common)  # fmt: skip
    if rng.random() < 0.5:
        reviewed = review_due + timedelta(days=rng.randint(-5, 20))
        yield WrittenAgreement(**_base(rng, ids("agreement"), child_id, team, reviewed, spec.source),
                               action="reviewed", **common)  # fmt: skip
    if rng.random() < 0.3:
        breached = made + timedelta(days=rng.randint(10, 150))
        yield WrittenAgreement(**_base(rng, ids("agreement"), child_id, team, breached, spec.source),
                               action="breached", **common)  # fmt: skip


class _EventIds:
    """Stable event ids: the same seed gives the same ids, so a re-run is a redelivery."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.issued = 0

    def __call__(self, kind: str) -> str:
        self.issued += 1
        return f"{self.prefix}:{kind}:{self.issued}"


def _base(rng: random.Random, event_id: str, child_id: str, team: str, day: date, source: str) -> dict[str, object]:
    occurred = datetime.combine(day, time(9), tzinfo=UTC) + timedelta(minutes=rng.randrange(8 * 60))
    recorded = occurred + timedelta(minutes=rng.randrange(3 * 24 * 60))
    return {"event_id": event_id, "child_id": child_id, "team": team, "occurred_at": occurred,
            "recorded_at": recorded, "source": source}  # fmt: skip


def _factors(rng: random.Random) -> list[str]:
    if rng.random() < 0.1:
        return ["21"]
    return sorted({_weighted(rng, FACTORS) for _ in range(rng.randint(1, 3))})


def _weighted(rng: random.Random, choices: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([c for c, _ in choices], weights=[w for _, w in choices])[0]
