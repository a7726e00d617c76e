"""Full-text search behind one small interface.

The searchable document of a conversation lives in `ConversationSearch.document`; the
database indexes it (PostgreSQL: generated tsvector + GIN; SQLite: FTS5 kept in sync by
triggers). Words are normalized to plain word tokens on both sides, so an address like
`ola@example.com` is found by `ola`, `example.com` or the whole address.
"""

from __future__ import annotations

import re

from django.db import connection
from django.db.models import F, QuerySet, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Concat, Substr

from samtale.inbox.models import Conversation, ConversationSearch

_WORD = re.compile(r"\w+", re.UNICODE)
MAX_DOCUMENT = 200_000


def tokens(text: str) -> list[str]:
    return [t for t in _WORD.findall(text.lower()) if t.replace("_", "")]


def normalize(text: str) -> str:
    return " ".join(tokens(text))


def set_document(conversation: Conversation, parts: list[str], *, new: bool = False) -> None:
    """The conversation's whole document (`new`: the conversation was created in this transaction)."""
    document = normalize(" ".join(p for p in parts if p))[:MAX_DOCUMENT]
    if new:
        ConversationSearch.objects.create(conversation=conversation, document=document)
    else:
        ConversationSearch.objects.update_or_create(conversation=conversation, defaults={"document": document})


def append_to_document(conversation: Conversation, text: str) -> None:
    extra = normalize(text)
    if not extra:
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
