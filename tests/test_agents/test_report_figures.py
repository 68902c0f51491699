"""The QA report's figures against figures worked out by hand (a small event table) and by a
naive count written here from the definitions (a simulated council)."""

import csv
import io
import re
from collections import Counter, defaultdict
from datetime import date
from typing import Any

import pytest

from agents.calendar import add_months
from agents.replay import replay
from agents.report_figures import (
    AUDIT_COLUMNS,
    STRATA,
    Comparator,
    Period,
    ReportError,
    TrackedAlert,
    audit_candidates,
    audit_sample,
    binomial_limit,
    parse_year,
    report_figures,
)
from agents.rules import RulesConfig
from agents.stats import referral_stats
from schemas.events import UPN_SHAPE, CaseClosure, CaseEvent, Referral, Section47Enquiry, WrittenAgreement
from streams.simulate import SimulationSpec, simulate
from tests.test_agents.events import agreement, at, closure, referral

YEAR = "2024-25"
AS_OF = date(2026, 3, 31)


def _referral(day: str, child: str, nfa: bool | None = None) -> Referral:
    return referral(day, child=child).model_copy(update={"nfa": nfa})


def _table() -> list[CaseEvent]:
    """Six children; every figure below is counted by hand from these lines."""
    a1 = agreement("2024-05-10", "A1", child="A").model_copy(
        update={"review_due": date(2024, 5, 20), "agreement_type": "safety_plan", "context": "assessment"}
    )
    f1 = agreement("2024-09-01", "F1", child="F", team="CIN West").model_copy(update={"review_due": date(2024, 9, 15)})
    return [
        # A: re-referred after CIN East closed; closed again by CIN West, next referral too late to count
        _referral("2024-05-01", "A"), a1, agreement("2024-05-18", "A1", action="reviewed", child="A"),
        closure("2024-06-01", child="A", team="CIN East"), _referral("2024-11-01", "A"),
        closure("2024-12-01", child="A", team="CIN West"), _referral("2026-01-05", "A"),
        # B: an NFA referral closed by the front door, back within 12 months (not NFA)
        _referral("2024-04-10", "B", nfa=True), closure("2024-04-10", child="B", reason="RC8", team="Front Door"),
        _referral("2025-03-01", "B", nfa=False),
        # C: an agreement left at closure, an S47 after it, referred again 13 months later (not a re-referral)
        _referral("2024-07-01", "C"), agreement("2024-07-15", "C1", child="C"),
        Section47Enquiry(event_id="s47-C", child_id="C", occurred_at=at("2024-07-20"), recorded_at=at("2024-07-20"),
                         team="Assessment North", source="test", enquiry_id="S47C"),
        closure("2024-08-01", child="C", team="CIN East"), _referral("2025-09-01", "C"),
        # D: 12 months and two weeks: not a re-referral; E: exactly 12 months: a re-referral for CIN West
        _referral("2023-06-01", "D"), closure("2023-07-01", child="D", team="CIN West"), _referral("2024-06-15", "D"),
        _referral("2023-06-01", "E"), closure("2023-06-20", child="E", team="CIN West"), _referral("2024-06-01", "E"),
        # F: an open case; the agreement's review is missed and it is breached
        _referral("2024-08-20", "F"), f1, agreement("2024-09-20", "F1", action="breached", child="F", team="CIN West"),
    ]  # fmt: skip


@pytest.fixture(scope="module")
def table() -> dict[str, Any]:
    return report_figures(_table(), [], as_of=AS_OF, year=YEAR, months=12)


def _team(period: dict[str, Any], name: str) -> dict[str, Any]:
    return next(t for t in period["teams"] if t["team"] == name)


