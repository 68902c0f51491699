"""Data readiness: which rules can run on the sources given, and what each silent one lacks.

A CIN census has no written agreements, no concern codes on contacts, no plan outcomes
and no record of the child's views, so some rules can never fire on it; without this
report they would simply say nothing, which reads as "all is well". Worked out from what
the events actually carry (a field that is there, not the file type), fed as they stream
by, so ingest's dry run and replay give the same answer for the same files.
"""

from dataclasses import dataclass, field

from schemas.events import Assessment, CaseClosure, CaseEvent, Contact, Plan, Referral, WrittenAgreement

# What a rule needs, as named data items. A rule with several variants runs when any
# variant has everything it needs; each item's name is what the report says is missing.
REFERRALS = "referrals"
CLOSURES = "case closures"
AGREEMENTS = "written agreements"
REVIEW_DATES = "agreement review dates"
BREACHES = "agreement breaches"
FACTORS = "assessment factors"
CONCERNS = "concern codes on contacts or referrals"
PLAN_CATEGORIES = "plan categories of abuse"
PLAN_OUTCOMES = "plan outcomes"
CHILD_VIEWS = "child's views recorded on assessments"
# No rule needs these; the QA report's practice measures do (a banner when they are missing).
CHILD_SEEN = "child seen during assessments"
CHILD_SEEN_ALONE = "child seen alone during assessments"

NEEDS: dict[str, dict[str, tuple[str, ...]]] = {
    "rereferral_after_agreement": {"": (AGREEMENTS, REFERRALS)},
    "agreement_disproportionate_to_risk": {"": (AGREEMENTS, FACTORS)},
    "agreement_review_overdue": {"review dates": (AGREEMENTS, REVIEW_DATES), "at closure": (AGREEMENTS, CLOSURES)},
    "agreement_breach_without_followup": {"": (AGREEMENTS, BREACHES)},
    "repeated_agreements": {"": (AGREEMENTS,)},
    "sexual_abuse_indicator_not_recorded": {"contact": (CONCERNS, FACTORS), "plan": (PLAN_CATEGORIES, FACTORS)},
    "plan_not_smart": {"": (PLAN_OUTCOMES,)},
    "child_views_not_recorded": {"": (CHILD_VIEWS,)},
    "team_rereferral_rate_high": {"": (REFERRALS,)},
}


@dataclass(frozen=True)
class RuleReadiness:
    """Whether a rule can run, what it lacks, and (for rules with variants) which variants run."""

    runs: bool
    missing: tuple[str, ...]
    variants: dict[str, bool] = field(default_factory=dict)

    def to_dict(self) -> dict[str, object]:
        data: dict[str, object] = {"runs": self.runs, "missing": list(self.missing)}
        if self.variants:
            data["variants"] = dict(self.variants)
        return data

    def describe(self) -> str:
        """One line for a table: 'runs', or 'silent: no plan outcomes in these sources'."""
        lacking = " or ".join(self.missing)
        if not self.runs:
            return f"silent: no {lacking} in these sources"
        silent = [name for name, runs in self.variants.items() if not runs]
        if silent:
            return f"runs; {', '.join(silent)} variant silent: no {lacking} in these sources"
        return "runs"


@dataclass
class Readiness:
    """The data items seen so far. `see` each event as it streams by; `report` at the end."""

    seen: set[str] = field(default_factory=set)

    def see(self, event: CaseEvent) -> None:
        self.seen.update(carried(event))

    def report(self) -> dict[str, RuleReadiness]:
        return readiness(self.seen)


def carried(event: CaseEvent) -> set[str]:
    """The data items one event carries."""
    found: set[str] = set()
    if isinstance(event, Referral | Contact) and event.concerns:
        found.add(CONCERNS)
    if isinstance(event, Referral):
        found.add(REFERRALS)
    elif isinstance(event, CaseClosure):
        found.add(CLOSURES)
    elif isinstance(event, WrittenAgreement):
        found.add(AGREEMENTS)
        if event.review_due is not None or event.action == "reviewed":
            found.add(REVIEW_DATES)
        if event.action == "breached":
            found.add(BREACHES)
        if event.accompanies_closure:
            found.add(CLOSURES)
    elif isinstance(event, Assessment):
        if event.factors:
            found.add(FACTORS)
        if event.child_views_recorded is not None:
            found.add(CHILD_VIEWS)
        if event.child_seen is not None:
            found.add(CHILD_SEEN)
        if event.child_seen_alone is not None:
            found.add(CHILD_SEEN_ALONE)
    elif isinstance(event, Plan):
        if event.categories:
            found.add(PLAN_CATEGORIES)
        if event.outcomes:
            found.add(PLAN_OUTCOMES)
    return found


def readiness(seen: set[str]) -> dict[str, RuleReadiness]:
    """Per rule id: whether it can run on sources that carry `seen`, and what it lacks."""
    out = {}
    for rule, variants in NEEDS.items():
        runs = {name: all(item in seen for item in needs) for name, needs in variants.items()}
        missing = sorted({item for needs in variants.values() for item in needs if item not in seen})
        named = {name: ok for name, ok in runs.items() if name} if len(variants) > 1 else {}
        out[rule] = RuleReadiness(any(runs.values()), tuple(missing), named)
    return out


def table_lines(report: dict[str, RuleReadiness]) -> list[str]:
    """The report as the CLI prints it: a heading, then one line per rule."""
    return ["rules on these sources:", *(f"  {rule:<38} {ready.describe()}" for rule, ready in report.items())]
