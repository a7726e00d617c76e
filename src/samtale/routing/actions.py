"""Routing: assign arriving conversations to available teammates (B9, B10).

A decision locks its rule's row, so two conversations arriving at the same instant are
decided one after the other: round robin stays fair and capacity is never exceeded.
Status comes from `status_at` at the moment of the decision; nobody available leaves the
conversation unassigned, and `route_backlog` offers it again when someone is back.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from samtale.accounts.access import require_permission
from samtale.accounts.models import Team, User
from samtale.availability.roster import statuses
from samtale.core import batching
from samtale.core.audit import audit
from samtale.core.clock import now
from samtale.inbox import adapters
from samtale.inbox.models import Channel, Conversation, Status, ViewCount
from samtale.inbox.queries import LIVE
from samtale.routing.models import Method, RoutingRule, RoutingTurn

log = logging.getLogger(__name__)


MAX_CAPACITY = 10_000  # open conversations per person


def configure_routing(
    channel: Channel,
    *,
    acting_user: User,
    users: Iterable[User] = (),
    teams: Iterable[Team] = (),
    method: str = Method.ROUND_ROBIN,
    capacity: int | None = None,
    enabled: bool = True,
    reroute_when_owner_away: bool = True,
) -> RoutingRule:
    require_permission(acting_user, "inbox_settings")
    if not adapters.installed(channel.kind):
        raise ValidationError(_("This channel receives nothing (its kind is not installed): it has nothing to route."))
    if method not in Method.values:
        raise ValidationError(_("Unknown routing method."))
    if capacity is not None and not 1 <= capacity <= MAX_CAPACITY:
        raise ValidationError(_("Capacity must be a whole number from 1 to 10000."))
    users, teams = list(users), list(teams)
    if any(u.membership.account_id != channel.account_id for u in users) or any(
        t.account_id != channel.account_id for t in teams
    ):
        raise ValidationError(_("Targets must belong to this account."))
    with transaction.atomic():
        rule, _created = RoutingRule.objects.update_or_create(
            channel=channel,
            defaults={"account_id": channel.account_id, "method": method, "capacity": capacity, "enabled": enabled,
                      "reroute_when_owner_away": reroute_when_owner_away},
        )  # fmt: skip
        rule.users.set(users)
        rule.teams.set(teams)
        audit(rule.account, acting_user, "routing.configured", rule, method=method, capacity=capacity,
              users=[u.pk for u in users], teams=[t.pk for t in teams])  # fmt: skip
    transaction.on_commit(lambda: route_backlog(channel.inbox_id))
    return rule


def candidates(rule: RoutingRule) -> list[int]:
    """Ids of the targets (users and team members) who may work in the channel's inbox."""
    inbox = rule.channel.inbox
    targets = Q(pk__in=rule.users.values("pk")) | Q(
        pk__in=Team.members.through.objects.filter(team__in=rule.teams.all()).values("user_id")
    )
    access = Q(pk__in=inbox.members.through.objects.filter(inbox=inbox).values("user_id")) | Q(
        membership__role="super_admin"
    )
    return list(
        User.objects.filter(
            targets,
            access,
            membership__account_id=inbox.account_id,
            is_active=True,
            membership__deactivated_at=None,
            membership__removed_at=None,
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )


@dataclass
class _RuleState:
    """What a decision reads, kept for the rest of a batch (`core.batching`): the rule (locked
    once), its candidates, their open counts and turns, and the statuses read so far. Decisions
    of the batch update it as they go, and the turns are written when it ends."""

    rule: RoutingRule
    people: list[int]
    open_counts: dict[int, int]
    turns: dict[int, int]
    statuses: dict[int, Any] = field(default_factory=dict)
    taken: dict[int, int] = field(default_factory=dict)  # conversations given per person, not yet written

    def status(self, chunk: list[int], at: datetime) -> dict[int, Any]:
        missing = [pk for pk in chunk if pk not in self.statuses]
        if missing:
            self.statuses.update(statuses(missing, at))
        return {pk: self.statuses[pk] for pk in chunk}

    def give(self, pk: int) -> None:
        self.turns[pk] = max(self.turns.values(), default=0) + 1
        self.open_counts[pk] = self.open_counts.get(pk, 0) + 1
        self.taken[pk] = self.taken.get(pk, 0) + 1

    def write_turns(self) -> None:
        """Every turn given since the last write: rows made where missing (one INSERT skipping
        existing ones), then each changed by one statement run for all, in user order."""
        at = connection.ops.adapt_datetimefield_value(now())
        taken = sorted(self.taken.items())
        self.taken.clear()
        if not taken:
            return
        RoutingTurn.objects.bulk_create(
            [RoutingTurn(rule=self.rule, user_id=pk, sequence=0, assigned=0) for pk, _n in taken], ignore_conflicts=True
        )
        table = connection.ops.quote_name(RoutingTurn._meta.db_table)
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {table} SET sequence = %s, last_assigned_at = %s, assigned = assigned + %s"  # noqa: S608 - the model's table
                " WHERE rule_id = %s AND user_id = %s",
                [(self.turns[pk], at, count, self.rule.pk, pk) for pk, count in taken],
            )


