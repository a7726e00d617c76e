from django.apps import AppConfig


class AvailabilityConfig(AppConfig):
    name = "samtale.availability"
    label = "availability"