def test_the_year_counts_each_referral_once_and_re_referrals_by_the_dfe_window(table: dict[str, Any]) -> None:
    year = table["rereferrals"]["periods"][0]
    assert (year["period"], year["first"], year["last"]) == (YEAR, "2024-04-01", "2025-03-31")
    assert (year["referrals"], year["re_referrals"], year["re_referral_rate"]) == (8, 3, 0.375)
    assert year["by_nfa"] == {
        "nfa": {"referrals": 1, "re_referrals": 0, "re_referral_rate": 0.0},
        "not_nfa": {"referrals": 1, "re_referrals": 1, "re_referral_rate": 1.0},
        "not_given": {"referrals": 6, "re_referrals": 2, "re_referral_rate": 0.3333},
    }
    assert year["complete"] and year["lookback_complete"] is False  # the data starts in June 2023


def test_a_re_referral_counts_for_the_team_that_closed_the_previous_episode(table: dict[str, Any]) -> None:
    year = table["rereferrals"]["periods"][0]
    front = _team(year, "Front Door")
    assert (front["front_door_referrals"], front["front_door_re_referrals"]) == (8, 3)
    assert (front["attributed"]["referrals"], front["attributed"]["re_referrals"]) == (6, 1)  # B came back
    assert _team(year, "CIN East")["attributed"]["re_referrals"] == 1  # A
    assert _team(year, "CIN West")["attributed"]["re_referrals"] == 1  # E, closed the year before
    # Closures in the year, and of them followed by a re-referral: CIN East closed A (back) and C (not in time).
    closures = {t["team"]: (t["closures"], t["closures_re_referred"]) for t in year["teams"]}
    assert closures == {"CIN East": (2, 1), "CIN West": (1, 0), "Front Door": (1, 1)}
    assert (year["closures"], year["closures_re_referred"], year["closure_re_referral_rate"]) == (4, 2, 0.5)


def test_the_la_figures_are_the_replay_figures_for_the_same_year(table: dict[str, Any]) -> None:
    stats = referral_stats(_table(), as_of=AS_OF)
    replayed = next(p for p in stats.periods if p.name == YEAR)
    year = table["rereferrals"]["periods"][0]
    assert (year["referrals"], year["re_referrals"]) == (replayed.total.referrals, replayed.total.re_referrals)


def test_what_became_of_each_agreement(table: dict[str, Any]) -> None:
    made = table["agreements"]["reporting_year"]
    assert (made["made"], made["at_closure"], made["breached"]) == (3, 2, 1)  # A1 and C1 at closure; F1 breached
    assert (made["reviews_due"], made["reviewed_on_time"]) == (2, 1)  # A1 on time, F1 missed; C1 has no review date
    assert [made[f"referral_{m}m"] for m in (3, 6, 12)] == [0, 1, 1]  # A1: referred again after 5 months 3 weeks
    assert all(made[f"referral_{m}m_eligible"] == 3 for m in (3, 6, 12))
    assert (made["section47_12m"], made["cp_plan_12m"]) == (1, 0)  # C's S47 came after its agreement
    by_type = {g["agreement_type"]: g["made"] for g in table["agreements"]["by_type"]}
    assert by_type == {"safety_plan": 1, "not given": 2}
    teams = {t["team"]: (t["made"], t["at_closure"]) for t in table["agreements"]["teams"]}
    assert teams == {"CIN East": (2, 2), "CIN West": (1, 0)}


def test_a_share_within_k_months_waits_until_the_agreement_is_old_enough() -> None:
    young = report_figures(_table(), [], as_of=date(2024, 10, 31), year=YEAR)["agreements"]["reporting_year"]
    # By 31 October 2024: A1 and C1 are over 3 months old, F1 is not; none is 6 months old.
    assert (young["referral_3m_eligible"], young["referral_6m_eligible"], young["referral_6m_share"]) == (2, 0, None)


def test_funnel_limits_are_the_binomial_quantiles() -> None:
    # At n = 100 around 20%: 95% of Binomial(100, 0.2) lies between 12 and 28.
    assert 0.11 <= binomial_limit(0.2, 100, 0.025) <= 0.13
    assert 0.27 <= binomial_limit(0.2, 100, 0.975) <= 0.29
    assert binomial_limit(0.2, 100, 0.999) > binomial_limit(0.2, 100, 0.975)  # 99.8% is wider


