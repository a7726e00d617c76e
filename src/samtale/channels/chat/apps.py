from django.apps import AppConfig


class ChatConfig(AppConfig):
    name = "samtale.channels.chat"
    label = "chat"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from samtale.channels.chat.actions import move_visitors_to_contact, on_closed, set_up_new_channel
        from samtale.channels.chat.adapter import ChatAdapter
        from samtale.crm.actions import contacts_merged
        from samtale.inbox.actions import on_channel_created, on_conversation_closed
        from samtale.inbox.adapters import register

        register(ChatAdapter())
        from samtale.channels.chat import survey
        from samtale.feedback.delivery import register_sender

        register_sender("chat", survey.offer, survey.visitor_language)
        contacts_merged.register(move_visitors_to_contact)
        on_channel_created(set_up_new_channel)
        on_conversation_closed(on_closed)
