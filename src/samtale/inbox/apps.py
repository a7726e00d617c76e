from django.apps import AppConfig


class InboxConfig(AppConfig):
    name = "samtale.inbox"
    label = "inbox"

    def ready(self) -> None:
        from samtale.accounts.hooks import on_user_removed
        from samtale.crm.actions import contacts_merged
        from samtale.crm.queries import visible_inboxes
        from samtale.inbox.access import visible_inbox_ids
        from samtale.inbox.actions import release_conversations_of
        from samtale.inbox.actions.conversations import move_conversations_to_contact

        on_user_removed(lambda user, acting_user: release_conversations_of(user, acting_user=acting_user))
        contacts_merged.register(move_conversations_to_contact)
        visible_inboxes.register(visible_inbox_ids)
        from samtale.crm.privacy import contact_data, contact_forgetting
        from samtale.inbox.actions import privacy

        contact_data.register(privacy.contact_data)
        contact_forgetting.register(privacy.forget_contact)
