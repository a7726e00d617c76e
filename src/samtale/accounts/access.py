from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils.translation import gettext as _

from samtale.accounts.models import Membership, Team, User


def membership_of(user: User) -> Membership:
    """The acting user's membership; a user without a usable one may do nothing."""
    cached = getattr(user, "_samtale_membership", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    if not user.is_authenticated:
        raise PermissionDenied(_("Not signed in."))
    try:
        # loaded with the user on a signed-in request (`backends.MemberBackend`), else read now
        loaded = User.membership.is_cached(user)
        membership = user.membership if loaded else Membership.objects.select_related("account").get(user=user)
    except Membership.DoesNotExist:
        raise PermissionDenied(_("You do not belong to an account.")) from None
    if not membership.is_usable:
        raise PermissionDenied(_("Your access has been deactivated."))
    user._samtale_membership = membership  # type: ignore[attr-defined]
    return membership


def forget_membership(user: User) -> None:
    """Read the user's membership again when next asked (it may have changed since it was read)."""
    user._samtale_membership = None  # type: ignore[attr-defined]
    if User.membership.is_cached(user):
        User.membership.related.delete_cached_value(user)


def require_permission(user: User, name: str) -> Membership:
    membership = membership_of(user)
    if not membership.has_permission(name):
        from samtale.accounts.models import PERMISSION_LABELS

        label = str(PERMISSION_LABELS.get(name, name)).lower()
        raise PermissionDenied(_("You need the permission “%(name)s”.") % {"name": label})
    return membership


def require_super_admin(user: User) -> Membership:
    membership = membership_of(user)
    if not membership.is_super_admin:
        raise PermissionDenied(_("Only super admins can do this."))
    return membership


def access_user(user: User, user_id: int) -> User:
    membership = membership_of(user)
    try:
        return User.objects.select_related("membership").get(pk=user_id, membership__account_id=membership.account_id)
    except (User.DoesNotExist, ValueError, TypeError):
        raise Http404("No such user") from None


def access_team(user: User, team_id: int) -> Team:
    membership = membership_of(user)
    try:
        return Team.objects.get(pk=team_id, account_id=membership.account_id)
    except (Team.DoesNotExist, ValueError, TypeError):
        raise Http404("No such team") from None
