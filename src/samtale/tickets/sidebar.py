"""Tickets' pieces of the conversation screen (core.sidebar): the ticket's name under the
conversation's title, "close the ticket too" in the Close control, the Ticket card (or Create
ticket) and the contact's other tickets. The conversation's ticket is read once for all of them."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from samtale.accounts.models import User
from samtale.core.sidebar import Section, register
from samtale.tickets import queries
from samtale.tickets.models import Category, Priority

DETAILS_PREFERENCE = "ticket_detail_properties"
# what "View more" can show, and what it shows until a person chooses
DETAILS = {
    "description": _("Description"),
    "category": _("Category"),
    "pipeline": _("Pipeline"),
    "contact": _("Contact"),
    "created_at": _("Created"),
    "created_by": _("Created by"),
    "updated_at": _("Last changed"),
    "closed_at": _("Closed"),
}
DEFAULT_DETAILS = ["description", "category", "pipeline", "created_at"]


CUSTOM = "prop:"  # a custom ticket property's key in the choice: "prop:<key>"


def detail_keys(user: User, custom: dict[str, Any] | None = None) -> list[str]:
    chosen = (user.preferences or {}).get(DETAILS_PREFERENCE)
    keys = chosen if isinstance(chosen, list) else DEFAULT_DETAILS
    return [k for k in keys if k in DETAILS or (custom and k.startswith(CUSTOM) and k[len(CUSTOM) :] in custom)]


def choosable(custom: dict[str, Any]) -> list[tuple[str, Any]]:
    return [*DETAILS.items(), *((CUSTOM + key, d.label) for key, d in custom.items())]


def _members(account_id: int) -> list[User]:
    from samtale.crm.queries import active_teammates

    return active_teammates(account_id)


def ticket_card(conversation: Any, user: User) -> dict[str, Any]:
    """Four queries whether or not there is a ticket: the ticket (with the contact's others), the
    pipelines with their stages (the stage choices, or the creation form's), the teammates and
    the custom ticket properties (what "View more" can show)."""
    from samtale.crm.properties import definitions_of, display_custom

    ticket = queries.ticket_of(conversation)
    custom = definitions_of(conversation.account_id, "ticket")
    keys = detail_keys(user, custom)
    labels = dict(choosable(custom))

    def shown(key: str) -> str:
        if not key.startswith(CUSTOM) or ticket is None:
            return ""
        return display_custom(custom[key[len(CUSTOM) :]], (ticket.properties or {}).get(key[len(CUSTOM) :]))

    return {
        "conversation": conversation,
        "ticket": ticket,
        "pipelines": queries.pipelines(conversation.account_id),
        "members": _members(conversation.account_id),
        "priorities": Priority.choices,
        "categories": Category.choices,
        "details": [(k, labels[k], shown(k)) for k in keys],
        "choosable": list(labels.items()),
        "shown": keys,
    }


def _card(conversation: Any, user: User) -> dict[str, Any] | None:
    return ticket_card(conversation, user)


def _head(conversation: Any, user: User) -> dict[str, Any] | None:
    ticket = queries.ticket_of(conversation)
    return {"ticket": ticket} if ticket is not None else None


def _close(conversation: Any, user: User) -> dict[str, Any] | None:
    ticket = queries.ticket_of(conversation)
    if ticket is None or ticket.is_closed:
        return None
    return {"ticket": ticket, "conversation": conversation}


def _others(conversation: Any, user: User) -> dict[str, Any] | None:
    """The contact's other tickets (five, and whether there are more): read with the ticket."""
    if conversation.contact_id is None:
        return None
    rows, more = queries.other_tickets_of(conversation)
    return {"tickets": rows, "more": more, "contact_id": conversation.contact_id}


CARD = Section(key="ticket", label=_("Ticket"), template="tickets/sidebar_ticket.html", load=_card, order=10)
HEAD = Section(key="ticket-head", label=_("Ticket"), template="tickets/head.html", load=_head, place="head")
CLOSE = Section(key="ticket-close", label=_("Close"), template="tickets/close.html", load=_close, place="close")
OTHERS = Section(
    key="other-tickets", label=_("Other tickets"), template="tickets/sidebar_others.html", load=_others, order=40
)


def install() -> None:
    for section in (CARD, HEAD, CLOSE, OTHERS):
        register(section)
