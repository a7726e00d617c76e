"""Objects of the email channel named by a request, scoped by account and permission (404 outside)."""

from __future__ import annotations

from django.http import Http404

from samtale.accounts.access import require_permission
from samtale.accounts.models import User
from samtale.channels.email.models import RawEmail


def access_parked_email(user: User, raw_id: int) -> RawEmail:
    """A parked message of the user's account; only for those who manage inboxes."""
    membership = require_permission(user, "inbox_settings")
    try:
        return RawEmail.objects.select_related("channel").get(
            pk=raw_id, account_id=membership.account_id, state=RawEmail.State.PARKED
        )
    except (RawEmail.DoesNotExist, ValueError, TypeError, OverflowError):
        raise Http404("No such message") from None
