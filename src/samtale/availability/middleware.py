"""Times on every screen in the viewing user's own time zone (their profile's), not the server's."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from samtale.availability.models import Profile
from samtale.availability.roster import ZONE_KEY


def zone_of(user_id: int) -> zoneinfo.ZoneInfo | None:
    # cached: every request asks; a change of the zone forgets it everywhere (`roster.forget`)
    key = ZONE_KEY.format(user_id)
    name = cache.get(key)
    if name is None:
        name = Profile.objects.filter(user_id=user_id).values_list("time_zone", flat=True).first() or ""
        cache.set(key, name, timeout=24 * 3600)
    try:
        return zoneinfo.ZoneInfo(name) if name else None
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


class UserTimeZoneMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        zone = zone_of(user.pk) if user is not None and user.is_authenticated else None
        if zone is None:
            timezone.deactivate()
            return self.get_response(request)
        timezone.activate(zone)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
