"""Full-text search behind one small interface.

The searchable document of a conversation lives in `ConversationSearch.document`; the
database indexes it (PostgreSQL: generated tsvector + GIN; SQLite: FTS5 kept in sync by
triggers). Words are normalized to plain word tokens on both sides, so an address like
`ola@example.com` is found by `ola`, `example.com` or the whole address.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from django.db import connection, transaction
from django.db.models import F, QuerySet, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Concat, Substr

from samtale.core import batching
from samtale.inbox.models import Conversation, ConversationSearch, SearchBacklog

_WORD = re.compile(r"\w+", re.UNICODE)
MAX_DOCUMENT = 200_000


def tokens(text: str) -> list[str]:
    return [t for t in _WORD.findall(text.lower()) if t.replace("_", "")]


def normalize(text: str) -> str:
    return " ".join(tokens(text))


def _deferred(conversation: Conversation, text: str) -> bool:
    """In a batch on PostgreSQL: the text is queued (one INSERT for the batch) and indexed after
    the commit by `drain` (its tokenising — PostgreSQL's parser, ~3 ms per 12 KB — is then not
    part of storing the mail). SQLite's FTS5 indexes fast enough in the transaction."""
    scope = batching.current()
    if scope is None or connection.vendor != "postgresql":
        return False
    scope.add("search", SearchBacklog(conversation_id=conversation.pk, text=text), _queue)
    return True


def _queue(rows: list[SearchBacklog]) -> None:
    SearchBacklog.objects.bulk_create(rows)
    transaction.on_commit(_wake_indexers, robust=True)


def _wake_indexers() -> None:
    for wake in list(_wakers):
        wake()


_wakers: list[Callable[[], None]] = []  # the indexer loops of this process (`on_queued`)


def on_queued(wake: Callable[[], None]) -> None:
    _wakers.append(wake)


def off_queued(wake: Callable[[], None]) -> None:
    if wake in _wakers:
        _wakers.remove(wake)


def drain(limit: int = 500) -> int:
    """Index queued text (oldest first, each conversation's in order, one statement per
    conversation); returns how many rows were indexed. Safe to run in many processes at once."""
    with transaction.atomic():
        rows = list(
            SearchBacklog.objects.select_for_update(skip_locked=True)
            .order_by("id")
            .values_list("id", "conversation_id", "text")[:limit]
        )
        if not rows:
            return 0
        texts: dict[int, list[str]] = {}
        for _pk, conversation_id, text in rows:
            texts.setdefault(conversation_id, []).append(text)
        table = connection.ops.quote_name(ConversationSearch._meta.db_table)
        with connection.cursor() as cursor:
            cursor.executemany(
                f"INSERT INTO {table} (conversation_id, document) VALUES (%s, %s)"  # noqa: S608 - the model's table
                " ON CONFLICT (conversation_id) DO UPDATE SET document ="
                f" substr({table}.document || ' ' || EXCLUDED.document, 1, {MAX_DOCUMENT})",
                [(cid, " ".join(t for t in parts if t)[:MAX_DOCUMENT]) for cid, parts in sorted(texts.items())],
            )
        SearchBacklog.objects.filter(pk__in=[pk for pk, _c, _t in rows]).delete()
    return len(rows)


def set_document(conversation: Conversation, parts: list[str], *, new: bool = False, normalized: bool = False) -> None:
    """The conversation's whole document (`new`: the conversation was created in this transaction;
    `normalized`: the parts went through `normalize` already, e.g. before the transaction)."""
    joined = " ".join(p for p in parts if p)
    document = (joined if normalized else normalize(joined))[:MAX_DOCUMENT]
    if new and _deferred(conversation, document):
        return
    if not new and connection.vendor == "postgresql":
        # the whole document is written from the messages as they are now: text still queued
        # for it (a hidden message's, say) must not be appended after
        SearchBacklog.objects.filter(conversation=conversation).delete()
    if new:
        ConversationSearch.objects.create(conversation=conversation, document=document)
    else:
        ConversationSearch.objects.update_or_create(conversation=conversation, defaults={"document": document})


def append_to_document(conversation: Conversation, text: str, *, normalized: bool = False) -> None:
    extra = text if normalized else normalize(text)
    if not extra or _deferred(conversation, extra):
        return
    # One statement: the stored document is extended where it lies, never read back and rewritten.
    appended = Substr(Concat(F("document"), Value(" " + extra)), 1, MAX_DOCUMENT)
    if not ConversationSearch.objects.filter(conversation=conversation).update(document=appended):
        ConversationSearch.objects.get_or_create(conversation=conversation, defaults={"document": extra})


BROAD = 2000  # at least this many matches (and 5% of all conversations) makes a search "broad"
BROAD_SHARE = 0.05


