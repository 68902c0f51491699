"""Re-referral figures in the DfE's terms, as a pure function of the events.

A referral R2 is a re-referral when an earlier referral R1 of the same child has
R1 < R2 <= R1 + 12 calendar months; the same child and date count once (shared/DOMAIN.md).
The window is the DfE's, not the alert rule's configurable one: the figure is compared
with the national rate, so it must be computed the same way.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from itertools import pairwise

from agents.calendar import within_months_after
from schemas.events import CaseEvent, Referral

DFE_WINDOW_MONTHS = 12


@dataclass(frozen=True)
class ReferralStats:
    children: int  # distinct children with any event
    referrals: int  # distinct (child, referral date)
    re_referrals: int

    @property
    def re_referral_rate(self) -> float:
        return round(self.re_referrals / self.referrals, 4) if self.referrals else 0.0

    def to_dict(self) -> dict[str, int | float]:
        return {
            "children": self.children,
            "referrals": self.referrals,
            "re_referrals": self.re_referrals,
            "re_referral_rate": self.re_referral_rate,
        }


def referral_stats(events: Iterable[CaseEvent]) -> ReferralStats:
    children: set[str] = set()
    referral_days: dict[str, set[date]] = defaultdict(set)
    for event in events:
        children.add(event.child_id)
        if isinstance(event, Referral):
            referral_days[event.child_id].add(event.day)
    return ReferralStats(
        children=len(children),
        referrals=sum(len(days) for days in referral_days.values()),
        re_referrals=sum(count_re_referrals(days) for days in referral_days.values()),
    )


def count_re_referrals(days: Iterable[date]) -> int:
    """Re-referrals among one child's referral days.

    Only the closest earlier referral needs checking: adding months never moves a later
    day earlier, so if it is out of the window every earlier one is too.
    """
    ordered = sorted(set(days))
    return sum(within_months_after(earlier, later, DFE_WINDOW_MONTHS) for earlier, later in pairwise(ordered))
