from django.apps import AppConfig


class InboxConfig(AppConfig):
    name = "samtale.inbox"
    label = "inbox"

    def ready(self) -> None:
        from samtale.accounts.hooks import on_user_removed
        from samtale.inbox.actions import release_conversations_of

        on_user_removed(lambda user, acting_user: release_conversations_of(user, acting_user=acting_user))
