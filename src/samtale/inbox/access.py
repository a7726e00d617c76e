"""Tenancy by construction: every object a request names is fetched through these helpers.

Anything outside the user's account, or an inbox the user has no access to, is a 404 —
never a 403 that would confirm the id exists.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import Http404
from django.utils.translation import gettext as _

from samtale.accounts.access import membership_of
from samtale.accounts.models import User
from samtale.inbox.models import (
    Attachment,
    Channel,
    Conversation,
    CustomView,
    Inbox,
    Message,
    Notification,
    ReadMark,
)


def accessible_inboxes(user: User) -> QuerySet[Inbox]:
    membership = membership_of(user)
    qs = Inbox.objects.filter(account_id=membership.account_id)
    if not membership.is_super_admin:
        qs = qs.filter(members=user)
    return qs


def visible_inbox_ids(user: User) -> list[int] | None:
    """For the contact timeline (crm.queries.visible_inboxes): a super admin sees every inbox."""
    if membership_of(user).is_super_admin:
        return None
    return list(accessible_inboxes(user).values_list("pk", flat=True))


def access_inbox(user: User, inbox_id: int) -> Inbox:
    try:
        return accessible_inboxes(user).get(pk=inbox_id)
    except (Inbox.DoesNotExist, ValueError, TypeError):
        raise Http404("No such inbox") from None


def access_inbox_settings(user: User, inbox_id: int) -> Inbox:
    """The inbox, for changing its settings: needs the `inbox_settings` permission."""
    membership = membership_of(user)
    try:
        inbox = Inbox.objects.get(pk=inbox_id, account_id=membership.account_id)
    except (Inbox.DoesNotExist, ValueError, TypeError):
        raise Http404("No such inbox") from None
    if not membership.has_permission("inbox_settings"):
        raise PermissionDenied(_("You need the inbox settings permission."))
    return inbox


def access_channel(user: User, channel_id: int) -> Channel:
    membership = membership_of(user)
    try:
        return Channel.objects.select_related("inbox").get(pk=channel_id, account_id=membership.account_id)
    except (Channel.DoesNotExist, ValueError, TypeError):
        raise Http404("No such channel") from None


def accessible_conversations(user: User) -> QuerySet[Conversation]:
    membership = membership_of(user)
    qs = Conversation.objects.filter(account_id=membership.account_id)
    if not membership.is_super_admin:
        qs = qs.filter(inbox__members=user)
    return qs


def access_conversation(user: User, conversation_id: int, *, with_read_mark: bool = False) -> Conversation:
    """`with_read_mark`: how far the user had read it comes in the same query (`queries.read_mark`)."""
    qs = accessible_conversations(user).select_related("inbox", "channel", "contact", "owner")
    if with_read_mark:
        mark = ReadMark.objects.filter(conversation=OuterRef("pk"), user=user).values("read_to")[:1]
        qs = qs.annotate(viewer_read_to=Subquery(mark))
    try:
        return qs.get(pk=conversation_id)
    except (Conversation.DoesNotExist, ValueError, TypeError):
        raise Http404("No such conversation") from None


def access_message(user: User, message_id: int) -> Message:
    membership = membership_of(user)
    qs = Message.objects.filter(account_id=membership.account_id).select_related("conversation")
    if not membership.is_super_admin:
        qs = qs.filter(conversation__inbox__members=user)
    try:
        return qs.get(pk=message_id)
    except (Message.DoesNotExist, ValueError, TypeError):
        raise Http404("No such message") from None


def access_custom_view(user: User, view_id: int) -> CustomView:
    from django.db.models import Q

    inboxes = accessible_inboxes(user)
    try:
        return CustomView.objects.filter(Q(owner=user) | Q(shared=True), inbox__in=inboxes).get(pk=view_id)
    except (CustomView.DoesNotExist, ValueError, TypeError):
        raise Http404("No such view") from None


def access_own_custom_view(user: User, view_id: int) -> CustomView:
    view = access_custom_view(user, view_id)
    if view.owner_id != user.pk and not membership_of(user).is_super_admin:
        raise PermissionDenied(_("Only the owner can change this view."))
    return view


def access_notification(user: User, notification_id: int) -> Notification:
    try:
        return Notification.objects.get(pk=notification_id, user=user)
    except (Notification.DoesNotExist, ValueError, TypeError):
        raise Http404("No such notification") from None


def access_attachment(user: User, attachment_id: int) -> Attachment:
    """An attachment of a message the user may read (404 otherwise, never a leak); a hidden
    message's attachments are hidden with it."""
    membership = membership_of(user)
    qs = Attachment.objects.filter(account_id=membership.account_id, message__hidden_at=None).select_related(
        "message__conversation"
    )
    if not membership.is_super_admin:
        qs = qs.filter(message__conversation__inbox__members=user)
    try:
        return qs.get(pk=attachment_id)
    except (Attachment.DoesNotExist, ValueError, TypeError):
        raise Http404("No such attachment") from None
