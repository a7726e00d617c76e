from django.apps import AppConfig


class MailConfig(AppConfig):
    name = "samtale.channels.email"
    label = "mail"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from samtale.channels.email import queries
        from samtale.channels.email.actions import confirm_new_address
        from samtale.channels.email.adapter import EmailAdapter
        from samtale.channels.email.transcript import request_transcript
        from samtale.core import metrics
        from samtale.inbox.actions import on_channel_created
        from samtale.inbox.adapters import provide_transcripts, register

        register(EmailAdapter())
        from samtale.channels.email import survey
        from samtale.feedback.delivery import register_sender

        register_sender("email", survey.send)
        provide_transcripts(request_transcript)
        on_channel_created(confirm_new_address)
        metrics.expect_loop("mail-ingest")
        metrics.add_gauges(queries.gauges)
        metrics.add_readiness_check(queries.readiness)
