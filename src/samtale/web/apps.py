from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "samtale.web"
    label = "web"
