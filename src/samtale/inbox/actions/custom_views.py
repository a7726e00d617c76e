"""Saved searches (custom views)."""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from samtale.accounts.access import membership_of
from samtale.accounts.models import User
from samtale.core.audit import audit
from samtale.core.events import publish_on_commit
from samtale.inbox import events
from samtale.inbox.models import (
    CustomView,
    Inbox,
)
from samtale.inbox.queries import Filters

log = logging.getLogger(__name__)


def create_custom_view(inbox: Inbox, *, acting_user: User, name: str, filters: Filters, shared: bool) -> CustomView:
    from samtale.inbox.access import access_inbox

    access_inbox(acting_user, inbox.pk)
    if not name.strip():
        raise ValidationError(_("A view needs a name."))
    if not filters.active:
        raise ValidationError(_("Set at least one filter or a search before saving a view."))
    with transaction.atomic():
        view = CustomView.objects.create(
            account=inbox.account,
            inbox=inbox,
            owner=acting_user,
            name=name.strip()[:100],
            shared=shared,
            filters=filters.as_dict(),
        )
        audit(inbox.account, acting_user, "view.created", view, shared=shared)
        publish_on_commit(events.inbox_changed(inbox.account_id, inbox.pk))
    return view


def delete_custom_view(view: CustomView, *, acting_user: User) -> None:
    if view.owner_id != acting_user.pk and not membership_of(acting_user).is_super_admin:
        raise PermissionDenied("Only the owner can delete this view.")
    with transaction.atomic():
        audit(view.account, acting_user, "view.deleted", view)
        view.delete()
        publish_on_commit(events.inbox_changed(view.account_id, view.inbox_id))
