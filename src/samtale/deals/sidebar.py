"""Deals' section of the conversation sidebar (core.sidebar): the contact's deals with their
stage and amount, and Create deal (prefilled from the conversation)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from samtale.accounts.models import User
from samtale.core.sidebar import Section, register
from samtale.deals import queries
from samtale.deals.models import CURRENCIES


def deals_section(conversation: Any, user: User) -> dict[str, Any] | None:
    """Two queries: the contact's deals (five, and whether there are more), the deal pipelines
    with their stages (the creation form's choices)."""
    if conversation.contact_id is None:
        return None
    rows, more = queries.of_contact(conversation.contact_id)
    return {"conversation": conversation, "deals": rows, "more": more,
            "pipelines": queries.pipelines(conversation.account_id), "currencies": CURRENCIES}  # fmt: skip


def _on_contact(contact: Any, user: User) -> dict[str, Any] | None:
    rows, more = queries.of_contact(contact.pk, limit=20)
    return {"deals": rows, "more": more, "contact_id": contact.pk}


def _on_company(company: Any, user: User) -> dict[str, Any] | None:
    return {"deals": queries.of_company(company.pk), "more": False}


CONTACT_DEALS = Section(key="contact-deals", label=_("Deals"), template="deals/record_deals.html", load=_on_contact,
                        place="contact-record")  # fmt: skip
COMPANY_DEALS = Section(key="company-deals", label=_("Deals"), template="deals/record_deals.html", load=_on_company,
                        place="company-record")  # fmt: skip
DEALS = Section(key="deals", label=_("Deals"), template="deals/sidebar_deals.html", load=deals_section, order=50)


def install() -> None:
    for section in (DEALS, CONTACT_DEALS, COMPANY_DEALS):
        register(section)
