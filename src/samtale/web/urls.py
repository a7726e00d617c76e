from django.contrib.auth import views as auth_views
from django.urls import include, path, register_converter

from samtale.availability import views as availability_views
from samtale.channels import channel_apps, has_module
from samtale.core.bounds import IdConverter
from samtale.crm import views as crm_views
from samtale.tickets import views as ticket_views
from samtale.web import auth_views as login_views
from samtale.web import contact_views as cv
from samtale.web import settings_views as s
from samtale.web import views as v

register_converter(IdConverter, "id")

urlpatterns = [
    # channel packages' own screens first: more specific than the generic routes below
    *[path("", include(f"{config.name}.urls")) for config in channel_apps() if has_module(config, "urls")],
    path("login/", login_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", v.home, name="home"),
    path("inbox/<id:inbox_id>/", v.inbox_page, name="inbox_default"),
    path("inbox/<id:inbox_id>/v/<str:view>/", v.inbox_page, name="inbox"),
    path("inbox/<id:inbox_id>/v/<str:view>/c/<id:conversation_id>/", v.inbox_page, name="conversation"),
    path("inbox/<id:inbox_id>/nav/", v.nav_fragment, name="nav_fragment"),
    path("inbox/<id:inbox_id>/list/", v.list_fragment, name="list_fragment"),
    path("inbox/<id:inbox_id>/bulk/", v.bulk_action, name="bulk_action"),
    path("inbox/<id:inbox_id>/compose/", v.compose, name="compose"),
    path("inbox/<id:inbox_id>/views/", v.create_view, name="create_view"),
    path("views/<id:view_id>/delete/", v.delete_view, name="delete_view"),
    path("views/<id:view_id>/update/", v.update_view, name="update_view"),
    path("inbox/<id:inbox_id>/views/edit/", v.views_editor, name="views_editor"),
    path("inbox/<id:inbox_id>/views/arrange/", v.arrange_views, name="arrange_views"),
    path("me/preferences/", v.save_preference, name="save_preference"),
    path("contacts/", crm_views.contacts_page, name="contacts"),
    path("contacts/bulk/", crm_views.contacts_bulk, name="contacts_bulk"),
    path("contacts/<id:contact_id>/", crm_views.contact_record, name="contact"),
    path("contacts/<id:contact_id>/update/", crm_views.contact_update, name="contact_update"),
    path("contacts/<id:contact_id>/merge/", crm_views.contact_merge, name="contact_merge"),
    path("contacts/<id:contact_id>/about/", crm_views.contact_about, name="contact_about"),
    path("contacts/<id:contact_id>/notes/", crm_views.contact_note, name="contact_note"),
    path("contacts/<id:contact_id>/tasks/", crm_views.contact_task, name="contact_task"),
    path("tickets/", ticket_views.tickets_page, name="tickets"),
    path("tickets/board/", ticket_views.board_page, name="ticket_board_default"),
    path("tickets/board/<id:pipeline_id>/", ticket_views.board_page, name="ticket_board"),
    path("tickets/<id:ticket_id>/", ticket_views.ticket_record, name="ticket"),
    path("tickets/<id:ticket_id>/update/", ticket_views.ticket_update, name="ticket_update"),
    path("tickets/<id:ticket_id>/move/", ticket_views.ticket_move, name="ticket_move"),
    path("tickets/<id:ticket_id>/delete/", ticket_views.ticket_delete, name="ticket_delete"),
    path("tasks/<id:task_id>/done/", crm_views.task_done, name="task_done"),
    path("contacts/<id:contact_id>/about/fields/", crm_views.contact_about_fields, name="contact_about_fields"),
    path("contacts/<id:contact_id>/email/", cv.contact_compose, name="contact_compose"),
    path("conversations/<id:conversation_id>/", cv.conversation_permalink, name="conversation_permalink"),
    path("c/<id:conversation_id>/", v.thread_fragment, name="thread_fragment"),
    path("c/<id:conversation_id>/earlier/", v.thread_earlier, name="thread_earlier"),
    path("c/<id:conversation_id>/owner/", v.owner_select, name="owner_select"),
    path("c/<id:conversation_id>/contact/", cv.conversation_contact, name="conversation_contact"),
    path("c/<id:conversation_id>/contact/search/", cv.conversation_contact_search, name="conversation_contact_search"),
    path("c/<id:conversation_id>/ticket/", ticket_views.conversation_ticket, name="conversation_ticket"),
    path("c/<id:conversation_id>/ticket/details/", ticket_views.ticket_details_fields, name="ticket_details_fields"),
    path("c/<id:conversation_id>/close-with-ticket/", ticket_views.close_conversation, name="conversation_close"),
    path("c/<id:conversation_id>/<str:action>/", v.conversation_action, name="conversation_action"),
    path("m/<id:message_id>/", v.message_permalink, name="message_permalink"),
    path("m/<id:message_id>/forward/", v.message_forward, name="message_forward"),
    path("m/<id:message_id>/<str:action>/", v.message_action, name="message_action"),
    path("attachments/<id:attachment_id>/", v.attachment, name="attachment"),
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
        "settings/availability-management/<id:user_id>/",
        availability_views.management_set_status,
        name="availability_set",
    ),
    path("calendar/<str:token>.ics", availability_views.published_calendar, name="published_calendar"),
    path("settings/users/<id:user_id>/availability/", availability_views.user_record, name="user_record"),
    path(
        "settings/users/<id:user_id>/availability/<str:action>/",
        availability_views.record_action,
        name="record_action",
    ),
    path("settings/", s.users_page, name="settings_users"),
    path("settings/users/new/", s.user_create, name="settings_user_create"),
    path("settings/users/<id:user_id>/", s.user_update, name="settings_user_update"),
    path("settings/users/<id:user_id>/<str:action>/", s.user_lifecycle, name="settings_user_lifecycle"),
    path("settings/teams/", s.teams_page, name="settings_teams"),
    path("settings/teams/new/", s.team_create, name="settings_team_create"),
    path("settings/teams/<id:team_id>/members/", s.team_members, name="settings_team_members"),
    path("settings/teams/<id:team_id>/delete/", s.team_delete, name="settings_team_delete"),
    path("settings/inboxes/", s.inboxes_page, name="settings_inboxes"),
    path("settings/inboxes/new/", s.inbox_create, name="settings_inbox_create"),
    path("settings/inboxes/<id:inbox_id>/members/<str:action>/", s.inbox_member, name="settings_inbox_member"),
    path("settings/inboxes/<id:inbox_id>/channels/new/", s.channel_create, name="settings_channel_create"),
    path("settings/channels/<id:channel_id>/delete/", s.channel_delete, name="settings_channel_delete"),
    path("settings/channels/<id:channel_id>/routing/", s.channel_routing, name="settings_channel_routing"),
    path("settings/contact-properties/", crm_views.properties_page, name="contact_properties"),
    path("settings/contact-properties/new/", crm_views.property_create, name="contact_property_create"),
    path(
        "settings/contact-properties/<id:property_id>/delete/",
        crm_views.property_delete,
        name="contact_property_delete",
    ),
    path("settings/password/", s.password_page, name="settings_password"),
    path("settings/tokens/", s.tokens_page, name="settings_tokens"),
    path("settings/tokens/new/", s.token_create, name="settings_token_create"),
    path("settings/tokens/<id:token_id>/revoke/", s.token_revoke, name="settings_token_revoke"),
]
