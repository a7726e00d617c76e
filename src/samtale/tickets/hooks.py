"""Tickets register with the apps below them: the inbox's conversation hooks, the CRM's merge
and the conversation screen's pieces (core.sidebar)."""

from __future__ import annotations


def install() -> None:
    from samtale.crm.actions import contacts_merged
    from samtale.inbox import hooks
    from samtale.tickets import actions, sidebar

    hooks.conversations_reopened.register(actions.conversations_reopened)
    hooks.conversations_deleting.register(actions.conversations_deleting)
    hooks.sender_blocked.register(actions.sender_blocked)
    contacts_merged.register(actions.contacts_merged)
    from samtale.crm.actions import property_deleting

    property_deleting.register(actions.property_deleting)
    from samtale.crm.privacy import contact_data, contact_forgetting

    contact_data.register(actions.contact_data)
    contact_forgetting.register(actions.forget_contact)
    sidebar.install()
