from __future__ import annotations

from datetime import datetime, time

import time_machine
from django.test import Client

from samtale.availability import actions
from samtale.availability.models import OutOfOffice, WorkingHours
from samtale.availability.queries import status_of
from tests.conftest import World


def test_a_user_edits_their_hours_zone_and_out_of_office(world: World, client_for) -> None:  # type: ignore[no-untyped-def]
    client: Client = client_for(world.agent)
    base = f"/settings/users/{world.agent.pk}/availability"
    assert client.post(f"{base}/zone/", {"time_zone": "America/New_York"}).status_code == 302
    assert client.post(f"{base}/hours/", {"weekday": 1, "start": "22:00", "end": "06:00"}).status_code == 302
    row = WorkingHours.objects.get(user=world.agent)
    assert (row.weekday, row.start, row.end) == (1, time(22), time(6))
    r = client.post(
        f"{base}/ooo/",
        {
            "start_date": "2026-12-24",
            "start_time": "00:00",
            "end_date": "2026-12-27",
            "end_time": "23:59",
            "title": "Jul",
        },
    )
    assert r.status_code == 302
    ooo = OutOfOffice.objects.get(user=world.agent)
    assert ooo.starts_at == datetime.fromisoformat("2026-12-24T05:00:00+00:00")  # midnight in New York
    with time_machine.travel(datetime.fromisoformat("2026-11-21T12:00:00+00:00"), tick=False):
        page = client.get("/settings/availability/").content.decode()
    assert "22:00–06:00" in page and "America/New_York" in page and "Jul" in page
    assert client.post(f"{base}/hours/", {"weekday": 9, "start": "09:00", "end": "10:00"}).status_code == 400
    client.post(f"{base}/hours-remove/", {"id": row.pk})
    client.post(f"{base}/ooo-remove/", {"id": ooo.pk})
    assert not WorkingHours.objects.filter(user=world.agent).exists() and not OutOfOffice.objects.exists()


def test_others_can_see_but_only_admins_edit(world: World, client_for) -> None:  # type: ignore[no-untyped-def]
    carol: Client = client_for(world.agent2)
    base = f"/settings/users/{world.agent.pk}/availability"
    page = carol.get(base + "/").content.decode()
    assert "Bob Agent" in page and "+ Add hours" not in page
    assert carol.post(f"{base}/hours/", {"weekday": 1, "start": "09:00", "end": "17:00"}).status_code == 403
    assert carol.post(f"{base}/away/").status_code == 403  # no availability_management
    admin: Client = client_for(world.admin)
    assert admin.post(f"{base}/hours/", {"weekday": 1, "start": "09:00", "end": "17:00"}).status_code == 302
    assert admin.post(f"{base}/away/").status_code == 302
    assert status_of(world.agent).reason == "set_away_by_admin"


def test_today_is_shown_in_the_users_zone_and_the_viewers(world: World, client_for) -> None:  # type: ignore[no-untyped-def]
    actions.set_time_zone(world.agent, acting_user=world.agent, time_zone="Asia/Kolkata")
    actions.set_time_zone(world.admin, acting_user=world.admin, time_zone="Europe/Oslo")
    actions.add_working_hours(world.agent, acting_user=world.agent, weekday=1, start=time(9), end=time(17))
    with time_machine.travel(datetime.fromisoformat("2026-11-24T06:00:00+00:00"), tick=False):  # Tuesday
        page = client_for(world.admin).get(f"/settings/users/{world.agent.pk}/availability/").content.decode()
    assert "09:00–17:00" in page  # in Kolkata
    assert "04:30–12:30" in page  # the same hours in Oslo, for the viewer
    assert "In working hours" in page
