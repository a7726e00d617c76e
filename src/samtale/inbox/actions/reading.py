"""How far a teammate has read a conversation (C3: a thread opens at the first new entry)."""

from __future__ import annotations

from datetime import datetime

from django.db import connection
from django.http import Http404

from samtale.accounts.access import membership_of
from samtale.accounts.models import User
from samtale.inbox.models import Conversation, ReadMark

# One statement, safe against two tabs opening the thread at once, and only ever forward (the ORM's
# upsert can't say "only if later"). SQLite and PostgreSQL share this syntax.
_UPSERT = (
    "INSERT INTO inbox_readmark (user_id, conversation_id, read_to) VALUES (%s, %s, %s) "
    "ON CONFLICT (user_id, conversation_id) DO UPDATE SET read_to = excluded.read_to "
    "WHERE inbox_readmark.read_to < excluded.read_to"
)
assert ReadMark._meta.db_table == "inbox_readmark"


def mark_read(user: User, conversation: Conversation, *, up_to: datetime) -> bool:
    """The teammate has seen the conversation's entries up to `up_to`; the mark only moves forward.
    Whether it moved. Private to the teammate, so neither audited (opening a thread changes
    nothing of it) nor published. `conversation` comes from `access_conversation`; one from
    another account is refused all the same."""
    if conversation.account_id != membership_of(user).account_id:
        raise Http404("No such conversation")
    value = ReadMark._meta.get_field("read_to").get_db_prep_save(up_to, connection)
    with connection.cursor() as cursor:
        cursor.execute(_UPSERT, [user.pk, conversation.pk, value])
        return bool(cursor.rowcount)
