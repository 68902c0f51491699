"""A seeded, synthetic council: children referred, assessed, planned for and closed.

The shape follows what a mid-sized English council records, so that alert volumes
measured on it mean something (about 3,400 referrals a year for 5,000 children over 24
months). No real child is in it.

- **Teams.** Each child lives in one of two localities. The front door takes every
  contact and referral (and decides an NFA at referral, closing it the same day); the
  locality's assessment team holds the case through the strategy discussion, the
  section 47 enquiry and the assessment; a CIN or CP plan moves the case to the
  locality's CIN/CP team. Every later event (review, agreement, closure) carries the
  team holding the case at that moment.
- **Arrivals.** First referrals are spread evenly over the whole period, so new children
  keep arriving; the first months have few re-referrals (there is no earlier history),
  which is why the rates below are for the steady months after a six-month warm-up.
- **One episode at a time.** A child is never referred while an episode is open (DfE:
  no referral is recorded on an open case; CIN validator rules 8815, 8816, 8820). A
  new referral comes only after the closure.
- **Closures consistent with the episode.** An NFA referral closes the same day with RC8
  (``Referral.nfa``); after an assessment with no plan, RC8 (no further action) or RC9
  (early help); after CIN or CP work, mostly RC7, some RC9 step-downs to early help;
  RC5 (moved to another LA) now and then, after which the child is not referred again.

Rates, with where they come from (DfE "Children in need", England, year to March 2025,
unless marked as an assumption; agreements are not statutory data, so every agreement
rate is an assumption, a parameter to vary):

- ``rereferral_share`` 0.226: 142,900 of 632,830 referrals were re-referrals. The
  per-closure chance of a re-referral is calibrated (``_REREFERRAL_CALIBRATION``) so that
  the share measured over the steady months comes out at this figure.
- ``nfa_at_referral`` 0.07: roughly 7% of referrals end in no further action
  (published shares have been 7-9% in recent years).
- ``strategy_discussion`` 0.40 and ``section47_after_strategy`` 0.85: about a third of
  referrals lead to a section 47 enquiry (about 220,000 a year against 630,000).
- ``icpc_after_section47`` 0.37 and ``cp_plan_after_icpc`` 0.85: about 80,000 initial
  conferences and 65,000 CP plans a year, about one referral in ten.
- ``cin_plan`` 0.25 (assumption): the share of assessed episodes without a CP plan that
  go on to a CIN plan.
- ``previous_cp_share`` 0.25: about a quarter of CP plans are a second or later plan
  (DfE reports 23-26%); such a child's plan carries ``previous_plans`` >= 1.
- ``agreement_share`` 0.30 (assumption): the share of assessed episodes with a written
  agreement. ``agreement_at_closure_share`` 0.55 (assumption): the share of those made
  at the closure, the practice the LGA peer review found (a step-down "in place of" a
  service); the rest are made during the assessment, S47, CIN or CP work.
- ``agreement_renewed`` 0.35 (assumption): on a CIN or CP plan, the chance that an
  agreement is followed by another one 1-3 months later (the over-reliance the review
  found).
- ``rereferral_after_closure_agreement`` 1.6 (assumption): how much likelier a
  re-referral is after a closure with an agreement (the peer review's finding).
- ``review_on_time`` 0.55, ``review_late`` 0.20 (assumptions) for agreements on open
  cases; ``review_after_closure`` 0.08: nobody is allocated after closure, so an
  agreement left at closure is rarely reviewed.
- ``breach_recorded`` 0.20 on open cases, 0.03 after closure (breaches are rarely
  structured, DOMAIN.md); ``breach_followed_up`` 0.6.
- ``child_seen`` 0.95, ``child_seen_alone`` 0.60, ``child_views_recorded`` 0.80 and
  ``smart_outcome`` 0.85 (assumptions, for the child's-voice and SMART rules).
"""

import random
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from agents.calendar import add_months
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

FRONT_DOOR = "Front Door"
# (assessment team, CIN/CP team) per locality
LOCALITIES = (("Assessment North", "CIN East"), ("Assessment South", "CIN West"))
TEAMS = (FRONT_DOOR, *(team for locality in LOCALITIES for team in locality))
# How much likelier than the average a re-referral is after each locality's closures, so team rates differ.
LOCALITY_REREFERRAL = (0.85, 1.15)
WARM_UP_MONTHS = 6
# Factor codes with rough weights: neglect and domestic abuse are common, sexual abuse rarer.
FACTORS = (("16A", 8), ("3A", 6), ("4B", 5), ("17A", 4), ("1B", 3), ("2B", 3),
           ("18C", 2), ("19C", 1), ("11A", 1), ("14A", 2), ("20", 2))  # fmt: skip
