"""The inbox screen: three panes, HTMX fragments, one action per POST."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from samtale.accounts.access import access_user, membership_of
from samtale.accounts.http import acting, action_view, form_error, is_htmx, member_required
from samtale.accounts.models import User
from samtale.channels.email.queries import IntakeHealth, intake_health
from samtale.core import sidebar
from samtale.core.bounds import parse_id
from samtale.crm.queries import tasks_due_today
from samtale.inbox import actions, queries
from samtale.inbox.access import (
    access_channel,
    access_conversation,
    access_custom_view,
    access_inbox,
    access_message,
    accessible_inboxes,
)
from samtale.inbox.models import ChannelKind, Conversation, Inbox, Status
from samtale.web import forms


def _resolve_view(request: HttpRequest, inbox: Inbox, view: str) -> tuple[str, queries.Filters, Any]:
    """A default view key, or `custom-<id>` whose saved filters apply; request filters override."""
    custom = None
    if view.startswith("custom-"):
        view_id = parse_id(view.removeprefix("custom-"))
        if view_id is None:
            raise Http404("No such view")
        custom = access_custom_view(acting(request), view_id)
        if custom.inbox_id != inbox.pk:
            raise Http404("No such view")
        filters = queries.Filters.from_mapping({**custom.filters, **request.GET.dict()})
    elif view in queries.VIEW_KEYS:
        filters = queries.Filters.from_mapping(request.GET)
    else:
        raise Http404("No such view")
    return view, filters, custom


def _list_context(
    request: HttpRequest, inbox: Inbox, view: str, counts: dict[str, int] | None = None
) -> dict[str, Any]:
    user = acting(request)
    view, filters, custom = _resolve_view(request, inbox, view)
    count = queries.known_count(inbox, user, view, filters, counts) if custom is None else None
    # a live redraw keeps the rows the agent loaded with "Load more" (up to the largest page)
    shown = parse_id(request.GET.get("shown")) or 0
    page = queries.conversation_page(
        inbox, user, view, filters, cursor=request.GET.get("cursor", ""), count=count, limit=max(25, min(shown, 100))
    )
    # the search as row links and "Load more" carry it: what differs from the view's own filters
    base = (queries.Filters.from_mapping(custom.filters) if custom else queries.Filters()).as_dict()
    changed = {
        k: ("1" if v is True else "0" if v is False else v) for k, v in filters.as_dict().items() if v != base[k]
    }
    return {
        "inbox": inbox,
        "view": view,
        "custom_view": custom,
        "filters": filters,
        "page": page,
        "search_mode": filters.active,
        "view_title": queries.VIEW_LABELS.get(view, ""),
        "open_id": parse_id(request.GET.get("open")),
        "query_string": urlencode(changed),
    }


def _nav_context(request: HttpRequest, inbox: Inbox, view: str, counts: dict[str, int] | None = None) -> dict[str, Any]:
    """The views in the order the user arranged them, without those they hid (unless open now)."""
    user = acting(request)
    counts = counts if counts is not None else queries.view_counts(inbox, user)
    groups = _view_groups(user, inbox)
    shown = {
        key: [item for item in items if not item["hidden"] or item["key"] == view] for key, items in groups.items()
    }
    return {
        "inbox": inbox,
        "view": view,
        "main_views": [{**item, "count": counts[item["key"]]} for item in shown["main"]],
        "more_views": [{**item, "count": counts[item["key"]]} for item in shown["more"]],
        "custom_views": [item["view"] for item in shown["custom"]],
        "more_open": bool(user.preferences.get("more_views_open")),
        "hidden_now": next((item["key"] for items in shown.values() for item in items if item["hidden"]), ""),
    }


def _view_groups(user: User, inbox: Inbox) -> dict[str, list[dict[str, Any]]]:
    """Every view of the inbox in three groups (the first row, "More", custom), in the user's order,
    each marked hidden or not."""
    prefs = user.preferences or {}
    hidden = queries.hidden_views(prefs)
    custom = {cv.key: cv for cv in queries.custom_views(inbox, user)}
    members = {
        "main": [v.key for v in queries.VIEWS if v.always_shown],
        "more": [v.key for v in queries.VIEWS if not v.always_shown],
        "custom": list(custom),
    }
    groups: dict[str, list[dict[str, Any]]] = {}
    for group, keys in members.items():
        groups[group] = [
            {"key": key, "label": custom[key].name if key in custom else queries.VIEW_LABELS[key],
             "hidden": key in hidden, "view": custom.get(key)}
            for key in queries.in_user_order(keys, prefs)
        ]  # fmt: skip
    return groups


def _thread_context(
    request: HttpRequest, conversation: Conversation, members: list[Any] | None = None
) -> dict[str, Any]:
    # the newest page, or (opened anew) from the first entry new to this agent; a redraw keeps the
    # entries the agent had opened ("since" the oldest shown); a permalink opens at its message
    user = acting(request)
    since = request.GET.get("since") or request.POST.get("since") or None
    from_message = parse_id(request.GET.get("message"))
    opened = since is None and from_message is None
    thread = queries.thread(
        conversation,
        limit=queries.THREAD_MAX if since else queries.THREAD_PAGE,
        since=since,
        from_message=from_message,
        counted_up_to=queries.EARLIER_COUNTED,
        read_to=(mark := queries.read_mark(user, conversation) if opened else None),
        reader_id=user.pk,
    )
    # what is on screen has been read: on opening, after the agent's own action (a POST), and on a
    # live redraw of a thread the agent can see (the page says so: a tab in the background does not)
    entries = thread.entries
    newest = entries[-1][1].created_at if entries else None
    seen = opened or request.method == "POST" or request.GET.get("seen") == "1"
    unchanged = opened and mark is not None and newest is not None and mark >= newest  # (no write then)
    if newest is not None and seen and not unchanged:
        actions.mark_read(user, conversation, up_to=newest)
    return {
        **_entry_context(request, conversation),
        "thread": thread,
        **_owner_choices(conversation, members),
        "ChannelKind": ChannelKind,
        "send_as": [(kind, ChannelKind(kind).label, ", ".join(to)) for kind, to in queries.reply_options(conversation)],
        # the apps' pieces (core.sidebar): sidebar sections, lines under the title, the Close control
        "sidebar": sidebar.sections_for(conversation, user),
        "collapsed_sections": list((user.preferences or {}).get("collapsed_sections") or []),
        "thread_head": sidebar.sections_for(conversation, user, "head"),
        "close_controls": sidebar.sections_for(conversation, user, "close") if conversation.status == "open" else [],
    }


def _entry_context(request: HttpRequest, conversation: Conversation) -> dict[str, Any]:
    """What rendering a thread's entries needs besides the entries."""
    user = acting(request)
    membership = membership_of(user)
    return {
        "conversation": conversation,
        "can_hide": membership.has_permission("hide_messages"),
        "is_super_admin": membership.is_super_admin,
        "me": user,
        "inline_image_types": SAFE_INLINE_TYPES,
    }


