from django.apps import AppConfig


class AvailabilityConfig(AppConfig):
    name = "samtale.availability"
    label = "availability"

    def ready(self) -> None:
        from samtale.crm.queries import user_zone

        user_zone.register(_zone_of)


def _zone_of(user_id: int) -> str | None:
    from samtale.availability.models import Profile

    return Profile.objects.filter(user_id=user_id).values_list("time_zone", flat=True).first()