CONCERNS = (("16A", 8), ("3A", 6), ("4B", 4), ("17A", 4), ("18C", 2), ("19C", 1), ("19B", 1), ("11A", 1))
SEXUAL_ABUSE = frozenset({"19B", "19C", "11A"})
REFERRAL_SOURCES = (("1A", 3), ("2A", 4), ("3A", 3), ("5D", 1), ("6", 2), ("8", 1))
# The share of later referrals that fall inside the 12 months is not the per-closure
# chance: some windows close before the episode does, and referrals accumulate over the
# period. Measured: this factor brings the steady-month share to `rereferral_share`.
_REREFERRAL_CALIBRATION = 1.33


@dataclass(frozen=True)
class SimulationSpec:
    """What to simulate; the rates are documented in the module docstring."""

    children: int = 200
    seed: int = 1
    start: date = date(2023, 4, 1)
    months: int = 24
    rereferral_share: float = 0.226
    later_referral: float = 0.25  # a referral more than 12 months after the previous one
    nfa_at_referral: float = 0.07
    contact_before_referral: float = 0.4
    strategy_discussion: float = 0.40
    section47_after_strategy: float = 0.85
    icpc_after_section47: float = 0.37
    cp_plan_after_icpc: float = 0.85
    cin_plan: float = 0.25
    previous_cp_share: float = 0.25
    agreement_share: float = 0.30
    agreement_at_closure_share: float = 0.55
    agreement_renewed: float = 0.35
    rereferral_after_closure_agreement: float = 1.6
    review_on_time: float = 0.55
    review_late: float = 0.20
    review_after_closure: float = 0.08
    breach_recorded: float = 0.20
    breach_after_closure: float = 0.03
    breach_followed_up: float = 0.6
    sexual_abuse_recorded: float = 0.65  # when the front door raised it
    child_seen: float = 0.95
    child_seen_alone: float = 0.60
    child_views_recorded: float = 0.80
    smart_outcome: float = 0.85  # each of an outcome's measure, owner and target date
    source: str = "simulator"

    @property
    def end(self) -> date:
        """The first day not simulated: every event happens before it."""
        return self.start + timedelta(days=round(self.months * 30.44))


def simulate(spec: SimulationSpec) -> list[CaseEvent]:
    """All events of all children, in the order the case system would record them."""
    events = [e for index in range(spec.children) for e in _Child(spec, index).events() if e.day < spec.end]
    events.sort(key=lambda e: (e.recorded_at, e.event_id))
    return events


