from django.apps import AppConfig


class RoutingConfig(AppConfig):
    name = "samtale.routing"
    label = "routing"
