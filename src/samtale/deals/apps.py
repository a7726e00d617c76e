from django.apps import AppConfig


class DealsConfig(AppConfig):
    name = "samtale.deals"
    label = "deals"

    def ready(self) -> None:
        from samtale.deals.hooks import install

        install()
