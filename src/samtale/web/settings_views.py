"""Settings: users, teams, inboxes and channels, API tokens."""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from samtale.accounts import actions as account_actions
from samtale.accounts.access import access_team, access_user, membership_of
from samtale.accounts.http import acting, action_view, form_error, is_htmx, member_required
from samtale.accounts.models import PERMISSION_LABELS, ApiToken, Team, User
from samtale.channels.email.forms import MailServerForm
from samtale.core.bounds import parse_id
from samtale.inbox import actions as inbox_actions
from samtale.inbox import adapters
from samtale.inbox.access import access_channel, access_inbox_settings
from samtale.inbox.models import Channel, ChannelKind, Inbox
from samtale.web import forms


@member_required
def password_page(request: HttpRequest) -> HttpResponse:
    """Change my own password; the form keeps what was typed and shows errors next to it."""
    from django.contrib.auth import update_session_auth_hash

    user = acting(request)
    form = forms.PasswordForm(request.POST or None)
    done = False
    if request.method == "POST" and form.is_valid():
        try:
            account_actions.change_password(
                user, acting_user=user, current_password=form.cleaned_data["current"],
                new_password=form.cleaned_data["new"],
            )  # fmt: skip
        except ValidationError as exc:
            form.add_error("current" if "current" in " ".join(exc.messages).lower() else "new", exc)
        else:
            update_session_auth_hash(request, user)  # this tab stays signed in; others are signed out
            done, form = True, forms.PasswordForm()
    status = 400 if request.method == "POST" and not done else 200
    from samtale.channels.email.trust import secret_address
    from samtale.inbox.access import accessible_inboxes

    email_channels = Channel.objects.filter(inbox__in=accessible_inboxes(user), kind=ChannelKind.EMAIL)
    copies = [(channel, secret_address(channel.address, user)) for channel in email_channels.order_by("address")]
    context = {"form": form, "done": done, "section": "password", "copies": copies}
    return render(request, "web/settings_password.html", context, status=status)


def _ids(values: list[str]) -> list[int]:
    """Ids of a multi-select; anything that is not one is a 400 (ValidationError)."""
    ids = [parse_id(v) for v in values[:1000]]
    if None in ids:
        raise ValidationError(_("Unknown selection."))
    return [i for i in ids if i is not None]


def _back(request: HttpRequest, name: str) -> HttpResponse:
    if is_htmx(request):
        response = HttpResponse(status=204)
        response["HX-Refresh"] = "true"
        return response
    return redirect(name)


@member_required
def users_page(request: HttpRequest) -> HttpResponse:
    membership = membership_of(acting(request))
    users = (
        User.objects.filter(membership__account_id=membership.account_id)
        .select_related("membership")
        .prefetch_related("teams", "inboxes")
        .order_by("membership__removed_at", "name")
    )
    return render(
        request,
        "web/settings_users.html",
        {
            "users": users,
            "membership": membership,
            "permission_labels": PERMISSION_LABELS,
            "form": forms.UserForm(),
            "section": "users",
        },
    )


@action_view
def user_create(request: HttpRequest) -> HttpResponse:
    user = acting(request)
    form = forms.UserForm(request.POST)
    if not form.is_valid():
        return form_error(form)
    data = form.cleaned_data
    account_actions.create_user(
        membership_of(user).account,
        acting_user=user,
        email=data["email"],
        name=data["name"],
        password=data["password"] or None,
        role=data["role"],
        permissions=data["permissions"],
        seat=data["seat"] or "",
    )
    return _back(request, "settings_users")


@action_view
def user_update(request: HttpRequest, user_id: int) -> HttpResponse:
    actor = acting(request)
    target = access_user(actor, user_id)
    form = forms.MembershipForm(request.POST)
    if not form.is_valid():
        return form_error(form)
    account_actions.update_membership(
        target,
        acting_user=actor,
        role=form.cleaned_data["role"],
        permissions=form.cleaned_data["permissions"],
        seat=form.cleaned_data["seat"] or "",
    )
    return _back(request, "settings_users")


@action_view
def user_lifecycle(request: HttpRequest, user_id: int, action: str) -> HttpResponse:
    actor = acting(request)
    target = access_user(actor, user_id)
    operations = {
        "deactivate": account_actions.deactivate_user,
        "reactivate": account_actions.reactivate_user,
        "remove": account_actions.remove_user,
    }
    if action not in operations:
        raise Http404("No such action")
    operations[action](target, acting_user=actor)
    return _back(request, "settings_users")


@member_required
def teams_page(request: HttpRequest) -> HttpResponse:
    membership = membership_of(acting(request))
    teams = Team.objects.filter(account_id=membership.account_id).prefetch_related("members").order_by("name")
    people = User.objects.filter(membership__account_id=membership.account_id, membership__removed_at=None).order_by(
        "name"
    )
    return render(
        request,
        "web/settings_teams.html",
        {"teams": teams, "people": people, "membership": membership, "section": "teams"},
    )


@action_view
def team_create(request: HttpRequest) -> HttpResponse:
    user = acting(request)
    form = forms.TeamForm(request.POST)
    if not form.is_valid():
        return form_error(form)
    account_actions.create_team(membership_of(user).account, acting_user=user, name=form.cleaned_data["name"])
    return _back(request, "settings_teams")


