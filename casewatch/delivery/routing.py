"""Routing as pure functions of (alert labels, configuration, now), after Alertmanager.

No database and no clock here: the outbox and the dispatcher call these with the labels
they loaded and the time they were given, so tests drive every timer with a fixed clock.

- `destinations`: which receivers an alert goes to, in which group.
- `flush_time`: when a group's next notification may go (group_wait, group_interval).
- `repeat_due`: whether a group's unacknowledged alerts are due a reminder (repeat_interval).
- `mute_reason`: whether a silence or an inhibiting alert holds an alert back.
- `due_escalations`: which open, unacknowledged alerts go to a second receiver now.
"""

import functools
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TypeVar

from casewatch.delivery.config import InhibitRule, Route, RoutingConfig
from casewatch.delivery.matchers import LabelMatcher, all_match

Labels = dict[str, str]
T = TypeVar("T")


@dataclass(frozen=True)
class Timing:
    group_wait: timedelta
    group_interval: timedelta
    repeat_interval: timedelta


@dataclass(frozen=True)
class RouteNode:
    """A route with every inherited setting filled in; `id` is its path, e.g. `0.1`."""

    id: str
    receiver: str
    matchers: tuple[LabelMatcher, ...]
    group_by: tuple[str, ...]
    timing: Timing
    notify_on_change: bool
    escalate_after: timedelta | None
    escalate_to: str | None
    continue_: bool
    children: tuple["RouteNode", ...]


@dataclass(frozen=True)
class Destination:
    """One receiver's group for one alert."""

    route: RouteNode
    receiver: str
    group_labels: Labels

    @functools.cached_property  # a hash, asked for several times per alert when a batch is routed
    def group_key(self) -> str:
        return group_key(self.route.id, self.group_labels)


# Settings the root route leaves unset fall back to these (Alertmanager's defaults).
_ROOT_DEFAULTS = Timing(timedelta(seconds=30), timedelta(minutes=5), timedelta(hours=4))


def build_tree(config: RoutingConfig) -> RouteNode:
    return _resolve(config.route, None, "0")


def _resolve(route: Route, parent: RouteNode | None, node_id: str) -> RouteNode:
    base = parent or RouteNode(
        id="", receiver="", matchers=(), group_by=("team", "rule"), timing=_ROOT_DEFAULTS, notify_on_change=True,
        escalate_after=None, escalate_to=None, continue_=False, children=(),
    )  # fmt: skip
    escalate_after = pick(route.escalate_after, base.escalate_after)
    node = RouteNode(
        id=node_id,
        receiver=pick(route.receiver, base.receiver),
        matchers=tuple(route.matchers),
        group_by=tuple(pick(route.group_by, list(base.group_by))),
        timing=Timing(
            pick(route.group_wait, base.timing.group_wait),
            pick(route.group_interval, base.timing.group_interval),
            pick(route.repeat_interval, base.timing.repeat_interval),
        ),
        notify_on_change=pick(route.notify_on_change, base.notify_on_change),
        escalate_after=escalate_after,
        escalate_to=pick(route.escalate_to, base.escalate_to),
        continue_=route.continue_,
        children=(),
    )
    children = tuple(_resolve(child, node, f"{node_id}.{i}") for i, child in enumerate(route.routes))
    return replace(node, children=children)


def pick(own: T | None, inherited: T) -> T:
    return inherited if own is None else own


def matching_routes(tree: RouteNode, labels: Labels) -> list[RouteNode]:
    """The routes an alert ends at: depth first, first match wins unless it has `continue`."""
    if not all_match(list(tree.matchers), labels):
        return []
    found: list[RouteNode] = []
    for child in tree.children:
        matched = matching_routes(child, labels)
        found += matched
        if matched and not child.continue_:
            break
    return found or [tree]


def find_route(tree: RouteNode, route_id: str) -> RouteNode | None:
    if tree.id == route_id:
        return tree
    for child in tree.children:
        if route_id.startswith(child.id) and (found := find_route(child, route_id)):
            return found
    return None


