"""Routing: assign arriving conversations to available teammates (B9, B10).

A decision locks its rule's row, so two conversations arriving at the same instant are
decided one after the other: round robin stays fair and capacity is never exceeded.
Status comes from `status_at` at the moment of the decision; nobody available leaves the
conversation unassigned, and `route_backlog` offers it again when someone is back.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Q
from django.utils.translation import gettext as _

from samtale.accounts.access import require_permission
from samtale.accounts.models import Team, User
from samtale.availability.roster import statuses
from samtale.core.audit import audit
from samtale.core.clock import now
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


def choose(rule: RoutingRule, *, exclude: Iterable[int] = ()) -> User | None:
    """The teammate this rule gives the next conversation to, or None. Call with the rule locked.

    Candidates are ranked first (round robin: who waited longest; balanced: fewest open, then
    who waited longest) and statuses are then read in that order, a few at a time, until someone
    available (and under capacity) is found: with hundreds of targets most are never looked at."""
    at = now()
    skip = set(exclude)
    people = [pk for pk in candidates(rule) if pk not in skip]
    if not people:
        return None
    # Open conversations per person: the kept "Assigned to me" counts, one small query.
    open_counts = dict(
        ViewCount.objects.filter(inbox_id=rule.channel.inbox_id, key="mine").values_list("user_id", "count")
    )
    if rule.capacity is not None:
        people = [pk for pk in people if open_counts.get(pk, 0) < rule.capacity]
    turns = dict(RoutingTurn.objects.filter(rule=rule).values_list("user_id", "sequence"))
    if rule.method == Method.BALANCED:
        people.sort(key=lambda pk: (open_counts.get(pk, 0), turns.get(pk, 0), pk))
    else:
        people.sort(key=lambda pk: (turns.get(pk, 0), pk))
    for start in range(0, len(people), CHUNK):
        chunk = people[start : start + CHUNK]
        status = statuses(chunk, at)
        winner = next((pk for pk in chunk if status[pk].available), None)
        if winner is not None:
            return User.objects.select_related("membership").get(pk=winner)
    return None


CHUNK = 16


def _record_turn(rule: RoutingRule, user: User) -> None:
    last = RoutingTurn.objects.filter(rule=rule).aggregate(m=Max("sequence"))["m"] or 0
    turn, _created = RoutingTurn.objects.get_or_create(rule=rule, user=user)
    turn.sequence = last + 1
    turn.last_assigned_at = now()
    turn.assigned += 1
    turn.save(update_fields=["sequence", "last_assigned_at", "assigned"])


def route(conversation: Conversation, *, exclude: Iterable[int] = ()) -> User | None:
    """Assign a conversation by its channel's rule; None leaves it unassigned."""
    from samtale.inbox.actions import assign_conversation

    if conversation.bot or conversation.spam_at or conversation.filtered_at or conversation.trashed_at:
        return None
    with transaction.atomic(savepoint=False):
        rule = (
            RoutingRule.objects.select_for_update()
            .select_related("channel__inbox")
            .filter(channel_id=conversation.channel_id, enabled=True)
            .first()
        )
        if rule is None:
            return None
        owner = choose(rule, exclude=exclude)
        if owner is None:
            return None
        _record_turn(rule, owner)
        assign_conversation(conversation, acting_user=None, owner=owner)
    return owner


def reroute_if_owner_away(conversation: Conversation) -> User | None:
    """A reopened or newly answered conversation whose owner is Away goes back through routing."""
    from samtale.availability.queries import status_of
    from samtale.inbox.actions import assign_conversation

    owner = conversation.owner
    if owner is None:
        return route(conversation)
    rule = RoutingRule.objects.filter(channel_id=conversation.channel_id, enabled=True).first()
    if rule is None or not rule.reroute_when_owner_away or status_of(owner).available:
        return None
    with transaction.atomic(savepoint=False):
        new_owner = route(conversation, exclude=[owner.pk])
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
