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


def _require_owner(view: CustomView, acting_user: User) -> None:
    if view.owner_id != acting_user.pk and not membership_of(acting_user).is_super_admin:
        raise PermissionDenied(_("Only the owner can change this view."))


def update_custom_view(
    view: CustomView,
    *,
    acting_user: User,
    name: str | None = None,
    shared: bool | None = None,
    filters: Filters | None = None,
) -> CustomView:
    """Rename, share or unshare, or save new filters into a view (its owner, or a super admin)."""
    _require_owner(view, acting_user)
    changed: dict[str, object] = {}
    if name is not None:
        if not name.strip():
            raise ValidationError({"name": _("A view needs a name.")})
        changed["name"] = name.strip()[:100]
    if shared is not None:
        changed["shared"] = shared
    if filters is not None:
        if not filters.active:
            raise ValidationError(_("Set at least one filter or a search before saving a view."))
        changed["filters"] = filters.as_dict()
    if not changed:
        return view
    with transaction.atomic():
        for field, value in changed.items():
            setattr(view, field, value)
        view.save(update_fields=list(changed))
        audit(view.account, acting_user, "view.updated", view, fields=sorted(changed))
        publish_on_commit(events.inbox_changed(view.account_id, view.inbox_id))
    return view


def delete_custom_view(view: CustomView, *, acting_user: User) -> None:
    _require_owner(view, acting_user)
    with transaction.atomic():
        audit(view.account, acting_user, "view.deleted", view)
        view.delete()
        publish_on_commit(events.inbox_changed(view.account_id, view.inbox_id))