def _state(channel_id: int) -> _RuleState | None:
    """The channel's enabled rule, locked, with what deciding reads (once per batch)."""

    def load() -> _RuleState | None:
        rule = (
            RoutingRule.objects.select_for_update()
            .select_related("channel__inbox")
            .filter(channel_id=channel_id, enabled=True)
            .first()
        )
        if rule is None:
            return None
        return _RuleState(
            rule,
            candidates(rule),
            dict(ViewCount.objects.filter(inbox_id=rule.channel.inbox_id, key="mine").values_list("user_id", "count")),
            dict(RoutingTurn.objects.filter(rule=rule).values_list("user_id", "sequence")),
        )

    scope = batching.current()
    return scope.remember(("routing", channel_id), load) if scope is not None else load()


def _pick(state: _RuleState, exclude: Iterable[int]) -> int | None:
    """Candidates are ranked first (round robin: who waited longest; balanced: fewest open, then
    who waited longest) and statuses are then read in that order, a few at a time, until someone
    available (and under capacity) is found: with hundreds of targets most are never looked at."""
    at = now()
    skip = set(exclude)
    rule, counts, turns = state.rule, state.open_counts, state.turns
    people = [pk for pk in state.people if pk not in skip]
    if rule.capacity is not None:
        people = [pk for pk in people if counts.get(pk, 0) < rule.capacity]
    if rule.method == Method.BALANCED:
        people.sort(key=lambda pk: (counts.get(pk, 0), turns.get(pk, 0), pk))
    else:
        people.sort(key=lambda pk: (turns.get(pk, 0), pk))
    for start in range(0, len(people), CHUNK):
        chunk = people[start : start + CHUNK]
        status = state.status(chunk, at)
        winner = next((pk for pk in chunk if status[pk].available), None)
        if winner is not None:
            return winner
    return None


def choose(rule: RoutingRule, *, exclude: Iterable[int] = ()) -> User | None:
    """The teammate this rule gives the next conversation to, or None (nothing recorded).
    Call inside a transaction."""
    state = _state(rule.channel_id)
    winner = _pick(state, exclude) if state is not None else None
    return User.objects.select_related("membership").get(pk=winner) if winner is not None else None


CHUNK = 16


def _users(pks: list[int]) -> dict[int, User]:
    return {u.pk: u for u in User.objects.select_related("membership").filter(pk__in=pks)}


def decide(conversation: Conversation, *, exclude: Iterable[int] = ()) -> User | None:
    """The owner the channel's rule gives this conversation (which may not be stored yet), its
    turn counted; None: no rule, or nobody available. The inbox assigns it."""
    if conversation.bot or conversation.spam_at or conversation.filtered_at or conversation.trashed_at:
        return None
    with transaction.atomic(savepoint=False):
        state = _state(conversation.channel_id)
        if state is None:
            return None
        winner = _pick(state, exclude)
        if winner is None:
            return None
        state.give(winner)
        scope = batching.current()
        if scope is None:
            state.write_turns()
            return _users([winner])[winner]
        scope.on_flush(f"routing.turns.{conversation.channel_id}", state.write_turns)
        people: dict[int, User] = scope.remember(("routing.users", conversation.channel_id), lambda: _users(state.people))  # fmt: skip
        return people[winner]


def route(conversation: Conversation, *, exclude: Iterable[int] = ()) -> User | None:
    """Assign a stored conversation by its channel's rule; None leaves it unassigned."""
    from samtale.inbox.actions import assign_conversation

    with transaction.atomic(savepoint=False):
        owner = decide(conversation, exclude=exclude)
        if owner is not None:
            assign_conversation(conversation, acting_user=None, owner=owner)
    return owner


def _rule_of(channel_id: int) -> RoutingRule | None:
    def load() -> RoutingRule | None:
        return RoutingRule.objects.filter(channel_id=channel_id, enabled=True).first()

    scope = batching.current()
    return scope.remember(("routing.rule", channel_id), load) if scope is not None else load()


def reroute_if_owner_away(conversation: Conversation) -> User | None:
    """A reopened or newly answered conversation whose owner is Away goes back through routing."""
    from samtale.inbox.actions import assign_conversation

    owner_id = conversation.owner_id
    if owner_id is None:
        return route(conversation)
    rule = _rule_of(conversation.channel_id)
    if rule is None or not rule.reroute_when_owner_away:
        return None
    at = now()
    scope = batching.current()
    if scope is not None:  # statuses read once per batch
        known: dict[int, Any] = scope.remember("routing.statuses", dict)
        if owner_id not in known:
            known.update(statuses([owner_id], at))
        available = known[owner_id].available
    else:
        available = statuses([owner_id], at)[owner_id].available
    if available:
        return None
    with transaction.atomic(savepoint=False):
        new_owner = route(conversation, exclude=[owner_id])
        if new_owner is None:
            assign_conversation(conversation, acting_user=None, owner=None)
    return new_owner


def route_backlog(inbox_id: int, limit: int = 200) -> int:
    """Offer unassigned open conversations (oldest first) to whoever is available now."""
    rules = RoutingRule.objects.filter(channel__inbox_id=inbox_id, enabled=True).values_list("channel_id", flat=True)
    waiting = list(
        Conversation.objects.filter(
            LIVE, inbox_id=inbox_id, status=Status.OPEN, owner=None, bot="", awaiting_first_reply=False,
            channel_id__in=list(rules),
        ).order_by("created_at", "id")[:limit]
    )  # fmt: skip
    assigned = 0
    stuck: set[int] = set()  # channels whose rule found nobody: the rest of them waits too
    for conversation in waiting:
        if conversation.channel_id in stuck:
            continue
        if route(conversation) is None:
            stuck.add(conversation.channel_id)
        else:
            assigned += 1
    if assigned:
        log.info("routed %d waiting conversations of inbox %s", assigned, inbox_id)
    return assigned
