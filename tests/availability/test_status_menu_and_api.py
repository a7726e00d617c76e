from __future__ import annotations

import json
from datetime import datetime, time

import time_machine
from django.test import Client

from samtale.accounts import actions as account_actions
from samtale.availability import actions
from samtale.availability.queries import status_of
from samtale.availability.status import Reason
from tests.conftest import World


def test_header_menu_sets_away_temporary_and_available(world: World, client_for) -> None:  # type: ignore[no-untyped-def]
    client: Client = client_for(world.agent)
    page = client.get("/me/status/").content.decode()
    assert "You are available" in page
    page = client.post("/me/status/change/", {"action": "away"}).content.decode()
    assert "You are away" in page and status_of(world.agent).reason == Reason.SET_AWAY
    client.post("/me/status/change/", {"action": "temporary", "preset": "1h"})
    assert status_of(world.agent).reason == Reason.TEMPORARILY_AWAY
    client.post("/me/status/change/", {"action": "available"})
    assert status_of(world.agent).available
    r = client.post("/me/status/change/", {"action": "temporary", "preset": "custom", "until": "2000-01-01T10:00"})
    assert r.status_code == 400
    assert (
        client_for(world.noperm).post("/me/status/change/", {"action": "temporary", "preset": "15m"}).status_code == 403
    )


def test_an_admin_set_away_shows_a_notice_with_set_myself_available(world: World, client_for) -> None:  # type: ignore[no-untyped-def]
    actions.set_away(world.agent, acting_user=world.admin)
    client: Client = client_for(world.agent)
    page = client.get("/me/status/").content.decode()
    assert "An admin set your status to Away." in page and "Set myself available" in page
    page = client.post("/me/status/change/", {"action": "available"}).content.decode()
    assert "An admin set your status to Away." not in page and status_of(world.agent).available


def test_availability_api_at_an_instant(world: World) -> None:
    actions.set_time_zone(world.agent, acting_user=world.agent, time_zone="Europe/Oslo")
    for d in range(5):
        actions.add_working_hours(world.agent, acting_user=world.agent, weekday=d, start=time(9), end=time(17))
    _t, clear = account_actions.create_api_token(world.agent2, acting_user=world.agent2, name="t")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {clear}")
    url = f"/api/v1/users/{world.agent.pk}/availability"
    body = api.get(url, {"at": "2026-11-24T10:00:00+01:00"}).json()
    assert body["available"] is True and body["reason"] == "working_hours"
    assert datetime.fromisoformat(body["next_change"]) == datetime.fromisoformat("2026-11-24T17:00:00+01:00")
    body = api.get(url, {"at": "2026-11-24T18:00:00+01:00"}).json()
    assert body["status"] == "away" and body["reason"] == "outside_working_hours"
    assert api.get(url, {"at": "2026-11-24T18:00:00"}).status_code == 400
    assert api.get(f"/api/v1/users/{world.outsider.pk}/availability").status_code == 404
    # Changing someone else's status needs availability_management.
    r = api.post(
        f"/api/v1/users/{world.agent.pk}/status", json.dumps({"action": "away"}), content_type="application/json"
    )
    assert r.status_code == 403
    with time_machine.travel(datetime.fromisoformat("2026-11-24T10:00:00+01:00"), tick=False):
        r = api.post(
            f"/api/v1/users/{world.agent2.pk}/status",
            json.dumps({"action": "temporary", "preset": "2h"}),
            content_type="application/json",
        )
        assert r.status_code == 200 and r.json()["reason"] == "temporarily_away"
