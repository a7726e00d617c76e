from django.apps import AppConfig


class RoutingConfig(AppConfig):
    name = "samtale.routing"
    label = "routing"

    def ready(self) -> None:
        from samtale.inbox.assignment import set_router
        from samtale.routing import actions

        set_router(actions)
