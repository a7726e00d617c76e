from django.apps import AppConfig


class InboxConfig(AppConfig):
    name = "samtale.inbox"
    label = "inbox"