def _with_status(members: list[Any]) -> list[Any]:
    """Each person with `available` and `next_change` set, so the owner dropdown shows who is there
    (B10) and is redrawn when one of them changes (at the earliest `next_change`)."""
    from samtale.availability.roster import statuses
    from samtale.core.clock import now

    current = statuses([m.pk for m in members], now())
    for member in members:
        member.available = current[member.pk].available
        member.next_change = current[member.pk].next_change
    return members


@member_required
def owner_select(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """The owner dropdown alone, with everyone's status now (a status changed: F1)."""
    conversation = access_conversation(acting(request), conversation_id)
    context = {"conversation": conversation, **_owner_choices(conversation)}
    return render(request, "inbox/inbox.html#owner-select", context)


def _owner_choices(conversation: Conversation, members: list[Any] | None = None) -> dict[str, Any]:
    members = _with_status(list(queries.inbox_members(conversation.inbox)) if members is None else members)
    changes = [m.next_change for m in members if m.next_change is not None]
    return {"members": members, "owner_next_change": min(changes, default=None)}


@member_required
def home(request: HttpRequest) -> HttpResponse:
    inbox = accessible_inboxes(acting(request)).first()
    if inbox is None:
        return render(request, "web/no_inbox.html", {})
    return redirect("inbox", inbox_id=inbox.pk, view="unassigned")


@member_required
def inbox_page(
    request: HttpRequest, inbox_id: int, view: str = "unassigned", conversation_id: int | None = None
) -> HttpResponse:
    user = acting(request)
    inboxes = list(accessible_inboxes(user))
    inbox = next((i for i in inboxes if i.pk == inbox_id), None)
    if inbox is None:
        raise Http404("No such inbox")
    conversation = None
    if conversation_id is not None:
        conversation = access_conversation(user, conversation_id, with_read_mark=True)
        if conversation.inbox_id != inbox.pk:
            raise Http404("No such conversation")
        conversation.inbox = inbox
    if conversation is None and request.GET.get("part") == "main":
        # a click on a view in the nav: the list pane and an empty thread pane, the rest stays
        return render(request, "inbox/switch.html", _main_context(request, inbox, view))
    counts = queries.view_counts(inbox, user)
    members = list(queries.inbox_members(inbox))
    context = {
        **_nav_context(request, inbox, view, counts),
        **_main_context(request, inbox, view, counts),
        "inboxes": inboxes,
        "unread": queries.unread_notifications(user),
        "tasks_due": tasks_due_today(user),  # the person's CRM tasks due today show in their inbox
        "membership": membership_of(user),
        "mention_members": [{"id": u.pk, "name": u.name, "email": u.email} for u in members],
    }
    if conversation is not None:
        context.update(_thread_context(request, conversation, members))
        context["open_id"] = conversation.pk
    return render(request, "inbox/inbox.html", context)


def _main_context(
    request: HttpRequest, inbox: Inbox, view: str, counts: dict[str, int] | None = None
) -> dict[str, Any]:
    """What the page's main part shows besides a conversation: the search form and the list, with
    the notices above them."""
    return {
        **_list_context(request, inbox, view, counts),
        "channels": list(inbox.channels.all()),
        "assignees": list(queries.assignee_choices(inbox, include_inactive=True)),
        "bots": queries.bot_names(inbox),
        "intake": _intake_health(acting(request)),
    }


def _intake_health(user: User) -> IntakeHealth | None:
    """Problems of mail intake, for those who can act on them (a notice above the list)."""
    membership = membership_of(user)
    return intake_health(membership.account_id) if membership.has_permission("inbox_settings") else None


@member_required
def nav_fragment(request: HttpRequest, inbox_id: int) -> HttpResponse:
    inbox = access_inbox(acting(request), inbox_id)
    view = request.GET.get("view", "unassigned")
    return render(request, "inbox/inbox.html#nav", _nav_context(request, inbox, view))


@member_required
def list_fragment(request: HttpRequest, inbox_id: int) -> HttpResponse:
    inbox = access_inbox(acting(request), inbox_id)
    view = request.GET.get("view", "unassigned")
    template = "inbox/inbox.html#list-rows" if request.GET.get("cursor") else "inbox/inbox.html#list"
    return render(request, template, _list_context(request, inbox, view))


@member_required
def thread_fragment(request: HttpRequest, conversation_id: int) -> HttpResponse:
    conversation = access_conversation(acting(request), conversation_id, with_read_mark=True)
    if not is_htmx(request):
        return redirect(
            "conversation", inbox_id=conversation.inbox_id, view="all_open", conversation_id=conversation.pk
        )
    part = "thread-body" if request.GET.get("part") == "body" else "thread"
    return render(request, f"inbox/inbox.html#{part}", _thread_context(request, conversation))


@member_required
def thread_earlier(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """The page of entries before a cursor, with the button for the page before it."""
    conversation = access_conversation(acting(request), conversation_id)
    before = request.GET.get("before", "")
    if queries.decode_entry_cursor(before) is None:
        return HttpResponseBadRequest(_("Unknown position in the thread."), content_type="text/plain; charset=utf-8")
    page = queries.thread(conversation, before=before, limit=queries.THREAD_PAGE, counted_up_to=queries.EARLIER_COUNTED)
    return render(request, "inbox/inbox.html#thread-entries", {**_entry_context(request, conversation), "thread": page})


def _thread_body(request: HttpRequest, conversation_id: int) -> HttpResponse:
    conversation = access_conversation(acting(request), conversation_id, with_read_mark=True)
    return render(request, "inbox/inbox.html#thread-body", _thread_context(request, conversation))


# What can be taken back for a few seconds from the toast: the inverse action and what the toast says
UNDO = {
    "close": ("reopen", gettext_lazy("Conversation closed")),
    "trash": ("restore", gettext_lazy("Moved to Trash")),
    "spam": ("unspam", gettext_lazy("Marked as spam")),
    "block": ("unblock", gettext_lazy("Sender blocked")),
}
BULK_UNDO = {"close": "reopen", "trash": "restore"}


@action_view
def conversation_action(request: HttpRequest, conversation_id: int, action: str) -> HttpResponse:
    user = acting(request)
    conversation = access_conversation(user, conversation_id)
    simple = {
        "close": actions.close_conversation,
        "reopen": actions.reopen_conversation,
        "trash": actions.trash_conversation,
        "restore": actions.restore_conversation,
        "spam": actions.mark_spam,
        "unspam": actions.unmark_spam,
        "block": actions.block_sender,
        "unblock": actions.unblock_sender,
    }
    if action == "reopen" and request.POST.get("undo"):
        # undoing a close puts it back as it was: no re-routing away from its owner
        actions.reopen_conversation(conversation, acting_user=user, reroute=False)
    elif action in simple:
        simple[action](conversation, acting_user=user)
        if action in UNDO:
            inverse, said = UNDO[action]
            response = _thread_body(request, conversation.pk)
            undo = {"text": str(said), "url": reverse("conversation_action", args=[conversation.pk, inverse]),
                    "conversation": conversation.pk}  # fmt: skip
            response["HX-Trigger"] = json.dumps({"samtale:undo": undo})
            return response
    elif action == "delete":
        actions.delete_conversation_forever(conversation, acting_user=user)
        return HttpResponse('<div class="empty-thread">' + _("Deleted forever.") + "</div>")
    elif action == "reply":
        form = forms.ReplyForm(request.POST)
        if not form.is_valid():
            return form_error(form)
        actions.reply_to_conversation(
            conversation,
            acting_user=user,
            text=form.cleaned_data["text"],
            html=form.cleaned_data["html"],
            channel_kind=form.cleaned_data["channel_kind"],
            attachments=forms.reply_files(request),
        )
    elif action == "comment":
        comment_form = forms.CommentForm(request.POST)
        if not comment_form.is_valid():
            return form_error(comment_form)
        actions.add_comment(conversation, acting_user=user, text=comment_form.cleaned_data["text"])
    elif action == "transcript":
        transcript_form = forms.TranscriptForm(request.POST)
        if not transcript_form.is_valid():
            return form_error(transcript_form)
        actions.send_transcript(conversation, acting_user=user, to=transcript_form.cleaned_data["to"])
        response = _thread_body(request, conversation.pk)
        response["HX-Trigger"] = json.dumps({"samtale:toast": _("The transcript is on its way.")})
        return response
    elif action == "assign":
        assign_form = forms.AssignForm(request.POST)
        if not assign_form.is_valid():
            return form_error(assign_form)
        owner_id = assign_form.cleaned_data["owner"]
        owner = access_user(user, owner_id) if owner_id else None
        actions.assign_conversation(conversation, acting_user=user, owner=owner)
    else:
        raise Http404("No such action")
    return _thread_body(request, conversation.pk)


@action_view
def message_action(request: HttpRequest, message_id: int, action: str) -> HttpResponse:
    user = acting(request)
    message = access_message(user, message_id)
    if action == "hide":
        actions.hide_message(message, acting_user=user)
    elif action == "show":
        actions.show_message(message, acting_user=user)
    else:
        raise Http404("No such action")
    return _thread_body(request, message.conversation_id)


@member_required
def message_permalink(request: HttpRequest, message_id: int) -> HttpResponse:
    message = access_message(acting(request), message_id)
    conversation = message.conversation
    view = _home_view_of(conversation)
    url = reverse(
        "conversation", kwargs={"inbox_id": conversation.inbox_id, "view": view, "conversation_id": conversation.pk}
    )
    return HttpResponseRedirect(f"{url}?message={message.pk}#message-{message.pk}")


from samtale.inbox.models import INLINE_IMAGE_TYPES as SAFE_INLINE_TYPES  # noqa: E402


@member_required
def attachment(request: HttpRequest, attachment_id: int) -> HttpResponseBase:
    """Download an attachment; only plain raster images are ever shown inline (never HTML or SVG)."""

    from samtale.inbox.access import access_attachment

    item = access_attachment(acting(request), attachment_id)
    inline = request.GET.get("inline") == "1" and item.content_type in SAFE_INLINE_TYPES
    response = FileResponse(
        item.file.open("rb"),
        as_attachment=not inline,
        filename=item.filename,
        content_type=item.content_type if inline else "application/octet-stream",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["Cache-Control"] = "private, no-cache"  # hiding the message must take it away at once
    return response


@action_view
def message_forward(request: HttpRequest, message_id: int) -> HttpResponse:
    user = acting(request)
    message = access_message(user, message_id)
    form = forms.ForwardForm(request.POST)
    if not form.is_valid():
        return form_error(form)
    actions.forward_message(message, acting_user=user, to=form.cleaned_data["to"], note=form.cleaned_data["note"])
    return _thread_body(request, message.conversation_id)


def _home_view_of(conversation: Conversation) -> str:
    if conversation.trashed_at:
        return "trash"
    if conversation.spam_at:
        return "spam"
    if conversation.filtered_at:
        return "filtered"
    if conversation.awaiting_first_reply:
        return "sent"
    if conversation.status == Status.CLOSED:
        return "all_closed"
    return "all_open"


@action_view
def bulk_action(request: HttpRequest, inbox_id: int) -> HttpResponse:
    user = acting(request)
    inbox = access_inbox(user, inbox_id)
    form = forms.BulkForm(request.POST)
    if not form.is_valid():
        return form_error(form)
    ids = form.cleaned_data["ids"]
    act = {
        "close": actions.bulk_close,
        "trash": actions.bulk_trash,
        "restore": actions.bulk_restore,
        "reopen": actions.bulk_reopen,
    }
    name = form.cleaned_data["action"]
    if name == "delete":
        count = actions.bulk_delete_forever(inbox, acting_user=user, ids=ids)
        changed: list[int] = []
    else:
        changed = act[name](inbox, acting_user=user, ids=ids)
        count = len(changed)
    response = HttpResponse(status=204)
    said = ngettext("%(count)d conversation updated", "%(count)d conversations updated", count) % {"count": count}
    trigger: dict[str, Any] = {"samtale:toast": said}
    if name in BULK_UNDO and changed:
        trigger = {"samtale:undo": {"text": said, "action": BULK_UNDO[name], "ids": changed}}
    response["HX-Trigger"] = json.dumps(trigger)
    return response


@action_view
def compose(request: HttpRequest, inbox_id: int) -> HttpResponse:
    user = acting(request)
    inbox = access_inbox(user, inbox_id)
    form = forms.ComposeForm(request.POST)
    if not form.is_valid():
        return form_error(form)
    channel = access_channel(user, form.cleaned_data["channel"])
    if channel.inbox_id != inbox.pk:
        raise Http404("No such channel")
    conversation = actions.compose_conversation(
        channel,
        acting_user=user,
        to=form.cleaned_data["to"],
        subject=form.cleaned_data["subject"],
        text=form.cleaned_data["text"],
        html=form.cleaned_data["html"],
    )
    response = HttpResponse(status=204)
    response["HX-Redirect"] = reverse(
        "conversation", kwargs={"inbox_id": inbox.pk, "view": "sent", "conversation_id": conversation.pk}
    )
    return response


@action_view
def create_view(request: HttpRequest, inbox_id: int) -> HttpResponse:
    user = acting(request)
    inbox = access_inbox(user, inbox_id)
    form = forms.CustomViewForm(request.POST)
    if not form.is_valid():
        return form_error(form)
    filters = queries.Filters.from_mapping(request.POST)
    view = actions.create_custom_view(
        inbox, acting_user=user, name=form.cleaned_data["name"], filters=filters, shared=form.cleaned_data["shared"]
    )
    response = HttpResponse(status=204)
    response["HX-Redirect"] = reverse("inbox", kwargs={"inbox_id": inbox.pk, "view": f"custom-{view.pk}"})
    return response


@action_view
def update_view(request: HttpRequest, view_id: int) -> HttpResponse:
    """Rename or (un)share a custom view from the views editor, or save the search form's filters
    into it (`filters=1`, from the view's own search bar)."""
    user = acting(request)
    view = access_custom_view(user, view_id)
    if request.POST.get("filters"):
        actions.update_custom_view(view, acting_user=user, filters=queries.Filters.from_mapping(request.POST))
        response = HttpResponse(status=204)
        response["HX-Redirect"] = reverse("inbox", kwargs={"inbox_id": view.inbox_id, "view": view.key})
        return response
    form = forms.CustomViewForm(request.POST)
    if not form.is_valid():
        return form_error(form)
    actions.update_custom_view(
        view, acting_user=user, name=form.cleaned_data["name"], shared=form.cleaned_data["shared"]
    )
    return _views_editor(request, view.inbox)


def _views_editor(request: HttpRequest, inbox: Inbox) -> HttpResponse:
    user = acting(request)
    context = {
        "inbox": inbox,
        "groups": list(_view_groups(user, inbox).items()),
        "is_super_admin": membership_of(user).is_super_admin,
    }
    response = render(request, "inbox/inbox.html#views-editor", context)
    response["HX-Trigger"] = json.dumps({"samtale:views-changed": inbox.pk})  # the nav is redrawn
    return response


@member_required
def views_editor(request: HttpRequest, inbox_id: int) -> HttpResponse:
    return _views_editor(request, access_inbox(acting(request), inbox_id))


@action_view
def arrange_views(request: HttpRequest, inbox_id: int) -> HttpResponse:
    """Hide or show a view, or move it up or down within its group: the user's own layout."""
    from samtale.accounts.actions import set_preferences

    user = acting(request)
    inbox = access_inbox(user, inbox_id)
    key, op = request.POST.get("key", ""), request.POST.get("op", "")
    groups = _view_groups(user, inbox)
    group = next((items for items in groups.values() if any(i["key"] == key for i in items)), None)
    if group is None or op not in {"hide", "show", "up", "down"}:
        raise Http404("No such view")
    prefs = user.preferences or {}
    if op in {"hide", "show"}:
        hidden = queries.hidden_views(prefs) - {key} | ({key} if op == "hide" else set())
        set_preferences(user, acting_user=user, hidden_views=sorted(hidden))
    else:
        keys = [i["key"] for i in group]
        at = keys.index(key)
        to = at - 1 if op == "up" else at + 1
        if 0 <= to < len(keys):
            keys[at], keys[to] = keys[to], keys[at]
        order = [k for items in groups.values() for k in ([*keys] if items is group else [i["key"] for i in items])]
        set_preferences(user, acting_user=user, view_order=order)
    return _views_editor(request, inbox)


@action_view
def save_preference(request: HttpRequest) -> HttpResponse:
    """One on/off layout setting (a collapsed panel, "More" unfolded), remembered for the user."""
    from samtale.accounts.actions import PREFERENCE_FLAGS, set_preferences

    name = request.POST.get("name", "")
    if name.startswith("section:") and request.POST.get("value") in {"0", "1"}:
        return _fold_section(request, name.removeprefix("section:"), folded=request.POST["value"] == "1")
    if name not in PREFERENCE_FLAGS or request.POST.get("value") not in {"0", "1"}:
        return HttpResponseBadRequest(_("Unknown setting."), content_type="text/plain; charset=utf-8")
    user = acting(request)
    set_preferences(user, acting_user=user, **{name: request.POST["value"] == "1"})
    return HttpResponse(status=204)


def _fold_section(request: HttpRequest, key: str, *, folded: bool) -> HttpResponse:
    """A sidebar section folded or unfolded, remembered for the user (any key a section could have)."""
    from samtale.accounts.actions import set_preferences

    user = acting(request)
    folded_now = [k for k in (user.preferences or {}).get("collapsed_sections", []) if k != key]
    try:
        set_preferences(user, acting_user=user, collapsed_sections=[*folded_now, key] if folded else folded_now)
    except ValidationError:
        return HttpResponseBadRequest(_("Unknown setting."), content_type="text/plain; charset=utf-8")
    return HttpResponse(status=204)


@action_view
def delete_view(request: HttpRequest, view_id: int) -> HttpResponse:
    user = acting(request)
    view = access_custom_view(user, view_id)
    inbox_id, key = view.inbox_id, view.key
    actions.delete_custom_view(view, acting_user=user)
    # from the views editor: redraw it, unless the deleted view is the one on screen (then leave it)
    if request.POST.get("editor") and f"/v/{key}/" not in request.headers.get("HX-Current-URL", ""):
        return _views_editor(request, view.inbox)
    response = HttpResponse(status=204)
    response["HX-Redirect"] = reverse("inbox", kwargs={"inbox_id": inbox_id, "view": "unassigned"})
    return response


@member_required
def notifications_fragment(request: HttpRequest) -> HttpResponse:
    user = acting(request)
    return render(
        request,
        "inbox/notifications.html",
        {"notifications": queries.notifications(user), "unread": queries.unread_notifications(user)},
    )


@action_view
def notifications_read(request: HttpRequest) -> HttpResponse:
    user = acting(request)
    actions.mark_notifications_read(user, acting_user=user)
    return notifications_fragment(request)


@action_view
def set_language(request: HttpRequest) -> HttpResponse:
    from samtale.accounts.actions import set_language as set_language_action

    form = forms.LanguageForm(request.POST)
    if not form.is_valid():
        return form_error(form)
    user = acting(request)
    set_language_action(user, acting_user=user, language=form.cleaned_data["language"])
    request.session["language"] = form.cleaned_data["language"]
    target = request.POST.get("next") or "/"
    if not target.startswith("/") or target.startswith("//"):
        target = "/"
    return HttpResponseRedirect(target)
