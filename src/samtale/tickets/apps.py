from django.apps import AppConfig


class TicketsConfig(AppConfig):
    name = "samtale.tickets"
    label = "tickets"

    def ready(self) -> None:
        from samtale.tickets.hooks import install

        install()
