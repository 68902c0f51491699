from collections import defaultdict
from datetime import date

from streams.simulate import SimulationSpec, simulate


def test_the_same_seed_gives_the_same_stream() -> None:
    spec = SimulationSpec(children=50, seed=3)
    assert simulate(spec) == simulate(spec)
    assert simulate(spec) != simulate(SimulationSpec(children=50, seed=4))


def test_shape_is_realistic() -> None:
    events = simulate(SimulationSpec(children=3000, seed=11))
    referrals: dict[str, list[date]] = defaultdict(list)
    for event in events:
        if event.event_type == "referral":
            referrals[event.child_id].append(event.day)
    total = sum(len(days) for days in referrals.values())
    # Counted here by hand (R1 < R2 <= R1 + 365 days is close enough for a shape check).
    repeats = sum(
        1 for days in referrals.values() for d in days if any(0 < (d - earlier).days <= 365 for earlier in days)
    )
    assert 0.17 < repeats / total < 0.27, "about 22% of referrals should be re-referrals"
    agreements = [e for e in events if e.event_type == "agreement" and e.action == "made"]  # type: ignore[union-attr]
    assert len(agreements) > 0.2 * total
    assert len({e.event_id for e in events}) == len(events)


def test_events_are_in_recorded_order() -> None:
    events = simulate(SimulationSpec(children=100))
    assert [e.recorded_at for e in events] == sorted(e.recorded_at for e in events)
