"""The one write path for accounts, users, teams and API tokens."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext as _

from samtale.accounts import events, hooks
from samtale.accounts.access import membership_of, require_super_admin
from samtale.accounts.models import PERMISSIONS, Account, ApiToken, Membership, Role, Seat, Team, User
from samtale.core.audit import audit
from samtale.core.clock import now
from samtale.core.events import access_changed, publish_on_commit, session_changed


def create_account(*, name: str, admin_email: str, admin_name: str, password: str | None) -> tuple[Account, User]:
    """A new tenant with its first super admin (used by setup, the demo and tests)."""
    with transaction.atomic():
        account = Account.objects.create(name=name)
        admin = _create_user(account, email=admin_email, name=admin_name, password=password, role=Role.SUPER_ADMIN)
        audit(account, admin, "account.created", account)
    return account, admin


def _create_user(
    account: Account,
    *,
    email: str,
    name: str,
    password: str | None,
    role: str = Role.USER,
    permissions: Iterable[str] = (),
    seat: str = Seat.NONE,
    language: str = "en",
) -> User:
    email = email.strip().lower()
    validate_email(email)
    if User.objects.filter(email=email).exists():
        raise ValidationError({"email": _("A user with that email already exists.")})
    if role not in Role.values or seat not in Seat.values:
        raise ValidationError(_("Unknown role or seat."))
    user = User.objects.create_user(email=email, password=password, name=name.strip() or email, language=language)
    Membership.objects.create(
        user=user, account=account, role=role, permissions=_clean_permissions(permissions), seat=seat
    )
    return user


def _clean_permissions(permissions: Iterable[str]) -> list[str]:
    wanted = set(permissions)
    unknown = wanted - set(PERMISSIONS)
    if unknown:
        raise ValidationError(_("Unknown permission: %(names)s") % {"names": ", ".join(sorted(unknown))})
    return sorted(wanted)


def create_user(
    account: Account,
    *,
    acting_user: User | None,
    email: str,
    name: str,
    password: str | None = None,
    role: str = Role.USER,
    permissions: Iterable[str] = (),
    seat: str = Seat.NONE,
    language: str = "en",
) -> User:
    if acting_user is not None:
        membership = require_super_admin(acting_user)
        if membership.account_id != account.pk:
            raise PermissionDenied(_("Not your account."))
    with transaction.atomic():
        user = _create_user(
            account,
            email=email,
            name=name,
            password=password,
            role=role,
            permissions=permissions,
            seat=seat,
            language=language,
        )
        audit(account, acting_user, "user.created", user, email=user.email, role=role)
        publish_on_commit(events.members_changed(account.pk, user.pk))
    return user


def update_membership(
    user: User,
    *,
    acting_user: User,
    role: str | None = None,
    permissions: Iterable[str] | None = None,
    seat: str | None = None,
) -> Membership:
    actor = require_super_admin(acting_user)
    membership = user.membership
    if membership.account_id != actor.account_id:
        raise PermissionDenied(_("Not your account."))
    with transaction.atomic():
        if role is not None:
            if role not in Role.values:
                raise ValidationError(_("Unknown role."))
            if user.pk == acting_user.pk and role != Role.SUPER_ADMIN:
                raise ValidationError(_("You cannot remove your own super admin role."))
            membership.role = role
        if permissions is not None:
            membership.permissions = _clean_permissions(permissions)
        if seat is not None:
            if seat not in Seat.values:
                raise ValidationError(_("Unknown seat."))
            membership.seat = seat
        membership.save()
        audit(
            membership.account,
            acting_user,
            "user.updated",
            user,
            role=membership.role,
            permissions=membership.permissions,
            seat=membership.seat,
        )
        publish_on_commit(events.members_changed(membership.account_id, user.pk))
        publish_on_commit(access_changed(user.pk))  # a role change changes which inboxes it sees
    return membership


def _lifecycle_guard(user: User, acting_user: User) -> Membership:
    actor = require_super_admin(acting_user)
    membership = user.membership
    if membership.account_id != actor.account_id:
        raise PermissionDenied(_("Not your account."))
    if user.pk == acting_user.pk:
        raise ValidationError(_("You cannot do that to yourself."))
    return membership


def deactivate_user(user: User, *, acting_user: User) -> None:
    """A deactivated user cannot sign in; their conversations stay theirs."""
    membership = _lifecycle_guard(user, acting_user)
    with transaction.atomic():
        membership.deactivated_at = now()
        membership.save(update_fields=["deactivated_at"])
        user.is_active = False
        user.save(update_fields=["is_active"])
        audit(membership.account, acting_user, "user.deactivated", user)
        publish_on_commit(events.members_changed(membership.account_id, user.pk))
        publish_on_commit(access_changed(user.pk))


def reactivate_user(user: User, *, acting_user: User) -> None:
    membership = _lifecycle_guard(user, acting_user)
    if membership.removed_at is not None:
        raise ValidationError(_("A removed user cannot be reactivated."))
    with transaction.atomic():
        membership.deactivated_at = None
        membership.save(update_fields=["deactivated_at"])
        user.is_active = True
        user.save(update_fields=["is_active"])
        audit(membership.account, acting_user, "user.reactivated", user)
        publish_on_commit(events.members_changed(membership.account_id, user.pk))
        publish_on_commit(access_changed(user.pk))


def remove_user(user: User, *, acting_user: User) -> int:
    """Remove from the account: no sign-in, out of inboxes and teams, conversations unassigned
    (the inbox does that through `hooks.on_user_removed`)."""
    membership = _lifecycle_guard(user, acting_user)
    with transaction.atomic():
        membership.removed_at = now()
        membership.save(update_fields=["removed_at"])
        user.is_active = False
        user.save(update_fields=["is_active"])
        user.inboxes.clear()
        user.teams.clear()
        user.api_tokens.all().delete()
        released = hooks.user_removed(user, acting_user)
        audit(membership.account, acting_user, "user.removed", user, released=released)
        publish_on_commit(events.members_changed(membership.account_id, user.pk))
        publish_on_commit(access_changed(user.pk))
    return released


def set_language(user: User, *, acting_user: User, language: str) -> None:
    if acting_user.pk != user.pk:
        raise PermissionDenied(_("You can only change your own language."))
    if language not in {"en", "nb"}:
        raise ValidationError(_("Unknown language."))
    with transaction.atomic():
        user.language = language
        user.save(update_fields=["language"])
        audit(user.membership.account, acting_user, "user.language", user, language=language)


# A person's layout of the screens, remembered across reloads and devices: which panels are
# collapsed, whether "More" views are unfolded, which views are hidden and in what order.
PREFERENCE_FLAGS = ("nav_collapsed", "contact_collapsed", "more_views_open")
PREFERENCE_LISTS = (
    "hidden_views", "view_order", "about_contact_properties", "ticket_detail_properties", "collapsed_sections",
)  # fmt: skip
VIEW_KEY = re.compile(r"[a-z_]{1,32}|custom-[0-9]{1,12}")
PROPERTY_KEY = re.compile(r"(?:prop:)?[a-z0-9_]{1,60}")  # "prop:<key>": a custom ticket property
SECTION_KEY = re.compile(
    r"[a-z0-9-]{1,40}"
)  # a sidebar section's key (core.sidebar)  # a contact property's key (crm.properties)


def set_preferences(user: User, *, acting_user: User, **changes: Any) -> dict[str, Any]:
    """Merge `changes` into the user's preferences: flags are booleans, lists hold view keys (at
    most 200). Only the user sets their own; not audited (a layout, not a decision anyone answers for)."""
    if acting_user.pk != user.pk:
        raise PermissionDenied(_("You can only change your own layout."))
    for key, value in changes.items():
        if key in PREFERENCE_FLAGS:
            if not isinstance(value, bool):
                raise ValidationError(_("Unknown setting."))
        elif key in PREFERENCE_LISTS:
            if not isinstance(value, list) or len(value) > 200:
                raise ValidationError(_("Unknown setting."))
            pattern = (
                PROPERTY_KEY
                if key.endswith("_properties")
                else SECTION_KEY
                if key == "collapsed_sections"
                else VIEW_KEY
            )
            if not all(isinstance(v, str) and pattern.fullmatch(v) for v in value):
                raise ValidationError(_("Unknown setting."))
            changes[key] = list(dict.fromkeys(value))
        else:
            raise ValidationError(_("Unknown setting."))
    with transaction.atomic():
        locked = User.objects.select_for_update().only("preferences").get(pk=user.pk)
        user.preferences = {**(locked.preferences or {}), **changes}
        User.objects.filter(pk=user.pk).update(preferences=user.preferences)
    return dict(user.preferences)


def create_team(account: Account, *, acting_user: User | None, name: str, members: Iterable[User] = ()) -> Team:
    if acting_user is not None:
        require_super_admin(acting_user)
    if not name.strip():
        raise ValidationError(_("A team needs a name."))
    if Team.objects.filter(account=account, name=name.strip()).exists():
        raise ValidationError({"name": _("A team with that name exists.")})
    with transaction.atomic():
        team = Team.objects.create(account=account, name=name.strip())
        team.members.set([m for m in members if m.membership.account_id == account.pk])
        audit(account, acting_user, "team.created", team)
        publish_on_commit(events.members_changed(account.pk, 0))
    return team


def set_team_members(team: Team, *, acting_user: User, members: Iterable[User]) -> Team:
    require_super_admin(acting_user)
    members = list(members)
    if any(m.membership.account_id != team.account_id for m in members):
        raise PermissionDenied(_("Not your account."))
    with transaction.atomic():
        team.members.set(members)
        audit(team.account, acting_user, "team.members", team, members=[m.pk for m in members])
        publish_on_commit(events.members_changed(team.account_id, 0))
    return team


def delete_team(team: Team, *, acting_user: User) -> None:
    require_super_admin(acting_user)
    with transaction.atomic():
        audit(team.account, acting_user, "team.deleted", team, name=team.name)
        team.delete()
        publish_on_commit(events.members_changed(team.account_id, 0))


def create_api_token(user: User, *, acting_user: User, name: str) -> tuple[ApiToken, str]:
    """Returns the token and its clear text, which is never stored and shown only now."""
    membership = membership_of(acting_user)
    if acting_user.pk != user.pk and not membership.is_super_admin:
        raise PermissionDenied(_("You can only create your own tokens."))
    clear = ApiToken.generate()
    with transaction.atomic():
        token = ApiToken.objects.create(
            account=membership.account,
            user=user,
            name=name.strip()[:100] or "API token",
            prefix=clear[:10],
            token_hash=ApiToken.hash(clear),
        )
        audit(membership.account, acting_user, "token.created", token)
    return token, clear


def revoke_api_token(token: ApiToken, *, acting_user: User) -> None:
    membership = membership_of(acting_user)
    if token.user_id != acting_user.pk and not membership.is_super_admin:
        raise PermissionDenied(_("You can only revoke your own tokens."))
    with transaction.atomic():
        audit(membership.account, acting_user, "token.revoked", token)
        token.delete()


def change_password(user: User, *, acting_user: User, new_password: str, current_password: str = "") -> None:
    """A user changes their own password (giving the current one), or a super admin sets another
    user's. Every session signed in with the old password ends (Django checks a hash of it on each
    request) and every open socket of the user closes (`session_changed`)."""
    from django.contrib.auth.password_validation import validate_password

    if acting_user.pk == user.pk:
        if not user.check_password(current_password):
            raise ValidationError(_("The current password is not right."))
    else:
        actor = require_super_admin(acting_user)
        if user.membership.account_id != actor.account_id:
            raise PermissionDenied(_("Not your account."))
    validate_password(new_password, user)
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        audit(user.membership.account, acting_user, "user.password_changed", user)
        publish_on_commit(session_changed(user.pk))
