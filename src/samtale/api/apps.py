from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "samtale.api"
    label = "api"
