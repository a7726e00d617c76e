from django.apps import AppConfig


class CrmConfig(AppConfig):
    name = "samtale.crm"
    label = "crm"