@action_view
def team_members(request: HttpRequest, team_id: int) -> HttpResponse:
    user = acting(request)
    team = access_team(user, team_id)
    members = [access_user(user, pk) for pk in _ids(request.POST.getlist("members"))]
    account_actions.set_team_members(team, acting_user=user, members=members)
    return _back(request, "settings_teams")


@action_view
def team_delete(request: HttpRequest, team_id: int) -> HttpResponse:
    user = acting(request)
    account_actions.delete_team(access_team(user, team_id), acting_user=user)
    return _back(request, "settings_teams")


@member_required
def inboxes_page(request: HttpRequest) -> HttpResponse:
    user = acting(request)
    membership = membership_of(user)
    inboxes = (
        Inbox.objects.filter(account_id=membership.account_id)
        .prefetch_related(
            "members", "channels__routing_rule__users", "channels__routing_rule__teams", "channels__mail_server"
        )
        .order_by("name")
    )
    people = User.objects.filter(membership__account_id=membership.account_id, membership__removed_at=None).order_by(
        "name"
    )
    return render(
        request,
        "web/settings_inboxes.html",
        {
            "inboxes": inboxes,
            "people": people,
            "membership": membership,
            "can_edit": membership.has_permission("inbox_settings"),
            "kinds": adapters.kind_choices(),
            "teams": Team.objects.filter(account_id=membership.account_id).order_by("name"),
            "security": MailServerForm.SECURITY,  # for the email channel's settings piece
            "smtp_port": settings.SAMTALE_SMTP_PORT,
            "section": "inboxes",
        },
    )


@action_view
def inbox_create(request: HttpRequest) -> HttpResponse:
    user = acting(request)
    form = forms.NameForm(request.POST)
    if not form.is_valid():
        return form_error(form)
    inbox_actions.create_inbox(
        membership_of(user).account, acting_user=user, name=form.cleaned_data["name"], members=[user]
    )
    return _back(request, "settings_inboxes")


@action_view
def inbox_member(request: HttpRequest, inbox_id: int, action: str) -> HttpResponse:
    user = acting(request)
    inbox = access_inbox_settings(user, inbox_id)
    form = forms.MemberForm(request.POST)
    if not form.is_valid():
        return form_error(form)
    member = access_user(user, form.cleaned_data["user"])
    if action == "add":
        inbox_actions.add_inbox_member(inbox, acting_user=user, user=member)
    elif action == "remove":
        inbox_actions.remove_inbox_member(inbox, acting_user=user, user=member)
    else:
        raise Http404("No such action")
    return _back(request, "settings_inboxes")


@action_view
def channel_create(request: HttpRequest, inbox_id: int) -> HttpResponse:
    user = acting(request)
    inbox = access_inbox_settings(user, inbox_id)
    form = forms.ChannelForm(request.POST)
    if not form.is_valid():
        return form_error(form)
    inbox_actions.create_channel(
        inbox,
        acting_user=user,
        kind=form.cleaned_data["kind"],
        name=form.cleaned_data["name"],
        address=form.cleaned_data["address"],
    )
    return _back(request, "settings_inboxes")


@action_view
def channel_routing(request: HttpRequest, channel_id: int) -> HttpResponse:
    from samtale.accounts.access import access_team
    from samtale.routing.actions import configure_routing

    user = acting(request)
    channel = access_channel(user, channel_id)
    capacity = request.POST.get("capacity", "").strip()
    if capacity and not (capacity.isascii() and capacity.isdigit() and len(capacity) <= 6):
        return HttpResponse(_("Capacity must be a whole number from 1 to 10000."), status=400)
    configure_routing(
        channel, acting_user=user, enabled=bool(request.POST.get("enabled")),
        users=[access_user(user, pk) for pk in _ids(request.POST.getlist("users"))],
        teams=[access_team(user, pk) for pk in _ids(request.POST.getlist("teams"))],
        method=request.POST.get("method", "round_robin"), capacity=int(capacity) if capacity else None,
        reroute_when_owner_away=bool(request.POST.get("reroute")),
    )  # fmt: skip
    return _back(request, "settings_inboxes")


@action_view
def channel_delete(request: HttpRequest, channel_id: int) -> HttpResponse:
    user = acting(request)
    channel = access_channel(user, channel_id)
    inbox_actions.delete_channel(channel, acting_user=user)
    return _back(request, "settings_inboxes")


@member_required
def tokens_page(request: HttpRequest) -> HttpResponse:
    user = acting(request)
    return render(
        request,
        "web/settings_tokens.html",
        {
            "tokens": ApiToken.objects.filter(user=user).order_by("-created_at"),
            "new_token": request.session.pop("new_token", None),
            "membership": membership_of(user),
            "section": "tokens",
        },
    )


@action_view
def token_create(request: HttpRequest) -> HttpResponse:
    user = acting(request)
    form = forms.NameForm(request.POST)
    if not form.is_valid():
        return form_error(form)
    _token, clear = account_actions.create_api_token(user, acting_user=user, name=form.cleaned_data["name"])
    request.session["new_token"] = clear
    return redirect(reverse("settings_tokens"))


@action_view
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    user = acting(request)
    membership = membership_of(user)
    try:
        token = ApiToken.objects.get(pk=token_id, account_id=membership.account_id, user=user)
    except ApiToken.DoesNotExist:
        raise Http404("No such token") from None
    account_actions.revoke_api_token(token, acting_user=user)
    return redirect(reverse("settings_tokens"))
