from django.apps import AppConfig


class FeedbackConfig(AppConfig):
    name = "samtale.feedback"
    label = "feedback"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from samtale.feedback.hooks import install

        install()
