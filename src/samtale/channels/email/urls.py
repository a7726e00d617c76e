"""The email channel's screens (mounted by `samtale.web.urls` like every channel package's)."""

from django.urls import path

from samtale.channels.email import views

urlpatterns = [
    path("m/<id:message_id>/source/", views.message_source, name="message_source"),
    path("attachments/<id:attachment_id>/message/", views.attached_message, name="attached_message"),
    path("settings/channels/<id:channel_id>/mail-server/", views.channel_mail_server, name="settings_channel_mail"),
    path(
        "settings/channels/<id:channel_id>/verification/",
        views.resend_verification,
        name="settings_channel_verification",
    ),
    path("verify-address/<id:channel_id>/<str:token>/", views.confirm_address, name="verify_address"),
    path("settings/mail-intake/", views.intake_page, name="mail_intake"),
    path("settings/mail-intake/<id:raw_id>/source/", views.parked_source, name="mail_parked_source"),
    path("settings/mail-intake/<id:raw_id>/retry/", views.parked_retry, name="mail_parked_retry"),
]
