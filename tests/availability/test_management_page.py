from __future__ import annotations

from datetime import time

from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from samtale.accounts import actions as account_actions
from samtale.availability import actions
from samtale.availability.queries import status_of
from tests.conftest import World


def test_everyone_sees_statuses_only_managers_change_others(world: World, client_for) -> None:  # type: ignore[no-untyped-def]
    actions.set_away(world.agent2, acting_user=world.agent2)
    carol: Client = client_for(world.agent2)
    page = carol.get("/settings/availability-management/").content.decode()
    assert "Bob Agent" in page and "Carol Agent" in page and "Eve Outsider" not in page
    assert page.count('class="status-select"') == 1  # only her own row is a control
    assert carol.post(f"/settings/availability-management/{world.agent.pk}/", {"status": "away"}).status_code == 403
    account_actions.update_membership(world.agent2, acting_user=world.admin, permissions=["availability_management"])
    carol = client_for(world.agent2)
    r = carol.post(f"/settings/availability-management/{world.agent.pk}/", {"status": "away"})
    assert r.status_code == 200 and status_of(world.agent).reason == "set_away_by_admin"
    assert carol.post(f"/settings/availability-management/{world.outsider.pk}/", {"status": "away"}).status_code == 404


def test_filters_are_saved_for_everyone_and_can_be_cleared(world: World, client_for) -> None:  # type: ignore[no-untyped-def]
    actions.set_away(world.agent, acting_user=world.agent)
    admin: Client = client_for(world.admin)
    admin.post("/settings/availability-management/filters/", {"status": "away", "seat": "service"})
    carol: Client = client_for(world.agent2)
    page = carol.get("/settings/availability-management/").content.decode()
    assert f'id="avail-{world.agent.pk}"' in page
    assert f'id="avail-{world.agent2.pk}"' not in page  # available, filtered out
    assert "Clear filters" in page
    carol.post("/settings/availability-management/filters/", {"clear": "1"})
    page = admin.get("/settings/availability-management/").content.decode()
    assert f'id="avail-{world.agent2.pk}"' in page and "Clear filters" not in page


def test_the_page_costs_the_same_for_more_people(world: World, client_for) -> None:  # type: ignore[no-untyped-def]
    admin: Client = client_for(world.admin)

    def measure() -> int:
        from django.core.cache import cache

        cache.clear()  # cold each time: a viewer's time zone and the statuses are cached between requests
        with CaptureQueriesContext(connection) as ctx:
            assert admin.get("/settings/availability-management/?part=table").status_code == 200
        return len(ctx.captured_queries)

    before = measure()
    from samtale.inbox import actions as inbox_actions

    for i in range(6):
        u = account_actions.create_user(
            world.account, acting_user=world.admin, email=f"p{i}@acme.test", name=f"Person {i}"
        )
        inbox_actions.add_inbox_member(world.support, acting_user=world.admin, user=u)
        actions.add_working_hours(u, acting_user=u, weekday=i % 7, start=time(8), end=time(16))
        actions.set_away(u, acting_user=u)
    assert measure() == before


def test_a_viewers_time_zone_is_read_once_and_a_change_applies_at_once(world: World) -> None:
    from django.core.cache import cache

    from samtale.availability.middleware import zone_of

    cache.clear()
    actions.set_time_zone(world.agent, acting_user=world.agent, time_zone="Asia/Tokyo")
    assert str(zone_of(world.agent.pk)) == "Asia/Tokyo"
    with CaptureQueriesContext(connection) as ctx:
        assert str(zone_of(world.agent.pk)) == "Asia/Tokyo"  # every request asks: from the cache
    assert len(ctx.captured_queries) == 0
    actions.set_time_zone(world.agent, acting_user=world.agent, time_zone="Europe/Oslo")
    assert str(zone_of(world.agent.pk)) == "Europe/Oslo"
    assert zone_of(world.agent2.pk) is None or str(zone_of(world.agent2.pk)) != "Europe/Oslo"
