"""The one write path of the inbox: permission, write, audit, event on commit."""

from __future__ import annotations

from samtale.inbox.actions.bulk import (
    bulk_close,
    bulk_delete_forever,
    bulk_reopen,
    bulk_restore,
    bulk_trash,
    purge_trash,
)
from samtale.inbox.actions.comments import add_comment, find_mentions, mark_notifications_read
from samtale.inbox.actions.conversations import (
    BOT_CLOSE_AFTER,
    assign_conversation,
    block_sender,
    change_contact,
    close_conversation,
    close_unattended_bot_conversation,
    delete_conversation_forever,
    hand_over_from_bot,
    mark_spam,
    on_conversation_closed,
    reopen_conversation,
    restore_conversation,
    trash_conversation,
    unblock_sender,
    unmark_spam,
)
from samtale.inbox.actions.custom_views import create_custom_view, delete_custom_view, update_custom_view
from samtale.inbox.actions.hiding import hide_message, show_message
from samtale.inbox.actions.live import agent_seen, agent_typing, send_transcript
from samtale.inbox.actions.people import release_conversations_of
from samtale.inbox.actions.reading import mark_read
from samtale.inbox.actions.receiving import InboundMessage, prepare_inbound, receive_inbound
from samtale.inbox.actions.sending import (
    compose_conversation,
    forward_message,
    record_delivery,
    reply_to_conversation,
    send_automated,
)
from samtale.inbox.actions.setup import (
    add_inbox_member,
    create_channel,
    create_inbox,
    delete_channel,
    mark_channel_broken,
    mark_channel_working,
    on_channel_created,
    remove_inbox_member,
    rename_inbox,
)

__all__ = [
    "BOT_CLOSE_AFTER",
    "InboundMessage",
    "add_comment",
    "add_inbox_member",
    "agent_seen",
    "agent_typing",
    "assign_conversation",
    "block_sender",
    "bulk_close",
    "bulk_delete_forever",
    "bulk_reopen",
    "bulk_restore",
    "bulk_trash",
    "change_contact",
    "close_conversation",
    "close_unattended_bot_conversation",
    "compose_conversation",
    "create_channel",
    "create_custom_view",
    "create_inbox",
    "delete_channel",
    "delete_conversation_forever",
    "delete_custom_view",
    "find_mentions",
    "forward_message",
    "hand_over_from_bot",
    "hide_message",
    "mark_channel_broken",
    "mark_channel_working",
    "mark_notifications_read",
    "mark_read",
    "mark_spam",
    "on_channel_created",
    "on_conversation_closed",
    "prepare_inbound",
    "purge_trash",
    "receive_inbound",
    "record_delivery",
    "release_conversations_of",
    "remove_inbox_member",
    "rename_inbox",
    "reopen_conversation",
    "reply_to_conversation",
    "restore_conversation",
    "send_automated",
    "send_transcript",
    "show_message",
    "trash_conversation",
    "unblock_sender",
    "unmark_spam",
    "update_custom_view",
]
