"""Feedback registers with the apps below it: the inbox's conversation hooks, the CRM's merge
and privacy hooks, the conversation screen's sidebar."""

from __future__ import annotations


def install() -> None:
    from samtale.crm.actions import contacts_merged
    from samtale.crm.privacy import contact_data, contact_forgetting
    from samtale.feedback import actions, sidebar
    from samtale.inbox import hooks

    hooks.conversation_closed.register(actions.conversation_closed)
    hooks.conversations_reopened.register(actions.conversations_reopened)
    hooks.conversations_deleting.register(actions.conversations_deleting)
    contacts_merged.register(actions.contacts_merged)
    contact_data.register(actions.contact_data)
    contact_forgetting.register(actions.forget_contact)
    sidebar.install()
