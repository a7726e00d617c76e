from django.apps import AppConfig


class CrmConfig(AppConfig):
    name = "samtale.crm"
    label = "crm"

    def ready(self) -> None:
        from samtale.crm.sidebar import install

        install()
