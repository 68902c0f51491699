"""Data readiness: from what the events carry, which rules can run and what each silent one lacks."""

from agents.readiness import NEEDS, Readiness
from agents.rules.config import ALL_RULES
from tests.test_agents.rows import agreement, assessment, closure, contact, outcome, plan, referral


def report(*events):  # type: ignore[no-untyped-def]
    readiness = Readiness()
    for event in events:
        readiness.see(event)
    return readiness.report()


def test_every_rule_has_its_needs_listed() -> None:
    assert set(NEEDS) == {rule.id for rule in ALL_RULES}


def test_nothing_seen_leaves_every_rule_silent() -> None:
    assert not any(r.runs for r in report().values())


def test_a_census_like_stream_leaves_the_contact_variant_smartness_and_views_silent() -> None:
    found = report(referral("2024-01-02"), closure("2024-02-01"), assessment("2024-01-20", "16A"),
                   plan("2024-01-10", categories=["SAB"]))  # fmt: skip
    sexual = found["sexual_abuse_indicator_not_recorded"]
    assert sexual.runs and sexual.variants == {"contact": False, "plan": True}
    assert sexual.missing == ("concern codes on contacts or referrals",)
    assert "contact variant silent: no concern codes on contacts or referrals" in sexual.describe()
    assert found["plan_not_smart"].describe() == "silent: no plan outcomes in these sources"
    assert not found["child_views_not_recorded"].runs
    assert found["rereferral_after_agreement"].missing == ("written agreements",)


def test_a_field_that_is_there_makes_its_rules_run() -> None:
    found = report(
        contact("2024-01-01", "19C"), referral("2024-01-02"), assessment("2024-01-20", "16A", views=True),
        plan("2024-01-10", outcomes=[outcome("o1")]), agreement("2024-01-10", review_due="2024-02-01"),
        agreement("2024-01-15", "breached"),
    )  # fmt: skip
    assert all(r.runs for r in found.values()), {k: r.missing for k, r in found.items() if not r.runs}
    assert found["child_views_not_recorded"].to_dict() == {"runs": True, "missing": []}


def test_views_unknown_is_not_views_carried() -> None:
    assert not report(assessment("2024-01-20", "16A", views=None))["child_views_not_recorded"].runs