def matching(qs: QuerySet[Conversation], query: str) -> QuerySet[Conversation]:
    """Conversations of `qs` whose document contains every word of `query` (as a prefix).

    On PostgreSQL, two plans, chosen by how many documents match (a cheap capped probe): a
    narrow search collects the matching ids first; a broad one walks the conversations in
    the order shown and checks each against the index, so the first page needs few checks.
    SQLite's FTS5 cannot check one row cheaply, so it always collects the ids first.
    """
    words = [w.replace("_", " ").strip() for w in tokens(query)][:12]
    words = [w for w in words if w]
    if not words:
        return qs
    if connection.vendor == "postgresql":
        term = " & ".join(f"{part}:*" for w in words for part in w.split())
        narrow = "SELECT conversation_id FROM inbox_conversationsearch WHERE tsv @@ to_tsquery('simple', %s)"
        # OFFSET 0 keeps this a per-row check (not a semi-join that would collect every match).
        broad = (
            "EXISTS (SELECT 1 FROM inbox_conversationsearch s WHERE s.conversation_id = inbox_conversation.id"
            " AND s.tsv @@ to_tsquery('simple', %s) OFFSET 0)"
        )
    else:
        term = " ".join(f'"{w}"*' for w in words)
        sql = "SELECT rowid FROM inbox_conversation_fts WHERE inbox_conversation_fts MATCH %s"
        return qs.filter(pk__in=RawSQL(sql, [term]))  # noqa: S611 - constant SQL, the query is a parameter
    with connection.cursor() as cursor:
        # The planner cannot estimate prefix queries, so measure: count matches up to a limit.
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'inbox_conversation'")
        row = cursor.fetchone()
        limit = max(BROAD, int(max(row[0] if row else 0, 0) * BROAD_SHARE))
        cursor.execute(f"SELECT count(*) FROM ({narrow} LIMIT {limit + 1}) AS probe", [term])  # noqa: S608 - constant SQL
        matches = cursor.fetchone()[0]
    if matches <= limit:
        # Few enough: take the ids first (an InitPlan), then fetch those rows by key.
        ids_first = f"inbox_conversation.id = ANY(ARRAY({narrow}))"
        return qs.extra(where=[ids_first], params=[term])  # noqa: S610 - constant SQL, the query is a parameter
    return qs.extra(where=[broad], params=[term])  # noqa: S610 - constant SQL, the query is a parameter


SQLITE_SETUP = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS inbox_conversation_fts USING fts5(document, tokenize='unicode61 remove_diacritics 2')",
    """CREATE TRIGGER IF NOT EXISTS inbox_conversationsearch_ai AFTER INSERT ON inbox_conversationsearch BEGIN
         INSERT INTO inbox_conversation_fts(rowid, document) VALUES (new.conversation_id, new.document);
       END""",
    """CREATE TRIGGER IF NOT EXISTS inbox_conversationsearch_au AFTER UPDATE ON inbox_conversationsearch BEGIN
         UPDATE inbox_conversation_fts SET document = new.document WHERE rowid = old.conversation_id;
       END""",
    """CREATE TRIGGER IF NOT EXISTS inbox_conversationsearch_ad AFTER DELETE ON inbox_conversationsearch BEGIN
         DELETE FROM inbox_conversation_fts WHERE rowid = old.conversation_id;
       END""",
]
SQLITE_TEARDOWN = [
    "DROP TRIGGER IF EXISTS inbox_conversationsearch_ai",
    "DROP TRIGGER IF EXISTS inbox_conversationsearch_au",
    "DROP TRIGGER IF EXISTS inbox_conversationsearch_ad",
    "DROP TABLE IF EXISTS inbox_conversation_fts",
]
POSTGRES_SETUP = [
    "ALTER TABLE inbox_conversationsearch ADD COLUMN tsv tsvector "
    "GENERATED ALWAYS AS (to_tsvector('simple', document)) STORED",
    "CREATE INDEX inbox_conversationsearch_tsv ON inbox_conversationsearch USING GIN (tsv)",
]
# A reply extends the document; re-tokenising all of it (the generated column did, ~3 ms per 12 KB
# with PostgreSQL's parser, on every reply of a long thread) is replaced by a trigger that, when
# the new document extends the old one, tokenises only what was added and appends it to the
# stored vector. Any other change (a rewrite, a hidden message) is tokenised whole.
POSTGRES_INCREMENTAL = [
    "ALTER TABLE inbox_conversationsearch ALTER COLUMN tsv DROP EXPRESSION",
    """CREATE FUNCTION inbox_conversationsearch_tsv() RETURNS trigger LANGUAGE plpgsql AS $$
       DECLARE kept integer;
       BEGIN
         IF TG_OP = 'UPDATE' THEN
           kept := length(OLD.document);
           IF length(NEW.document) >= kept AND left(NEW.document, kept) = OLD.document AND OLD.tsv IS NOT NULL THEN
             IF length(NEW.document) > kept THEN
               NEW.tsv := OLD.tsv || to_tsvector('simple', substr(NEW.document, kept + 1));
             END IF;
             RETURN NEW;
           END IF;
         END IF;
         NEW.tsv := to_tsvector('simple', NEW.document);
         RETURN NEW;
       END $$""",
    """CREATE TRIGGER inbox_conversationsearch_tsv BEFORE INSERT OR UPDATE OF document ON inbox_conversationsearch
       FOR EACH ROW EXECUTE FUNCTION inbox_conversationsearch_tsv()""",
]
POSTGRES_INCREMENTAL_TEARDOWN = [
    "DROP TRIGGER IF EXISTS inbox_conversationsearch_tsv ON inbox_conversationsearch",
    "DROP FUNCTION IF EXISTS inbox_conversationsearch_tsv()",
    "DROP INDEX IF EXISTS inbox_conversationsearch_tsv",
    "ALTER TABLE inbox_conversationsearch DROP COLUMN IF EXISTS tsv",
    *POSTGRES_SETUP,
]
POSTGRES_TEARDOWN = [
    "DROP INDEX IF EXISTS inbox_conversationsearch_tsv",
    "ALTER TABLE inbox_conversationsearch DROP COLUMN IF EXISTS tsv",
]