def test_a_reporting_year_is_april_to_march_and_a_bad_one_is_refused() -> None:
    assert parse_year("2024-25") == (date(2024, 4, 1), date(2025, 3, 31))
    for bad in ("2024", "2024-26", "24-25", "2024/25"):
        with pytest.raises(ReportError):
            parse_year(bad)


def test_a_measure_the_sources_cannot_support_has_a_banner(table: dict[str, Any]) -> None:
    practice = {m["measure"]: m for m in table["practice"]}
    assert not practice["plans_smart"]["supported"] and "plan outcomes" in practice["plans_smart"]["banner"]
    assert not practice["child_views"]["supported"]
    assert "sexual_abuse_indicator_not_recorded" in practice["sab_plans_with_factor"]["banner"]


# --- a simulated council, counted naively from the definitions ---------------------------


@pytest.fixture(scope="module")
def council() -> tuple[list[CaseEvent], dict[str, Any], list[TrackedAlert]]:
    events = simulate(SimulationSpec(children=700, seed=5, start=date(2023, 4, 1), months=24))
    alerts = [TrackedAlert(a) for a in replay(events, RulesConfig()).alerts.values()]
    england = Comparator("England", 0.226, "2024-25")
    return events, report_figures(events, alerts, year=YEAR, comparators=[england]), alerts


def _naive_re_referral(days: list[date], day: date) -> bool:
    return any(earlier < day <= add_months(earlier, 12) for earlier in days)


def test_a_simulated_council_has_the_re_referrals_counted_naively(council: Any) -> None:
    events, figures, _ = council
    days: dict[str, set[date]] = defaultdict(set)
    team_of: dict[tuple[str, date], str] = {}
    for event in sorted(events, key=lambda e: e.event_id):
        if isinstance(event, Referral):
            days[event.child_id].add(event.day)
            team_of.setdefault((event.child_id, event.day), event.team)
    first, last = date(2024, 4, 1), date(2025, 3, 31)
    per_team: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for child, held in days.items():
        for day in held:
            if first <= day <= last:
                cell = per_team[team_of[(child, day)]]
                cell[0] += 1
                cell[1] += _naive_re_referral(sorted(held), day)
    year = figures["rereferrals"]["periods"][0]
    assert year["referrals"] == sum(c[0] for c in per_team.values()) > 500
    assert year["re_referrals"] == sum(c[1] for c in per_team.values()) > 50
    assert {t["team"]: [t["front_door_referrals"], t["front_door_re_referrals"]]
            for t in year["teams"] if t["front_door_referrals"]} == dict(per_team)  # fmt: skip


def test_a_simulated_council_has_its_closing_teams_counted_naively(council: Any) -> None:
    events, figures, _ = council
    referrals: dict[str, set[date]] = defaultdict(set)
    closures: dict[str, dict[date, str]] = defaultdict(dict)
    for event in sorted(events, key=lambda e: e.event_id):
        if isinstance(event, Referral):
            referrals[event.child_id].add(event.day)
        elif isinstance(event, CaseClosure):
            closures[event.child_id].setdefault(event.day, event.team)
    counted: Counter[tuple[str, bool]] = Counter()
    for child, closed in closures.items():
        for day, team in closed.items():
            if not date(2024, 4, 1) <= day <= date(2025, 3, 31):
                continue
            opened = max(d for d in referrals[child] if d <= day)  # the simulator never refers an open case
            later = min((d for d in referrals[child] if d > opened and d >= day), default=None)
            counted[(team, later is not None and later <= add_months(opened, 12))] += 1
    year = figures["rereferrals"]["periods"][0]
    for row in year["teams"]:
        assert (row["closures"], row["closures_re_referred"]) == (
            counted[(row["team"], True)] + counted[(row["team"], False)],
            counted[(row["team"], True)],
        )


