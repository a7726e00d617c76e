"""Times are shown in the viewing user's time zone and language (issue 11, item 1)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.utils import timezone, translation

from samtale.availability import actions as availability
from samtale.core.templatetags.when import format_day, format_when, format_when_full
from samtale.inbox.models import Conversation, Message
from tests.conftest import World

OSLO = ZoneInfo("Europe/Oslo")
NOW = datetime(2026, 11, 26, 15, 30, tzinfo=UTC)  # 16:30 in Oslo


@pytest.mark.parametrize(
    ("moment", "en", "nb"),
    [
        (datetime(2026, 11, 26, 8, 3, tzinfo=UTC), "09:03", "09:03"),  # today, Oslo time
        (datetime(2026, 11, 25, 15, 1, tzinfo=UTC), "yesterday 16:01", "i går 16:01"),
        (datetime(2026, 11, 25, 23, 30, tzinfo=UTC), "00:30", "00:30"),  # already today in Oslo
        (datetime(2026, 11, 20, 15, 1, tzinfo=UTC), "20 Nov 16:01", "20. nov. 16:01"),
        (datetime(2026, 5, 3, 7, 0, tzinfo=UTC), "3 May 09:00", "3. mai 09:00"),  # summer time: +2
        (datetime(2025, 12, 31, 23, 30, tzinfo=UTC), "1 Jan 00:30", "1. jan. 00:30"),  # this year in Oslo
        (datetime(2025, 11, 26, 15, 1, tzinfo=UTC), "26 Nov 2025", "26. nov. 2025"),
    ],
)
def test_short_form_in_the_users_zone_and_language(moment: datetime, en: str, nb: str) -> None:
    with timezone.override(OSLO):
        with translation.override("en"):
            assert format_when(moment, now=NOW) == en
        with translation.override("nb"):
            assert format_when(moment, now=NOW) == nb


def test_full_form_and_day() -> None:
    moment = datetime(2026, 11, 26, 15, 1, tzinfo=UTC)
    with timezone.override(OSLO):
        with translation.override("en"):
            assert format_when_full(moment) == "26 November 2026, 16:01"
            assert format_day(moment) == "26 Nov 2026"
        with translation.override("nb"):
            assert format_when_full(moment) == "26. november 2026 kl. 16:01"
            assert format_day(moment) == "26. nov. 2026"
    with timezone.override(ZoneInfo("America/New_York")), translation.override("en"):
        assert format_when_full(moment) == "26 November 2026, 10:01"


def test_the_inbox_shows_times_in_the_viewers_zone(world: World, client_for) -> None:  # type: ignore[no-untyped-def]
    conversation = world.inbound("Zoned", sender="zone@example.com")
    moment = (timezone.now() - timedelta(days=40)).replace(hour=23, minute=47, second=0, microsecond=0)
    Conversation.objects.filter(pk=conversation.pk).update(last_activity_at=moment)
    Message.objects.filter(conversation=conversation).update(created_at=moment)
    url = f"/inbox/{world.support.pk}/v/all_open/c/{conversation.pk}/"

    def shown(zone: str) -> str:
        local = moment.astimezone(ZoneInfo(zone))
        month = local.strftime("%b")
        return f"{local.day} {month} {local:%H:%M}" if local.year == timezone.now().year else f"{local.day} {month}"

    for zone in ("Pacific/Auckland", "America/Los_Angeles"):
        availability.set_time_zone(world.agent, acting_user=world.agent, time_zone=zone)
        page = client_for(world.agent).get(url).content.decode()
        # the list row and the message header both show the local moment; UTC's 23:47 is nowhere
        assert page.count(f">{shown(zone)}</time>") >= 2, zone
        assert ">23:47<" not in page and " 23:47</time>" not in page
    # another user in another zone sees their own local time on the same page
    availability.set_time_zone(world.agent2, acting_user=world.agent2, time_zone="Asia/Kolkata")
    page = client_for(world.agent2).get(url).content.decode()
    assert f">{shown('Asia/Kolkata')}</time>" in page


def test_norwegian_months_are_lower_case_in_the_page(world: World) -> None:
    conversation = world.inbound("Måned", sender="m@example.com")
    moment = datetime(timezone.now().year, 1, 15, 12, 0, tzinfo=UTC)
    if moment.date() >= timezone.now().date() - timedelta(days=1):
        moment = moment.replace(year=moment.year - 1)
    Conversation.objects.filter(pk=conversation.pk).update(last_activity_at=moment)
    availability.set_time_zone(world.agent, acting_user=world.agent, time_zone="Europe/Oslo")
    client = Client()
    client.force_login(world.agent)
    client.post("/language/", {"language": "nb"})
    page = client.get(f"/inbox/{world.support.pk}/v/all_open/").content.decode()
    expected = "15. jan. 13:00" if moment.year == timezone.now().year else "15. jan. " + str(moment.year)
    assert f">{expected}</time>" in page
    assert "15. januar " + str(moment.year) + " kl. 13:00" in page  # the tooltip