class _Child:
    """One child's history: a chain of episodes, each opened by a referral and closed."""

    def __init__(self, spec: SimulationSpec, index: int) -> None:
        # One generator per child: a child's history does not depend on how many others there are.
        self.rng = random.Random(spec.seed * 1_000_003 + index)
        self.spec = spec
        self.child_id = f"S{spec.seed}C{index:07d}"
        self.locality = index % len(LOCALITIES)
        self.assessment_team, self.cin_team = LOCALITIES[self.locality]
        self.worker = f"W{self.locality}{self.rng.randrange(40):02d}"
        self.issued = 0
        self.cp_plans = 0

    def events(self) -> Iterator[CaseEvent]:
        spec, rng = self.spec, self.rng
        days = (spec.end - spec.start).days
        referral = spec.start + timedelta(days=rng.randrange(max(1, days)))
        per_closure = spec.rereferral_share * _REREFERRAL_CALIBRATION * LOCALITY_REREFERRAL[self.locality]
        while referral < spec.end:
            closed, reason, agreement_at_closure = yield from self._episode(referral)
            if reason == "RC5":
                return  # moved to another authority
            chance = per_closure * (spec.rereferral_after_closure_agreement if agreement_at_closure else 1.0)
            window_end = add_months(referral, 12)
            earliest = closed + timedelta(days=7)
            if rng.random() < chance and earliest < window_end:
                referral = earliest + timedelta(days=rng.randrange((window_end - earliest).days))
            elif rng.random() < spec.later_referral:
                referral = max(window_end, earliest) + timedelta(days=rng.randint(1, 540))
            else:
                return

    def _episode(self, referral: date) -> Generator[CaseEvent, None, tuple[date, str, bool]]:
        """One episode's events; returns (closure day, reason, whether an agreement accompanied it)."""
        spec, rng = self.spec, self.rng
        concerns = _concerns(rng) if rng.random() < 0.7 else []
        if rng.random() < spec.contact_before_referral:
            contacted = referral - timedelta(days=rng.randint(1, 14))
            yield Contact(**self._base("contact", contacted, FRONT_DOOR), concerns=_concerns(rng))
        nfa = rng.random() < spec.nfa_at_referral
        taken = self._base("referral", referral, FRONT_DOOR)
        yield Referral(**taken, referral_source=_weighted(rng, REFERRAL_SOURCES),
                       primary_need=rng.choice(("N1", "N4", "N5")), concerns=concerns, nfa=nfa)  # fmt: skip
        if nfa:
            # Closed the same day, after the referral was taken.
            decided = taken["occurred_at"] + timedelta(minutes=30)
            closure = {**self._base("closure", referral, FRONT_DOOR), "occurred_at": decided,
                       "recorded_at": max(decided, taken["recorded_at"])}  # fmt: skip
            yield CaseClosure(**closure, reason="RC8")
            return referral, "RC8", False
        sexual_abuse = bool(SEXUAL_ABUSE & set(concerns))
        holder = self.assessment_team
        started = referral + timedelta(days=rng.randint(0, 3))
        assessed = started + timedelta(days=rng.randint(5, 45))
        enquiry = icpc = None
        if rng.random() < (0.7 if sexual_abuse else spec.strategy_discussion):
            discussed = referral + timedelta(days=rng.randint(0, 5))
            yield StrategyDiscussion(**self._base("strategy", discussed, holder))
            if rng.random() < spec.section47_after_strategy:
                enquiry = discussed + timedelta(days=rng.randint(0, 3))
                if rng.random() < spec.icpc_after_section47:
                    icpc = enquiry + timedelta(days=rng.randint(10, 15))
                yield Section47Enquiry(**self._base("s47", enquiry, holder), enquiry_id=self._id("e"), icpc_date=icpc)
        factors = _factors(rng)
        if sexual_abuse and rng.random() < spec.sexual_abuse_recorded:
            factors = sorted({*factors, rng.choice(sorted(SEXUAL_ABUSE))} - {"21"})
        seen = rng.random() < spec.child_seen
        yield Assessment(
            **self._base("assessment", assessed, holder), assessment_id=self._id("a"), factors=factors,
            child_views_recorded=rng.random() < spec.child_views_recorded, started_on=started, child_seen=seen,
            child_seen_alone=seen and rng.random() < spec.child_seen_alone,
        )  # fmt: skip
        has_agreement = rng.random() < spec.agreement_share
        at_closure = has_agreement and rng.random() < spec.agreement_at_closure_share
        plan_type: str | None = None
        if icpc is not None and rng.random() < spec.cp_plan_after_icpc:
            plan_type, plan_start = "cp", icpc
        elif rng.random() < spec.cin_plan:
            plan_type, plan_start = "cin", assessed + timedelta(days=rng.randint(3, 14))
        if plan_type is None:
            closed = assessed + timedelta(days=rng.randint(1, 30))
            reason = _weighted(rng, (("RC8", 55), ("RC9", 40), ("RC5", 3), ("RC7", 2)))
            if has_agreement and not at_closure:
                made = started + timedelta(days=rng.randint(3, max(3, (assessed - started).days)))
                yield from self._agreement(made, holder, "s47" if enquiry else "assessment", closed)
        else:
            holder = self.cin_team
            closed = plan_start + timedelta(days=rng.randint(90, 400))
            categories = self._categories(rng, sexual_abuse) if plan_type == "cp" else []
            yield from self._plan(plan_type, plan_start, closed, categories)
            reason = _weighted(rng, (("RC7", 80), ("RC9", 14), ("RC5", 4), ("RC4", 1), ("RC3", 1)))
            if has_agreement and not at_closure:
                made = plan_start + timedelta(days=rng.randint(0, (closed - plan_start).days // 2))
                # Over-reliance: on a long plan an agreement is now and then replaced by another.
                while made < closed:
                    yield from self._agreement(made, holder, plan_type, closed)
                    if rng.random() >= spec.agreement_renewed:
                        break
                    made += timedelta(days=rng.randint(30, 90))
        yield CaseClosure(**self._base("closure", closed, holder), reason=reason)
        if at_closure:
            yield from self._agreement(closed, holder, "closure", closed)
        return closed, reason, at_closure

    def _categories(self, rng: random.Random, sexual_abuse: bool) -> list[str]:
        if sexual_abuse and rng.random() < 0.7:
            return ["SAB"]
        return [_weighted(rng, (("NEG", 5), ("EMO", 4), ("PHY", 1), ("MUL", 1)))]

    def _plan(self, plan_type: str, started: date, ended: date, categories: list[str]) -> Iterator[CaseEvent]:
        spec, rng = self.spec, self.rng
        previous: int | None = None
        if plan_type == "cp":
            if self.cp_plans == 0 and rng.random() < spec.previous_cp_share:
                self.cp_plans = rng.choice((1, 1, 1, 2))  # plans before the period simulated
            previous = self.cp_plans
            self.cp_plans += 1
        common: dict[str, Any] = {"plan_id": self._id("plan"), "plan_type": plan_type, "categories": categories,
                                  "previous_plans": previous}  # fmt: skip
        yield Plan(**self._base("plan", started, self.cin_team), action="started", outcomes=self._outcomes(started),
                   **common)  # fmt: skip
        review = started + timedelta(days=90)
        while review < ended:
            yield Plan(**self._base("plan", review, self.cin_team), action="reviewed",
                       outcomes=self._outcomes(review), **common)  # fmt: skip
            review += timedelta(days=180)
        yield Plan(**self._base("plan", ended, self.cin_team), action="ended", **common)

    def _agreement(self, made: date, holder: str, context: str, closed: date) -> Iterator[CaseEvent]:
        """An agreement's events. One made at closure is left in place: reviewed and breached rarely."""
        spec, rng = self.spec, self.rng
        at_closure = context == "closure"
        if context in ("s47", "cp"):
            kind = _weighted(rng, (("safety_plan", 6), ("working_agreement", 3), ("written_undertaking", 1)))
        else:
            kind = _weighted(rng, (("working_agreement", 9), ("written_undertaking", 1)))
        review_due = made + timedelta(days=rng.choice((28, 42, 90)))
        common: dict[str, Any] = {"agreement_id": self._id("wa"), "accompanies_closure": at_closure,
                                  "owner_team": holder}  # fmt: skip
        yield WrittenAgreement(**self._base("agreement", made, holder), action="made", review_due=review_due,
                               agreement_type=kind, context=context, owner_worker_id=self.worker, **common)  # fmt: skip
        draw = rng.random()
        if at_closure:
            reviewed = review_due + timedelta(days=rng.randint(0, 30)) if draw < spec.review_after_closure else None
        elif draw < spec.review_on_time:
            reviewed = review_due - timedelta(days=rng.randint(0, 5))
        elif draw < spec.review_on_time + spec.review_late:
            reviewed = review_due + timedelta(days=rng.randint(8, 40))
        else:
            reviewed = None
        if reviewed is not None and (at_closure or reviewed <= closed):
            outcome = _weighted(rng, (("kept", 55), ("partly", 30), ("not_kept", 15)))
            yield WrittenAgreement(**self._base("agreement", reviewed, holder), action="reviewed",
                                   review_outcome=outcome, **common)  # fmt: skip
        if rng.random() < (spec.breach_after_closure if at_closure else spec.breach_recorded):
            breached = made + timedelta(days=rng.randint(7, 90))
            if at_closure or breached < closed:
                yield WrittenAgreement(**self._base("agreement", breached, holder), action="breached", **common)
                if rng.random() < spec.breach_followed_up:
                    followed = breached + timedelta(days=rng.randint(0, 8))
                    yield StrategyDiscussion(**self._base("strategy", followed, holder))

    def _outcomes(self, day: date) -> list[PlanOutcome]:
        rng, smart = self.rng, self.spec.smart_outcome
        return [
            PlanOutcome(
                outcome_id=self._id("o"),
                has_measure=rng.random() < smart,
                has_owner=rng.random() < smart,
                target_date=day + timedelta(days=rng.randint(30, 180)) if rng.random() < smart else None,
            )
            for _ in range(rng.randint(1, 3))
        ]

    def _id(self, kind: str) -> str:
        """Stable ids: the same seed gives the same ids, so a re-run is a redelivery."""
        self.issued += 1
        return f"{self.spec.source}:{self.child_id}:{kind}:{self.issued}"

    def _base(self, kind: str, day: date, team: str) -> dict[str, Any]:
        occurred = datetime.combine(day, time(9), tzinfo=UTC) + timedelta(minutes=self.rng.randrange(8 * 60))
        recorded = occurred + timedelta(minutes=self.rng.randrange(3 * 24 * 60))
        return {"event_id": self._id(kind), "child_id": self.child_id, "team": team, "occurred_at": occurred,
                "recorded_at": recorded, "source": self.spec.source}  # fmt: skip


def steady_from(spec: SimulationSpec) -> date:
    """The first day of the steady months, after the warm-up in which history builds up."""
    return add_months(spec.start, WARM_UP_MONTHS)


def _concerns(rng: random.Random) -> list[str]:
    return sorted({_weighted(rng, CONCERNS) for _ in range(rng.randint(1, 2))})


def _factors(rng: random.Random) -> list[str]:
    if rng.random() < 0.1:
        return ["21"]
    return sorted({_weighted(rng, FACTORS) for _ in range(rng.randint(1, 3))})


def _weighted(rng: random.Random, choices: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([c for c, _ in choices], weights=[w for _, w in choices])[0]
