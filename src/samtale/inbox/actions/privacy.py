"""The inbox's part of a contact's data protection rights (crm.privacy): their conversations in
the export, and deleted for good with them; and the files of conversations deleted for good go
from storage with them."""

from __future__ import annotations

from typing import Any

from samtale.accounts.models import User
from samtale.crm.actions import forget_timeline_subjects
from samtale.crm.models import Contact
from samtale.crm.privacy import delete_files_on_commit
from samtale.inbox import events
from samtale.inbox.counters import counted
from samtale.inbox.hooks import conversations_deleting
from samtale.inbox.models import Attachment, Conversation


def files_of(conversation_ids: list[int]) -> list[str]:
    return list(Attachment.objects.filter(message__conversation_id__in=conversation_ids).values_list("file", flat=True))


def delete_for_good(conversations: list[Conversation], acting_user: User | None) -> int:
    """Conversations, their messages, comments, files and search entries gone (inside the caller's
    transaction): the apps above first (a ticket), then the rows, then, after commit, the files."""
    from samtale.core.events import publish_on_commit

    pks = [c.pk for c in conversations]
    if not pks:
        return 0
    names = files_of(pks)
    with counted(conversations, deleted=True):
        conversations_deleting(conversations, acting_user)
        forget_timeline_subjects("conversation", pks)
        Conversation.objects.filter(pk__in=pks).delete()
    delete_files_on_commit(names)
    for inbox_id in {c.inbox_id for c in conversations}:
        changed = [c.pk for c in conversations if c.inbox_id == inbox_id]
        publish_on_commit(events.conversations_changed(inbox_id, changed, "deleted"))
    return len(pks)


def contact_data(contact: Contact) -> tuple[str, Any, list[tuple[str, str]]]:
    """Every conversation with the contact: its messages (hidden ones too, marked: they are still
    held), comments and files."""
    rows = []
    files: list[tuple[str, str]] = []
    conversations = Conversation.objects.filter(contact=contact).select_related("inbox").order_by("created_at", "id")
    for conversation in conversations:
        messages = []
        for message in conversation.messages.prefetch_related("attachments").order_by("created_at", "id"):
            attached = []
            for a in message.attachments.all():
                inside = f"files/{conversation.pk}/{message.pk}/{a.pk}-{a.filename.replace('/', '_')[:120]}"
                files.append((inside, a.file.name or ""))
                attached.append(
                    {"filename": a.filename, "content_type": a.content_type, "size": a.size, "in_archive": inside}
                )
            messages.append({
                "at": message.created_at.isoformat(), "direction": message.direction, "channel": message.channel_kind,
                "from": message.sender_address, "name": message.sender_name, "to": message.recipients,
                "text": message.text, "hidden": message.hidden_at is not None, "attachments": attached,
            })  # fmt: skip
        comments = [{"at": c.created_at.isoformat(), "by": c.author.name if c.author else None, "text": c.text}
                    for c in conversation.comments.select_related("author")]  # fmt: skip
        rows.append({
            "id": conversation.pk, "inbox": conversation.inbox.name, "channel": conversation.channel_kind,
            "subject": conversation.subject, "status": conversation.status, "started": conversation.created_at.isoformat(),
            "messages": messages, "comments": comments,
        })  # fmt: skip
    return "conversations", rows, files


def forget_contact(contact: Contact, acting_user: User | None) -> tuple[str, int]:
    conversations = list(Conversation.objects.filter(contact=contact))
    return "conversations", delete_for_good(conversations, acting_user)
