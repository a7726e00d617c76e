from django.contrib.auth import views as auth_views
from django.urls import path

from samtale.availability import views as availability_views
from samtale.mail import views as mail_views
from samtale.web import auth_views as login_views
from samtale.web import settings_views as s
from samtale.web import views as v

urlpatterns = [
    path("login/", login_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", v.home, name="home"),
    path("inbox/<int:inbox_id>/", v.inbox_page, name="inbox_default"),
    path("inbox/<int:inbox_id>/v/<str:view>/", v.inbox_page, name="inbox"),
    path("inbox/<int:inbox_id>/v/<str:view>/c/<int:conversation_id>/", v.inbox_page, name="conversation"),
    path("inbox/<int:inbox_id>/nav/", v.nav_fragment, name="nav_fragment"),
    path("inbox/<int:inbox_id>/list/", v.list_fragment, name="list_fragment"),
    path("inbox/<int:inbox_id>/bulk/", v.bulk_action, name="bulk_action"),
    path("inbox/<int:inbox_id>/compose/", v.compose, name="compose"),
    path("inbox/<int:inbox_id>/views/", v.create_view, name="create_view"),
    path("views/<int:view_id>/delete/", v.delete_view, name="delete_view"),
    path("c/<int:conversation_id>/", v.thread_fragment, name="thread_fragment"),
    path("c/<int:conversation_id>/<str:action>/", v.conversation_action, name="conversation_action"),
    path("m/<int:message_id>/", v.message_permalink, name="message_permalink"),
    path("m/<int:message_id>/source/", v.message_source, name="message_source"),
    path("m/<int:message_id>/forward/", v.message_forward, name="message_forward"),
    path("m/<int:message_id>/<str:action>/", v.message_action, name="message_action"),
    path("attachments/<int:attachment_id>/", v.attachment, name="attachment"),
    path("notifications/", v.notifications_fragment, name="notifications"),
    path("notifications/read/", v.notifications_read, name="notifications_read"),
    path("language/", v.set_language, name="set_language"),
    path("me/status/", availability_views.status_menu, name="status_menu"),
    path("me/status/change/", availability_views.change_status, name="change_status"),
    path("settings/availability/", availability_views.my_record, name="my_record"),
    path("settings/availability-management/", availability_views.management_page, name="availability_management"),
    path(
        "settings/availability-management/filters/", availability_views.management_filters, name="availability_filters"
    ),
    path(
        "settings/availability-management/<int:user_id>/",
        availability_views.management_set_status,
        name="availability_set",
    ),
    path("calendar/<str:token>.ics", availability_views.published_calendar, name="published_calendar"),
    path("settings/users/<int:user_id>/availability/", availability_views.user_record, name="user_record"),
    path(
        "settings/users/<int:user_id>/availability/<str:action>/",
        availability_views.record_action,
        name="record_action",
    ),
    path("settings/", s.users_page, name="settings_users"),
    path("settings/users/new/", s.user_create, name="settings_user_create"),
    path("settings/users/<int:user_id>/", s.user_update, name="settings_user_update"),
    path("settings/users/<int:user_id>/<str:action>/", s.user_lifecycle, name="settings_user_lifecycle"),
    path("settings/teams/", s.teams_page, name="settings_teams"),
    path("settings/teams/new/", s.team_create, name="settings_team_create"),
    path("settings/teams/<int:team_id>/members/", s.team_members, name="settings_team_members"),
    path("settings/teams/<int:team_id>/delete/", s.team_delete, name="settings_team_delete"),
    path("settings/inboxes/", s.inboxes_page, name="settings_inboxes"),
    path("settings/inboxes/new/", s.inbox_create, name="settings_inbox_create"),
    path("settings/inboxes/<int:inbox_id>/members/<str:action>/", s.inbox_member, name="settings_inbox_member"),
    path("settings/inboxes/<int:inbox_id>/channels/new/", s.channel_create, name="settings_channel_create"),
    path("settings/channels/<int:channel_id>/delete/", s.channel_delete, name="settings_channel_delete"),
    path("settings/channels/<int:channel_id>/routing/", s.channel_routing, name="settings_channel_routing"),
    path("settings/channels/<int:channel_id>/mail-server/", s.channel_mail_server, name="settings_channel_mail"),
    path("settings/mail-intake/", mail_views.intake_page, name="mail_intake"),
    path("settings/mail-intake/<int:raw_id>/source/", mail_views.parked_source, name="mail_parked_source"),
    path("settings/mail-intake/<int:raw_id>/retry/", mail_views.parked_retry, name="mail_parked_retry"),
    path("settings/tokens/", s.tokens_page, name="settings_tokens"),
    path("settings/tokens/new/", s.token_create, name="settings_token_create"),
    path("settings/tokens/<int:token_id>/revoke/", s.token_revoke, name="settings_token_revoke"),
]
