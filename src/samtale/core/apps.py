from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "samtale.core"
    label = "core"

    def ready(self) -> None:
        # Registers what the hub's parent answers (the installation's rate-limit counts), so that
        # `samtale serve` answers its web processes whatever it imported itself.
        from samtale.core import ratelimit  # noqa: F401
