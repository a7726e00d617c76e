"""Where the contact record meets the inbox (entry-point layer: crm knows no inboxes): a new
email from the record, and a conversation's link from the timeline."""

from __future__ import annotations

from django import forms
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from samtale.accounts.access import membership_of
from samtale.accounts.http import acting, action_view, form_error, member_required
from samtale.core.bounds import parse_id
from samtale.crm.queries import contact_or_404
from samtale.inbox import actions
from samtale.inbox.access import access_conversation, accessible_inboxes
from samtale.inbox.models import Channel, ChannelKind


class ContactEmailForm(forms.Form):
    channel = forms.IntegerField(label=_("From"))
    subject = forms.CharField(max_length=500, label=_("Subject"))
    text = forms.CharField(max_length=200_000, label=_("Message"), widget=forms.Textarea)


@member_required
def contact_compose(request: HttpRequest, contact_id: int) -> HttpResponse:
    """GET: a new email to the contact from one of the user's inboxes' email addresses; POST: send
    it (a new conversation in Sent, on the contact's timeline), then open it."""
    user = acting(request)
    contact = contact_or_404(membership_of(user).account_id, contact_id)
    if not contact.email:
        raise Http404("The contact has no email address")
    channels = list(
        Channel.objects.filter(inbox__in=accessible_inboxes(user), kind=ChannelKind.EMAIL)
        .select_related("inbox")
        .order_by("inbox__name", "id")
    )
    if request.method == "POST":
        form = ContactEmailForm(request.POST)
        if not form.is_valid():
            return form_error(form)
        channel = next((c for c in channels if c.pk == form.cleaned_data["channel"]), None)
        if channel is None:
            raise Http404("No such channel")
        conversation = actions.compose_conversation(
            channel, acting_user=user, to=contact.email, subject=form.cleaned_data["subject"],
            text=form.cleaned_data["text"], contact=contact,
        )  # fmt: skip
        return HttpResponseRedirect(
            reverse(
                "conversation",
                kwargs={"inbox_id": channel.inbox_id, "view": "sent", "conversation_id": conversation.pk},
            )
        )
    return render(request, "crm/compose.html", {"section": "contacts", "contact": contact, "channels": channels})


@member_required
def conversation_permalink(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """A conversation wherever it is now (the view its state puts it in)."""
    from samtale.web.views import _home_view_of

    conversation = access_conversation(acting(request), conversation_id)
    return HttpResponseRedirect(
        reverse(
            "conversation",
            kwargs={
                "inbox_id": conversation.inbox_id,
                "view": _home_view_of(conversation),
                "conversation_id": conversation.pk,
            },
        )
    )


@member_required
def conversation_contact_search(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """Contacts to associate with the conversation instead (a search as the teammate types)."""
    from samtale.crm import queries as crm_queries

    user = acting(request)
    conversation = access_conversation(user, conversation_id)
    query = str(request.GET.get("q", ""))[:200]
    found = []
    if query.strip():
        filters = crm_queries.ContactFilters(q=query)
        found = [
            c for c in crm_queries.contact_page(conversation.account_id, filters, size=8).contacts
            if c.pk != conversation.contact_id
        ]  # fmt: skip
    return render(request, "crm/contact_choices.html", {"conversation": conversation, "found": found, "query": query})


@action_view
def conversation_contact(request: HttpRequest, conversation_id: int) -> HttpResponse:
    """Associate another contact with the conversation (`contact`), or none (empty)."""
    user = acting(request)
    conversation = access_conversation(user, conversation_id)
    wanted = parse_id(str(request.POST.get("contact", "")))
    contact = contact_or_404(conversation.account_id, wanted) if wanted is not None else None
    actions.change_contact(conversation, contact=contact, acting_user=user)
    response = HttpResponse(status=204)
    response["HX-Refresh"] = "true"  # (the thread, its sidebar and the list all show the contact)
    return response
