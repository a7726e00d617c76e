"""REST API: Routing rules of channels."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router

from samtale.accounts.access import access_user
from samtale.api import schemas as s
from samtale.api.common import _user
from samtale.inbox.access import (
    access_channel,
    access_inbox,
)

router = Router()


def _routing_out(channel_id: int, rule: Any) -> dict[str, Any]:
    if rule is None:
        return {"channel_id": channel_id, "enabled": False, "user_ids": [], "team_ids": [], "method": "round_robin",
                "capacity": None, "reroute_when_owner_away": True}  # fmt: skip
    return {
        "channel_id": channel_id, "enabled": rule.enabled, "user_ids": sorted(u.pk for u in rule.users.all()),
        "team_ids": sorted(t.pk for t in rule.teams.all()), "method": rule.method, "capacity": rule.capacity,
        "reroute_when_owner_away": rule.reroute_when_owner_away,
    }  # fmt: skip


@router.get("/channels/{channel_id}/routing", response=s.RoutingOut, tags=["routing"])
def get_routing(request: HttpRequest, channel_id: s.PathId) -> dict[str, Any]:
    from samtale.routing.models import RoutingRule

    channel = access_channel(_user(request), channel_id)
    access_inbox(_user(request), channel.inbox_id)
    return _routing_out(channel.pk, RoutingRule.objects.filter(channel=channel).first())


@router.put("/channels/{channel_id}/routing", response=s.RoutingOut, tags=["routing"])
def put_routing(request: HttpRequest, channel_id: s.PathId, payload: s.RoutingIn) -> dict[str, Any]:
    from samtale.accounts.access import access_team
    from samtale.routing.actions import configure_routing

    user = _user(request)
    channel = access_channel(user, channel_id)
    rule = configure_routing(
        channel, acting_user=user, users=[access_user(user, pk) for pk in payload.user_ids],
        teams=[access_team(user, pk) for pk in payload.team_ids], method=payload.method, capacity=payload.capacity,
        enabled=payload.enabled, reroute_when_owner_away=payload.reroute_when_owner_away,
    )  # fmt: skip
    return _routing_out(channel.pk, rule)
