"""Deals register with the apps below them: the CRM's merge and privacy hooks, the conversation
screen's sidebar (core.sidebar)."""

from __future__ import annotations


def install() -> None:
    from samtale.crm.actions import contacts_merged
    from samtale.crm.privacy import contact_data, contact_forgetting
    from samtale.deals import actions, sidebar

    contacts_merged.register(actions.contacts_merged)
    contact_data.register(actions.contact_data)
    contact_forgetting.register(actions.forget_contact)
    sidebar.install()
