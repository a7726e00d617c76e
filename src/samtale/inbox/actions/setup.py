"""Inboxes, their members and their channels (creating, removing, broken or working again)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from samtale.accounts.access import require_permission
from samtale.accounts.models import Account, User
from samtale.core.audit import audit
from samtale.core.clock import now
from samtale.core.events import access_changed, publish_on_commit
from samtale.inbox import adapters, events
from samtale.inbox.models import (
    Channel,
    ChannelKind,
    Inbox,
)

log = logging.getLogger(__name__)


def create_inbox(account: Account, *, acting_user: User | None, name: str, members: Iterable[User] = ()) -> Inbox:
    if acting_user is not None:
        require_permission(acting_user, "inbox_settings")
    name = name.strip()
    if not name:
        raise ValidationError(_("An inbox needs a name."))
    with transaction.atomic():
        inbox = Inbox.objects.create(account=account, name=name)
        inbox.members.set([m for m in members if _same_account(m, account)])
        audit(account, acting_user, "inbox.created", inbox, name=name)
        publish_on_commit(events.inbox_changed(account.pk, inbox.pk))
    return inbox


def rename_inbox(inbox: Inbox, *, acting_user: User, name: str) -> Inbox:
    require_permission(acting_user, "inbox_settings")
    if not name.strip():
        raise ValidationError(_("An inbox needs a name."))
    with transaction.atomic():
        inbox.name = name.strip()
        inbox.save(update_fields=["name"])
        audit(inbox.account, acting_user, "inbox.renamed", inbox, name=inbox.name)
        publish_on_commit(events.inbox_changed(inbox.account_id, inbox.pk))
    return inbox


def _same_account(user: User, account: Account) -> bool:
    membership = user.membership_or_none
    return membership is not None and membership.account_id == account.pk


def add_inbox_member(inbox: Inbox, *, acting_user: User | None, user: User) -> None:
    if acting_user is not None:
        require_permission(acting_user, "inbox_settings")
    if not _same_account(user, inbox.account):
        raise PermissionDenied(_("That user is not in this account."))
    with transaction.atomic():
        inbox.members.add(user)
        audit(inbox.account, acting_user, "inbox.member_added", inbox, user_id=user.pk)
        publish_on_commit(events.inbox_changed(inbox.account_id, inbox.pk))
        publish_on_commit(access_changed(user.pk))


def remove_inbox_member(inbox: Inbox, *, acting_user: User, user: User) -> None:
    require_permission(acting_user, "inbox_settings")
    with transaction.atomic():
        inbox.members.remove(user)
        audit(inbox.account, acting_user, "inbox.member_removed", inbox, user_id=user.pk)
        publish_on_commit(events.inbox_changed(inbox.account_id, inbox.pk))
        publish_on_commit(access_changed(user.pk))


def create_channel(
    inbox: Inbox,
    *,
    acting_user: User | None,
    kind: str,
    name: str,
    address: str = "",
    config: dict[str, Any] | None = None,
    history: bool = False,
) -> Channel:
    """Connect a channel of an installed kind. `history`: a row of a kind whose package is not
    installed, which will receive nothing (the demo's Messenger, form and call conversations)."""
    if acting_user is not None:
        require_permission(acting_user, "inbox_settings")
    if kind not in ChannelKind.values:
        raise ValidationError(_("Unknown channel kind."))
    adapter = adapters.adapter_for(kind)
    if adapter is None and not history:
        raise ValidationError(
            _("Channels of this kind cannot be connected yet: choose one of %(kinds)s.")
            % {"kinds": ", ".join(label for _kind, label in adapters.kind_choices())}
        )
    address = adapter.clean_address(address) if adapter is not None else address.strip()
    # Only this account's own channels are looked at: whether another account uses the address
    # is nobody's business here (an email address is verified before it receives anything).
    if address and Channel.objects.filter(account=inbox.account, kind=kind, address=address).exists():
        raise ValidationError(_("That address is already connected to one of your inboxes."))
    with transaction.atomic():
        channel = Channel.objects.create(
            account=inbox.account,
            inbox=inbox,
            kind=kind,
            name=name.strip() or address or kind,
            address=address,
            config=config or {},
            verified_at=None if adapter is not None and adapter.confirms_address else now(),
        )
        audit(inbox.account, acting_user, "channel.created", channel, kind=kind, address=address)
        publish_on_commit(events.inbox_changed(inbox.account_id, inbox.pk))
        for hook in _channel_created_hooks:
            hook(channel)
    return channel


_channel_created_hooks: list[Any] = []


def on_channel_created(hook: Any) -> None:
    """A channel package's step for its new channels (inside the creating transaction), e.g. the
    email package mails the address its confirmation. The inbox core names no channel."""
    if hook not in _channel_created_hooks:
        _channel_created_hooks.append(hook)


def mark_channel_broken(channel: Channel, *, reason: str) -> None:
    """The channel failed permanently (credentials refused, a token revoked…): shown in settings and
    on the inbox, and replies through it are refused with the reason, until it works again."""
    reason = reason.strip()[:1000]
    with transaction.atomic():
        channel.broken_reason = reason
        if not Channel.objects.filter(pk=channel.pk).exclude(broken_reason=reason).update(broken_reason=reason):
            return  # already so: one audit row per change, not per failed attempt
        audit(channel.account, None, "channel.broken", channel, reason=reason)
        publish_on_commit(events.inbox_changed(channel.account_id, channel.inbox_id))


def mark_channel_working(channel: Channel, *, acting_user: User | None = None) -> None:
    """It works again (a delivery or a fetch succeeded, or its settings were changed)."""
    with transaction.atomic():
        channel.broken_reason = ""
        if not Channel.objects.filter(pk=channel.pk).exclude(broken_reason="").update(broken_reason=""):
            return
        audit(channel.account, acting_user, "channel.working", channel)
        publish_on_commit(events.inbox_changed(channel.account_id, channel.inbox_id))


def delete_channel(channel: Channel, *, acting_user: User) -> None:
    require_permission(acting_user, "inbox_settings")
    if channel.conversations.exists():
        raise ValidationError(_("This channel has conversations and cannot be removed."))
    with transaction.atomic():
        audit(channel.account, acting_user, "channel.deleted", channel, kind=channel.kind, address=channel.address)
        inbox_id = channel.inbox_id
        channel.delete()
        publish_on_commit(events.inbox_changed(channel.account_id, inbox_id))