def destinations(tree: RouteNode, labels: Labels, *, new: bool) -> list[Destination]:
    """Where a stored alert goes: every matching route, unless it only changed and the route says not to."""
    return [
        Destination(route, route.receiver, group_labels(route, labels))
        for route in matching_routes(tree, labels)
        if new or route.notify_on_change
    ]


def group_labels(route: RouteNode, labels: Labels) -> Labels:
    return {name: labels.get(name, "") for name in route.group_by}


def group_key(route_id: str, labels: Labels) -> str:
    material = json.dumps([route_id, sorted(labels.items())])
    return hashlib.sha256(material.encode()).hexdigest()[:32]


def flush_time(now: datetime, last_flush: datetime | None, timing: Timing) -> datetime:
    """When a new notification for a group goes out.

    A group never notified waits `group_wait`, so alerts raised together arrive together;
    after that, a group sends at most once per `group_interval`.
    """
    if last_flush is None:
        return now + timing.group_wait
    return max(now, last_flush + timing.group_interval)


def repeat_due(tree: RouteNode, route_id: str, last_flush: datetime, now: datetime) -> bool:
    """A group last notified `repeat_interval` ago is reminded of its unacknowledged alerts."""
    route = find_route(tree, route_id)
    return route is not None and now >= last_flush + route.timing.repeat_interval


@dataclass(frozen=True)
class Silence:
    id: int
    matchers: tuple[LabelMatcher, ...]
    starts_at: datetime
    ends_at: datetime

    def active(self, now: datetime) -> bool:
        return self.starts_at <= now < self.ends_at


@dataclass(frozen=True)
class LabelledAlert:
    alert_id: str
    labels: Labels


def mute_reason(
    alert: LabelledAlert,
    *,
    silences: Sequence[Silence],
    sources: Sequence[LabelledAlert],
    inhibit_rules: Sequence[InhibitRule],
    now: datetime,
) -> str | None:
    """Why `alert` is held back now, or None: an active silence, or an open inhibiting alert.

    `sources` are the open alerts that might inhibit it; only those about the same child count.
    """
    for silence in silences:
        if silence.active(now) and all_match(list(silence.matchers), alert.labels):
            return f"silence {silence.id}"
    for rule in inhibit_rules:
        if not all_match(rule.target_matchers, alert.labels):
            continue
        for source in sources:
            if source.alert_id == alert.alert_id or not all_match(rule.source_matchers, source.labels):
                continue
            if all(source.labels.get(k, "") == alert.labels.get(k, "") for k in ("child_id", *rule.equal)):
                return f"inhibited by {source.alert_id}"
    return None


@dataclass(frozen=True)
class OpenAlert:
    """An alert nobody has acknowledged or resolved, and since when it is open."""

    alert_id: str
    labels: Labels
    opened_at: datetime


def due_escalations(tree: RouteNode, alerts: Sequence[OpenAlert], now: datetime) -> list[tuple[str, Destination]]:
    """(alert_id, escalation destination) for each alert open past its route's `escalate_after`."""
    due = []
    for alert in alerts:
        for route in matching_routes(tree, alert.labels):
            if route.escalate_to and route.escalate_after is not None and now >= alert.opened_at + route.escalate_after:
                due.append((alert.alert_id, Destination(route, route.escalate_to, group_labels(route, alert.labels))))
    return due


def shortest_escalation(tree: RouteNode) -> timedelta | None:
    """The least `escalate_after` in the tree: alerts younger than it need no look."""
    own = [tree.escalate_after] if tree.escalate_to and tree.escalate_after is not None else []
    found = own + [e for c in tree.children if (e := shortest_escalation(c)) is not None]
    return min(found, default=None)


def shortest_repeat(tree: RouteNode) -> timedelta:
    return min([tree.timing.repeat_interval, *(shortest_repeat(c) for c in tree.children)])
