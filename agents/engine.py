"""The one place where an event meets a child's state and the rules.

`apply` is what both the live Faust agent and the offline replay call, so the two give
the same alerts. It is deterministic: no clock, no I/O.
"""

import hashlib
from dataclasses import dataclass
from datetime import date

from agents.calendar import add_months
from agents.rules import RULES, RulesConfig
from agents.state import AgreementRecord, ChildState, ReferralRecord
from schemas.alerts import Alert
from schemas.events import CaseEvent, Referral, WrittenAgreement


@dataclass(frozen=True)
class Outcome:
    """What one event did: the updated state, alerts new or changed, and whether it was too late."""

    state: ChildState
    alerts: list[Alert]
    stale: bool = False


def apply(state: ChildState, event: CaseEvent, config: RulesConfig) -> Outcome:
    """Fold one event into the child's state and run the rules it can affect.

    The state is updated in place (it is the caller's fresh copy, from a table or the
    replay's dictionary) and returned. An event older than the retention horizon,
    counted back from the child's latest event, cannot be judged any more: it is
    reported as stale and changes nothing.
    """
    if state.latest is not None and event.day < add_months(state.latest, -config.horizon_months):
        return Outcome(state, [], stale=True)
    fold(state, event)
    prune(state, config.horizon_months)
    return Outcome(state, _new_or_changed(state, event, config))


def fold(state: ChildState, event: CaseEvent) -> None:
    """Record the event's facts. Ties are broken by event id so any order gives one state."""
    day = event.day
    if state.latest is None or day > state.latest:
        state.latest = day
    if isinstance(event, Referral):
        known = state.referrals.get(day)
        if known is None or event.event_id < known.event_id:
            state.referrals[day] = ReferralRecord(event_id=event.event_id, team=event.team)
    elif isinstance(event, WrittenAgreement):
        _fold_agreement(state.agreements.setdefault(event.agreement_id, AgreementRecord()), event)


def _fold_agreement(record: AgreementRecord, event: WrittenAgreement) -> None:
    day = event.day
    record.accompanies_closure = record.accompanies_closure or event.accompanies_closure
    if record.team is None:
        record.team = event.team
    if event.action == "made":
        if record.made is None or (day, event.event_id) < (record.made, str(record.made_event_id)):
            record.made, record.made_event_id = day, event.event_id
            record.team, record.review_due = event.team, event.review_due
    elif event.action == "reviewed":
        record.reviews.add(day)
    elif event.action == "breached":
        record.breaches.add(day)
    elif event.action == "ended":
        record.ended = day if record.ended is None else min(record.ended, day)


def prune(state: ChildState, horizon_months: int) -> None:
    """Forget facts older than the horizon, so state per child stays small."""
    if state.latest is None:
        return
    cutoff = add_months(state.latest, -horizon_months)
    state.referrals = {d: r for d, r in state.referrals.items() if d >= cutoff}
    state.agreements = {k: a for k, a in state.agreements.items() if max(_agreement_days(a), default=cutoff) >= cutoff}
    state.emitted = {k: v for k, v in state.emitted.items() if v[1] >= cutoff}


def _agreement_days(record: AgreementRecord) -> list[date]:
    days = [*record.reviews, *record.breaches]
    days += [d for d in (record.made, record.ended) if d is not None]
    return days


def _new_or_changed(state: ChildState, event: CaseEvent, config: RulesConfig) -> list[Alert]:
    child_id = event.child_id
    emitted = []
    for rule in RULES:
        if rule.id not in config.enabled or event.event_type not in rule.triggers:
            continue
        for alert in rule.evaluate(child_id, state, config):
            fingerprint = _fingerprint(alert)
            previous = state.emitted.get(alert.alert_id)
            if previous is None or previous[0] != fingerprint:
                state.emitted[alert.alert_id] = (fingerprint, alert.occurred_at.date())
                emitted.append(alert)
    return emitted


def _fingerprint(alert: Alert) -> str:
    """Short digest of an alert's content, to tell an update from a repeat."""
    return hashlib.sha256(alert.model_dump_json(exclude={"ingested_at"}).encode()).hexdigest()[:12]
