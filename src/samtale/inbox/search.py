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


def _words(query: str) -> list[str]:
    words = [w.replace("_", " ").strip() for w in tokens(query)][:12]
    return [w for w in words if w]


FTS5_ALL = "SELECT rowid FROM inbox_conversation_fts WHERE inbox_conversation_fts MATCH %s"
FTS5_RANGE = FTS5_ALL + " AND rowid BETWEEN %s AND %s"
TSV_ALL = "SELECT conversation_id FROM inbox_conversationsearch WHERE tsv @@ to_tsquery('simple', %s)"
TSV_AMONG = TSV_ALL + " AND conversation_id = ANY(%s)"
WALK_SPREAD = 64  # SQLite: ids of a chunk spread wider than this many times its length: all matches read once


class TextSearch:
    """The words of a search (each a prefix, all of them required) against the search index:
    SQLite's FTS5 table or PostgreSQL's tsvector with its GIN index. How a page of results is
    found with it is `queries.conversation_page`."""

    def __init__(self, words: list[str]) -> None:
        self.postgres = connection.vendor == "postgresql"
        if self.postgres:
            self.term = " & ".join(f"{part}:*" for w in words for part in w.split())
        else:
            self.term = " ".join(f'"{w}"*' for w in words)
        self.everything: set[int] | None = None

    def filter(self, qs: QuerySet[Conversation]) -> QuerySet[Conversation]:
        """`qs` narrowed to the matches (their ids are collected first: right when they are few)."""
        if self.postgres:  # an InitPlan: the ids first, then those rows by key
            return qs.extra(where=[f"inbox_conversation.id = ANY(ARRAY({TSV_ALL}))"], params=[self.term])  # noqa: S610 - constant SQL, the query is a parameter
        return qs.filter(pk__in=RawSQL(FTS5_ALL, [self.term]))  # noqa: S611 - constant SQL, the query is a parameter

    def first_matches(self, qs: QuerySet[Conversation], cap: int) -> list[int]:
        """Ids of up to `cap` conversations of `qs` that match, in no particular order: the index's
        matches are taken in turn and each looked up by key, so the cap bounds the work."""
        if self.postgres:
            table, where = (
                "inbox_conversationsearch",
                [
                    "inbox_conversationsearch.conversation_id = inbox_conversation.id",
                    "inbox_conversationsearch.tsv @@ to_tsquery('simple', %s)",
                ],
            )
        else:
            table, where = (
                "inbox_conversation_fts",
                [
                    "inbox_conversation_fts.rowid = inbox_conversation.id",
                    "inbox_conversation_fts MATCH %s",
                ],
            )
        joined = qs.order_by().extra(tables=[table], where=where, params=[self.term])  # noqa: S610 - constant SQL
        return list(joined.values_list("id", flat=True)[:cap])

    def matches(self, ids: list[int]) -> set[int]:
        """Which of `ids` match. PostgreSQL tests each row's vector; SQLite's index cannot test one
        row cheaply, so it is asked for its matches over the range of the ids (rows shown together
        are mostly close in age, so the range is narrow); should the ids lie far apart, every
        match is read once and kept for the calls that follow."""
        with connection.cursor() as cursor:
            if self.postgres:
                cursor.execute(TSV_AMONG, [self.term, ids])
                return {pk for (pk,) in cursor.fetchall()}
            lo, hi = min(ids), max(ids)
            if self.everything is None and hi - lo > WALK_SPREAD * len(ids):
                cursor.execute(FTS5_ALL, [self.term])
                self.everything = {pk for (pk,) in cursor.fetchall()}
            if self.everything is not None:
                return self.everything.intersection(ids)
            cursor.execute(FTS5_RANGE, [self.term, lo, hi])
            return {pk for (pk,) in cursor.fetchall()}.intersection(ids)


def text_search(query: str) -> TextSearch | None:
    """The search for `query`'s words, or None when it has none."""
    words = _words(query)
    return TextSearch(words) if words else None


def matching(qs: QuerySet[Conversation], query: str) -> QuerySet[Conversation]:
    """Conversations of `qs` whose document contains every word of `query` (as a prefix), for
    any use; the list and the API page through a search with `queries.conversation_page`."""
    text = text_search(query)
    return qs if text is None else text.filter(qs)


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
