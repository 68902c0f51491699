"""A child's episodes of need, derived from the referral and closure days the state holds.

DfE: a referral is not recorded while a case is open (the CIN validator's rules 8815, 8816
and 8820: no second open episode, no overlapping episodes). So an episode opens at a
referral when none is open, and the first closure on or after that day, not yet used by
an earlier episode, closes it; a referral while an episode is open is not a referral but
a data-quality finding, never a re-referral and never a trigger.

Everything here is worked out from the sets of days held, never from the order events
arrived in, so every arrival order gives the same answer as replay sorted by time. A
closure that arrives late can only turn a referral from "in an open episode" into a
referral (it closes the episode before it); it never turns a referral into a finding.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

from agents.state import AgreementRecord, ChildState, ReferralRecord


@dataclass(frozen=True, slots=True)
class Episode:
    """One episode: the referral that opened it and the closure that ended it (None: still open)."""

    start: date
    referral: ReferralRecord
    closed: date | None

    def covers(self, day: date) -> bool:
        """Whether the episode is open on `day` (its referral and closure days included)."""
        return self.start <= day and (self.closed is None or day <= self.closed)


@dataclass(frozen=True, slots=True)
class Episodes:
    """The child's episodes in time order, and the referral days made while one was open."""

    episodes: tuple[Episode, ...]
    in_open_episode: dict[date, date]  # referral day -> start of the episode it fell in

    def on(self, day: date) -> Episode | None:
        """The episode open on `day` (the earliest, when one closes the day another opens)."""
        return next((e for e in self.episodes if e.covers(day)), None)

    def referrals(self) -> dict[date, ReferralRecord]:
        """The referrals that count: each one that opened an episode."""
        return {e.start: e.referral for e in self.episodes}

    def open_on(self, day: date) -> bool | None:
        """Whether the case is open on `day`; None when no referral is known (the sources cannot say)."""
        if not self.episodes:
            return None
        return self.on(day) is not None


def episodes_of(state: ChildState) -> Episodes:
    """The episodes the referral and closure days make (see the module docstring)."""
    closures = sorted(state.closures)
    found: list[Episode] = []
    in_open: dict[date, date] = {}
    used = 0  # closures before this index are taken by earlier episodes
    for day in sorted(state.referrals):
        if found:
            last = found[-1]
            if last.closed is None or last.closed > day:  # a closure on the day itself comes first
                in_open[day] = last.start
                continue
        while used < len(closures) and closures[used] < day:
            used += 1  # a closure with no episode open before it: nothing to close
        closed = closures[used] if used < len(closures) else None
        if closed is not None:
            used += 1
        found.append(Episode(day, state.referrals[day], closed))
    return Episodes(tuple(found), in_open)


def closure_of(state: ChildState, agreement: AgreementRecord, episodes: Episodes | None = None) -> date | None:
    """The closure an agreement was left in place at, or None.

    Derived (an agreement made in an episode and not ended before its closure day), or,
    when the sources hold no such closure, as the source says (`accompanies_closure`; its
    closure day is then taken to be the day the agreement was made).
    """
    made = agreement.made
    if made is None:
        return None
    episode = (episodes or episodes_of(state)).on(made)
    closed = episode.closed if episode is not None else None
    if closed is not None and (agreement.ended is None or agreement.ended >= closed):
        return closed
    if agreement.accompanies_closure:
        return closed or made
    return None


def referrals_in_open_episode(states: Mapping[str, ChildState]) -> list[tuple[str, date]]:
    """Every (child, referral day) made while an episode was open: the data-quality finding, in order."""
    return sorted((child, day) for child, state in states.items() for day in episodes_of(state).in_open_episode)