def test_a_simulated_council_has_its_agreement_outcomes_counted_naively(council: Any) -> None:
    events, figures, _ = council
    as_of = max(e.day for e in events)
    made: dict[tuple[str, str], date] = {}
    referrals: dict[str, set[date]] = defaultdict(set)
    closures: dict[str, set[date]] = defaultdict(set)
    ended: dict[tuple[str, str], date] = {}
    for event in events:
        if isinstance(event, WrittenAgreement):
            key = (event.child_id, event.agreement_id)
            if event.action == "made":
                made[key] = min(made.get(key, event.day), event.day)
            elif event.action == "ended":
                ended[key] = min(ended.get(key, event.day), event.day)
        elif isinstance(event, Referral):
            referrals[event.child_id].add(event.day)
        elif isinstance(event, CaseClosure):
            closures[event.child_id].add(event.day)
    in_year = {k: d for k, d in made.items() if date(2024, 4, 1) <= d <= date(2025, 3, 31)}
    at_closure = 0
    followed = eligible = 0
    for (child, agreement_id), day in in_year.items():
        # the closure of the episode it was made in: the first closure on or after it, before any new referral
        closed = min((c for c in closures[child] if c >= day), default=None)
        new_referral = min((r for r in referrals[child] if r > day), default=None)
        if closed is not None and (new_referral is None or closed <= new_referral):
            stop = ended.get((child, agreement_id))
            at_closure += stop is None or stop >= closed
        if add_months(day, 6) <= as_of:
            eligible += 1
            followed += any(day < r <= add_months(day, 6) for r in referrals[child])
    year = figures["agreements"]["reporting_year"]
    assert year["made"] == len(in_year) > 30
    assert year["at_closure"] == at_closure
    assert (year["referral_6m"], year["referral_6m_eligible"]) == (followed, eligible)


# --- the audit sample ---------------------------------------------------------------------

ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
NAME_LIKE = re.compile(r"^[A-Z][a-z]+ [A-Z][a-z]+$")  # "Jane Smith"


def _sample(council: Any, size: int, seed: int) -> list[dict[str, str]]:
    events, figures, alerts = council
    window = Period("window", "w", date(2024, 4, 1), date(2025, 3, 31))
    return audit_sample(audit_candidates(events, alerts, window, date.fromisoformat(figures["as_of"])), size, seed)


def test_the_audit_sample_is_reproducible_from_its_seed_and_spread_over_the_strata(council: Any) -> None:
    first, again, other = _sample(council, 20, 11), _sample(council, 20, 11), _sample(council, 20, 12)
    assert first == again and first != other
    assert len(first) == 20
    strata = Counter(row["stratum"] for row in first)
    assert set(strata) == set(STRATA) and max(strata.values()) - min(strata.values()) <= 1


def test_the_audit_sample_holds_only_ids_dates_and_codes(council: Any) -> None:
    events = council[0]
    children = {e.child_id for e in events}
    teams = {e.team for e in events}
    rows = _sample(council, 40, 3)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=AUDIT_COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    parsed = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert parsed and set(parsed[0]) == set(AUDIT_COLUMNS)
    for row in parsed:
        assert row["child_id"] in children and not re.search(UPN_SHAPE, row["child_id"])
        assert row["stratum"] in STRATA and row["reason"] == STRATA[row["stratum"]]  # a fixed phrase, never case text
        assert row["team"] in teams
        assert ISO_DAY.match(row["first_date"]) and (row["second_date"] == "" or ISO_DAY.match(row["second_date"]))
        assert not any(NAME_LIKE.match(value) for key, value in row.items() if key != "team")


def test_the_team_months_add_up_to_the_year(table: dict[str, Any]) -> None:
    in_year = [c for c in table["rereferrals"]["team_months"] if "2024-04" <= c["month"] <= "2025-03"]

    def total(team: str, key: str) -> int:
        return sum(c[key] for c in in_year if c["team"] == team)

    assert (total("Front Door", "front_door_referrals"), total("Front Door", "front_door_re_referrals")) == (8, 3)
    assert (total("CIN East", "closures"), total("CIN East", "closures_re_referred")) == (2, 1)
    assert total("CIN West", "attributed_re_referrals") == 1
    assert {c["month"] for c in in_year if c["team"] == "CIN East" and c["closures"]} == {"2024-06", "2024-08"}
