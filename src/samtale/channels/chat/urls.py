"""The chat channel's routes (mounted by `samtale.web.urls` like every channel package's)."""

from django.urls import path

from samtale.channels.chat import views

urlpatterns = [
    path("widget/<str:key>.js", views.widget_script, name="chat_widget_script"),
    path("widget/<str:key>/upload/", views.upload, name="chat_upload"),
    path("widget/<str:key>/files/<str:signed>/", views.visitor_file, name="chat_visitor_file"),
    path("chat/transcript/<str:token>/", views.transcript_confirm, name="chat_transcript_confirm"),
    path("settings/channels/<id:channel_id>/chat/", views.widget_settings, name="chat_widget_settings"),
    path("settings/channels/<id:channel_id>/chat/secret/", views.rotate_secret, name="chat_rotate_secret"),
    path("settings/channels/<id:channel_id>/chat/flows/new/", views.chatflow_edit, name="chat_flow_new"),
    path("settings/channels/<id:channel_id>/chat/flows/<id:flow_id>/", views.chatflow_edit, name="chat_flow_edit"),
    path(
        "settings/channels/<id:channel_id>/chat/flows/<id:flow_id>/delete/",
        views.chatflow_delete,
        name="chat_flow_delete",
    ),
]
