"""Contacts in from a CSV file (D1): upload (size, encoding, delimiter and header read from its
start; a file over the limit, with too many columns or that is no CSV refused with the reason),
map its columns to properties (guessed from the header names in English and Norwegian), choose
what a row whose email is already a contact's does (update it or skip it), then the rows are
read in the background a chunk at a time, each chunk one transaction that also records how far
it got, so a worker that dies resumes where it stopped (`resume_stalled`).

A file is hostile: every cell is bounded (`FIELD_LIMIT`), a row is checked by the same actions
and rules as a teammate's edit (`actions.update_contact`), a row that fails is reported (its
number, why, what it held) and never stops the others; a cell that is a spreadsheet formula is
refused; bytes that are not text in the file's encoding are a row error; a quote never closed
stops the import at that row with the rows before it kept."""

from __future__ import annotations

import codecs
import contextlib
import csv
import io
import logging
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import IO, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from samtale.accounts.models import Account, User
from samtale.core import batching
from samtale.core.audit import audit
from samtale.core.clock import now
from samtale.crm import actions
from samtale.crm.actions import require_crm_admin
from samtale.crm.identities import IdentityKind, normalize
from samtale.crm.models import Contact, ContactIdentity, ContactImport, ContactImportError, ImportStatus
from samtale.crm.properties import Property, all_properties

log = logging.getLogger(__name__)

MAX_COLUMNS = 200
FIELD_LIMIT = 10_000  # characters in one cell
READ_LIMIT = 100_000  # what the csv module holds of one field before it gives up (a quote never closed)
CHUNK = 500  # rows per transaction
PREVIEW_ROWS = 5
KEPT_ERRORS = 10_000  # error rows kept for the report; past that they are only counted
STALLED_AFTER = timedelta(minutes=2)
csv.field_size_limit(READ_LIMIT)

# header names (folded) a column is guessed to be, per property
GUESSES: dict[str, tuple[str, ...]] = {
    "email": ("email", "e-mail", "email address", "e-mail address", "e-post", "epost", "e-postadresse", "mail"),
    "name": ("name", "full name", "navn", "fullt navn", "kontakt", "contact"),
    "first_name": ("first name", "firstname", "given name", "fornavn"),
    "last_name": ("last name", "lastname", "surname", "family name", "etternavn"),
    "phone": ("phone", "phone number", "telephone", "mobile", "telefon", "telefonnummer", "mobil", "tlf"),
    "company": ("company", "company name", "organisation", "organization", "firma", "bedrift", "selskap"),
    "job_title": ("job title", "title", "position", "stilling", "tittel"),
    "language": ("language", "språk"),
    "lifecycle_stage": ("lifecycle stage", "stage", "livssyklus"),
}


def max_bytes() -> int:
    return int(getattr(settings, "SAMTALE_IMPORT_MAX_BYTES", 50 * 1024 * 1024))


def _encoding(head: bytes) -> str:
    """UTF-8 (with or without its BOM) when the start of the file is UTF-8, else Windows-1252."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return "cp1252"
    return "utf-8"


def _delimiter(first_line: str) -> str:
    """The one of ; , and tab that the header line uses most (outside quotes)."""
    counts = {";": 0, ",": 0, "\t": 0}
    quoted = False
    for char in first_line[:20_000]:
        if char == '"':
            quoted = not quoted
        elif not quoted and char in counts:
            counts[char] += 1
    best = max(counts, key=lambda c: counts[c])
    return best if counts[best] else ","


def _text(stream: IO[bytes], encoding: str) -> io.TextIOWrapper:
    # bytes that are not text in this encoding become lone surrogates: the row holding them is
    # reported, the others are read
    return io.TextIOWrapper(stream, encoding=encoding, errors="surrogateescape", newline="")


def _fold(text: str) -> str:
    return " ".join(text.replace("_", " ").casefold().split())


def _not_text(cells: list[str]) -> bool:
    return any("\udc80" <= ch <= "\udcff" for cell in cells for ch in cell)


def upload(account: Account, *, acting_user: User, name: str, stream: IO[bytes], size: int) -> ContactImport:
    """The file stored and its start read: encoding, delimiter, header; refused with the reason
    when it is too large, has no header or too many columns, or is no CSV."""
    require_crm_admin(acting_user, account.pk)
    limit = max_bytes()
    if size > limit:
        raise ValidationError({"file": [_("The file is %(size)s MB; at most %(limit)s MB.")
                                        % {"size": size // (1024 * 1024), "limit": limit // (1024 * 1024)}]})  # fmt: skip
    head = stream.read(64 * 1024)
    if b"\x00" in head:
        raise ValidationError({"file": [_("This is not a CSV file (it holds binary data).")]})
    encoding = _encoding(head)
    text = head.decode(encoding, errors="replace")
    first_line = text.split("\n", 1)[0]
    delimiter = _delimiter(first_line)
    try:
        header = next(csv.reader(io.StringIO(text), delimiter=delimiter), [])
    except csv.Error:
        header = []
    header = [" ".join(h.split())[:100] for h in header]
    if not any(header):
        raise ValidationError({"file": [_("The file's first row should name its columns.")]})
    if len(header) > MAX_COLUMNS:
        raise ValidationError({"file": [_("The file has %(n)s columns; at most %(limit)s.")
                                        % {"n": len(header), "limit": MAX_COLUMNS}]})  # fmt: skip
    lines = max(1, text.count("\n") - 1)
    per_row = max(1, len(head) // (lines + 1))
    stream.seek(0)
    stored = default_storage.save(f"imports/{uuid.uuid4().hex}.csv", stream)
    contact_import = ContactImport.objects.create(
        account=account, created_by=acting_user, file=stored, filename=name[:255], size=size, encoding=encoding,
        delimiter=delimiter, header=header, mapping=guess_mapping(account.pk, header),
        estimated_rows=max(0, size // per_row - 1),
    )  # fmt: skip
    audit(account, acting_user, "contact.import_uploaded", contact_import, size=size)
    return contact_import


FULL_NAME = Property("name", gettext_lazy("Full name"), "text")


def importable(account_id: int) -> list[Any]:
    """The properties a column can fill: the full name (split into first and last), the editable
    standard ones and the custom ones."""
    return [FULL_NAME, *(p for p in all_properties(account_id) if p.editable)]


def guess_mapping(account_id: int, header: list[str]) -> dict[str, str]:
    guesses = {name: key for key, names in GUESSES.items() for name in names}
    for prop in importable(account_id):
        guesses.setdefault(_fold(str(prop.label)), prop.key)
        guesses.setdefault(_fold(prop.key), prop.key)
    mapping: dict[str, str] = {}
    for index, name in enumerate(header):
        key = guesses.get(_fold(name))
        if key and key not in mapping.values():
            mapping[str(index)] = key
    return mapping


def rows(contact_import: ContactImport) -> Iterator[tuple[int, list[str]]]:
    """(row number in the file, cells) after the header; a csv.Error ends it (raised)."""
    with default_storage.open(contact_import.file, "rb") as stream:
        reader = csv.reader(_text(stream, contact_import.encoding), delimiter=contact_import.delimiter)
        next(reader, None)
        for cells in reader:
            yield reader.line_num, cells


def preview(contact_import: ContactImport) -> list[list[str]]:
    shown = []
    try:
        for _n, cells in rows(contact_import):
            shown.append([c[:200] for c in cells[: len(contact_import.header)]])
            if len(shown) == PREVIEW_ROWS:
                break
    except csv.Error:
        pass
    return shown


def start(contact_import: ContactImport, *, acting_user: User, mapping: dict[str, str], duplicates: str) -> None:
    """Columns mapped (column index → property key, each property at most once), then queued."""
    require_crm_admin(acting_user, contact_import.account_id)
    if contact_import.status != ImportStatus.UPLOADED:
        raise ValidationError(_("This import has started already."))
    keys = {p.key for p in importable(contact_import.account_id)}
    cleaned: dict[str, str] = {}
    for column, key in mapping.items():
        if not key:
            continue
        if not column.isdigit() or int(column) >= len(contact_import.header) or key not in keys:
            raise ValidationError({"mapping": [_("Choose a property of the list for each column.")]})
        if key in cleaned.values():
            raise ValidationError({"mapping": [_("Two columns fill %(key)s.") % {"key": key}]})
        cleaned[column] = key
    if not {"email", "name", "first_name", "last_name", "phone"} & set(cleaned.values()):
        raise ValidationError({"mapping": [_("Map a column to the email, the name or the phone number.")]})
    if duplicates not in ("update", "skip"):
        raise ValidationError({"duplicates": [_("Choose one of the options.")]})
    from samtale.crm.tasks import run_contact_import

    with transaction.atomic():
        contact_import.mapping, contact_import.duplicates = cleaned, duplicates
        contact_import.status = ImportStatus.QUEUED
        contact_import.save(update_fields=["mapping", "duplicates", "status"])
        audit(contact_import.account, acting_user, "contact.import_started", contact_import)
        pk = contact_import.pk
        transaction.on_commit(lambda: run_contact_import.enqueue(pk))


class _Stop(Exception):
    """The file cannot be read past this row (a quote never closed, a broken encoding)."""


def run(import_id: int) -> str:
    """Import the rows not yet imported, a chunk per transaction; returns the status."""
    from django.db.models import Q

    # one runner at a time: it takes the import when queued, or when its runner has stopped beating
    taken = (
        ContactImport.objects.filter(pk=import_id)
        .filter(
            Q(status=ImportStatus.QUEUED)
            | Q(status=ImportStatus.RUNNING, heartbeat_at__lt=now() - STALLED_AFTER)
            | Q(status=ImportStatus.RUNNING, heartbeat_at__isnull=True)
        )
        .update(status=ImportStatus.RUNNING, heartbeat_at=now())
    )
    contact_import = ContactImport.objects.select_related("account", "created_by").filter(pk=import_id).first()
    if contact_import is None or not taken:
        return contact_import.status if contact_import else "gone"
    if contact_import.started_at is None:
        contact_import.started_at = now()
        contact_import.save(update_fields=["started_at"])
    actor = contact_import.created_by
    if actor is None:  # removed since: nobody's word is behind the rows any more
        contact_import.status, contact_import.error = ImportStatus.FAILED, _("The teammate who started it is gone.")
        contact_import.save(update_fields=["status", "error"])
        return contact_import.status
    done = 0
    chunk: list[tuple[int, list[str]]] = []
    source = rows(contact_import)
    try:
        while True:
            try:
                number, cells = next(source)
            except StopIteration:
                break
            except csv.Error:
                raise _Stop(done + 2) from None
            done += 1
            if done <= contact_import.processed:
                continue  # imported before a crash
            chunk.append((number, cells))
            if len(chunk) == CHUNK:
                _import_chunk(contact_import, chunk, actor)
                chunk = []
        _import_chunk(contact_import, chunk, actor)
    except _Stop as stop:
        _import_chunk(contact_import, chunk, actor)
        with transaction.atomic():
            _error(
                contact_import,
                int(str(stop)),
                _("A quote is never closed here: the rest of the file was not read."),
                [],
            )
            contact_import.failed += 1
            contact_import.status = ImportStatus.FAILED
            contact_import.error = _("Stopped at row %(row)s: a quote is never closed.") % {"row": stop}
            contact_import.finished_at = now()
            contact_import.save()
        return contact_import.status
    with transaction.atomic():
        contact_import.status = ImportStatus.DONE
        contact_import.finished_at = now()
        contact_import.save(update_fields=["status", "finished_at"])
        audit(contact_import.account, actor, "contact.imported", contact_import, created=contact_import.created,
              updated=contact_import.updated, skipped=contact_import.skipped, failed=contact_import.failed)  # fmt: skip
    return contact_import.status


def _error(contact_import: ContactImport, row: int, message: str, cells: list[str]) -> None:
    if contact_import.failed < KEPT_ERRORS:
        ContactImportError.objects.create(
            contact_import=contact_import, row=row, message=message[:500],
            cells=[c[:200].encode("utf-8", "replace").decode("utf-8") for c in cells[:MAX_COLUMNS]],
        )  # fmt: skip


def _import_chunk(contact_import: ContactImport, chunk: list[tuple[int, list[str]]], actor: User) -> None:
    """One transaction: the chunk's rows, and how far the import got. New contacts are checked
    row by row and written together (`actions.create_prepared_contacts`); a row that updates a
    contact goes through `update_contact` in a savepoint. Should another contact take one of the
    chunk's addresses meanwhile, the chunk is done again row by row, each in a savepoint."""
    if not chunk:
        return
    counts = (contact_import.created, contact_import.updated, contact_import.skipped, contact_import.failed)
    try:
        with transaction.atomic(), batching.batch() as scope:
            _rows(contact_import, chunk, actor, scope, together=True)
            _progress(contact_import, len(chunk))
    except IntegrityError:
        contact_import.created, contact_import.updated, contact_import.skipped, contact_import.failed = counts
        with transaction.atomic(), batching.batch() as scope:
            _rows(contact_import, chunk, actor, scope, together=False)
            _progress(contact_import, len(chunk))


def _progress(contact_import: ContactImport, rows: int) -> None:
    contact_import.processed += rows
    contact_import.heartbeat_at = now()
    contact_import.save(update_fields=["processed", "created", "updated", "skipped", "failed", "heartbeat_at"])
    if contact_import.created or contact_import.updated:
        from samtale.core.events import publish_on_commit
        from samtale.crm import events

        publish_on_commit(events.contact_changed(contact_import.account_id, [], "imported"))


def _message(error: ValidationError) -> str:
    messages = error.message_dict if hasattr(error, "error_dict") else {"": error.messages}
    return "; ".join(f"{k}: {' '.join(v)}" if k and k != "__all__" else " ".join(v) for k, v in messages.items())


def _rows(
    contact_import: ContactImport, chunk: list[tuple[int, list[str]]], actor: User, scope: Any, *, together: bool
) -> None:
    account = contact_import.account
    _prefetch(contact_import, chunk, scope)
    prepared: list[tuple[Contact, list[tuple[str, str]]]] = []
    pending: dict[tuple[str, str], int] = {}  # an identity of a row to be created → its index in `prepared`
    later: list[tuple[int, list[str], dict[str, object], int]] = []  # rows updating a contact of this chunk
    for number, cells in chunk:
        try:
            values = _values(contact_import, cells)
            existing = _existing(account.pk, values, scope)
            keys = _identity_keys(values)
            twin = next((pending[k] for k in keys if k in pending), None)
            if existing is not None or twin is not None:
                if contact_import.duplicates == "skip":
                    contact_import.skipped += 1
                elif existing is not None:
                    with transaction.atomic():
                        _update(contact_import, existing, values, actor, scope)
                    contact_import.updated += 1
                else:
                    later.append((number, cells, values, twin))  # type: ignore[arg-type]
                continue
            company = values.pop("company", None)
            if company:
                values["company"] = _company(contact_import, str(company), actor, scope)
            name = str(values.pop("name", ""))
            if together:
                prepared.append(actions.prepare_contact(account, name=name, values=values))
                for key in keys:
                    pending[key] = len(prepared) - 1
            else:
                with transaction.atomic():
                    actions.new_contact(account, acting_user=actor, name=name, values=values)
            contact_import.created += 1
        except ValidationError as error:
            _error(contact_import, number, _message(error), cells)
            contact_import.failed += 1
    made = actions.create_prepared_contacts(account, acting_user=actor, prepared=prepared)
    for number, cells, values, index in later:
        try:
            with transaction.atomic():
                _update(contact_import, made[index], values, actor, scope)
            contact_import.updated += 1
        except ValidationError as error:
            _error(contact_import, number, _message(error), cells)
            contact_import.failed += 1


def _values(contact_import: ContactImport, cells: list[str]) -> dict[str, object]:
    if _not_text(cells):
        raise ValidationError(_("This row is not text in the file's encoding (%(encoding)s).")
                              % {"encoding": contact_import.encoding})  # fmt: skip
    values: dict[str, object] = {}
    for column, key in contact_import.mapping.items():
        index = int(column)
        cell = cells[index].strip() if index < len(cells) else ""
        if len(cell) > FIELD_LIMIT:
            raise ValidationError({key: [_("At most %(n)s characters.") % {"n": FIELD_LIMIT}]})
        if cell[:1] in ("=", "+", "@") and "(" in cell:
            raise ValidationError({key: [_("A spreadsheet formula is not imported.")]})
        if cell:
            values[key] = cell
    if not values:
        raise ValidationError(_("The row is empty."))
    return values


def _identity_keys(values: dict[str, object]) -> list[tuple[str, str]]:
    keys = []
    if values.get("email"):
        keys.append((IdentityKind.EMAIL.value, str(values["email"]).strip().lower()))
    if values.get("phone"):
        with contextlib.suppress(ValidationError):
            keys.append((IdentityKind.PHONE.value, normalize(IdentityKind.PHONE, str(values["phone"]))))
    return keys


def _existing(account_id: int, values: dict[str, object], scope: Any) -> Contact | None:
    """The contact this row is about already: by its address (an identity, or an address kept only
    as a property), else by its number."""
    for kind, value in _identity_keys(values):
        found = actions.find_contact(account_id, kind, value)
        if found is None and kind == IdentityKind.EMAIL:
            found = scope.memo.get(("plain-email", account_id), {}).get(value)
        if found is not None:
            return found
    return None


def _company(contact_import: ContactImport, name: str, actor: User, scope: Any) -> Any:
    key = ("company-named", name.casefold())
    return scope.remember(key, lambda: actions.company_named(contact_import.account, acting_user=actor, name=name))


def _update(
    contact_import: ContactImport, contact: Contact, values: dict[str, object], actor: User, scope: Any
) -> None:
    values = dict(values)
    company = values.pop("company", None)
    if company:
        values["company"] = _company(contact_import, str(company), actor, scope)
    full = str(values.pop("name", ""))
    if full and "first_name" not in values and "last_name" not in values:  # "Kari Anne Nordmann"
        values["first_name"], values["last_name"] = actions._split_name(full)
    actions.update_contact(contact, acting_user=actor, values=values)


def _column(contact_import: ContactImport, key: str) -> int | None:
    for column, mapped in contact_import.mapping.items():
        if mapped == key:
            return int(column)
    return None


def _prefetch(contact_import: ContactImport, chunk: list[tuple[int, list[str]]], scope: Any) -> None:
    """The chunk's addresses and numbers looked up at once: their contacts by identity, and by the
    address kept only as a property (typed, never proven)."""
    account_id = contact_import.account_id
    index = _column(contact_import, "email")
    emails = sorted(
        {cells[index].strip().lower()[:254] for _n, cells in chunk if index is not None and index < len(cells)} - {""}
    )
    actions.prefetch_contacts(account_id, emails)
    plain = {c.email: c for c in Contact.objects.filter(account_id=account_id, email__in=emails, merged_into=None)}
    scope.memo[("plain-email", account_id)] = plain
    index = _column(contact_import, "phone")
    if index is None:
        return
    phones = set()
    for _n, cells in chunk:
        if index < len(cells) and cells[index].strip():
            with contextlib.suppress(ValidationError):  # (the row's checks name a bad number)
                phones.add(normalize(IdentityKind.PHONE, cells[index]))
    rows = ContactIdentity.objects.filter(account_id=account_id, kind=IdentityKind.PHONE, value__in=sorted(phones))
    found = {row.value: row.contact for row in rows.select_related("contact")}
    for phone in phones:
        scope.memo.setdefault(("identity", account_id, IdentityKind.PHONE.value, phone), found.get(phone))


def resume_stalled() -> int:
    """Imports whose worker stopped mid-way (no heartbeat for two minutes) are queued again; they
    go on from the last chunk committed."""
    from samtale.crm.tasks import run_contact_import

    stalled = ContactImport.objects.filter(
        status__in=[ImportStatus.QUEUED, ImportStatus.RUNNING], heartbeat_at__lt=now() - STALLED_AFTER
    )
    count = 0
    for contact_import in stalled:
        run_contact_import.enqueue(contact_import.pk)
        log.warning("import %s stalled at row %s: queued again", contact_import.pk, contact_import.processed)
        count += 1
    return count


def error_report(contact_import: ContactImport) -> Iterator[str]:
    """The rows not imported as CSV: row, reason, then the row's cells (formulas neutralised)."""
    from samtale.crm.exports import neutralise

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([_("Row"), _("Why"), *[neutralise(h) for h in contact_import.header]])
    yield buffer.getvalue()
    for error in contact_import.errors.iterator(chunk_size=1000):
        buffer.seek(0)
        buffer.truncate()
        writer.writerow([error.row, neutralise(error.message), *[neutralise(c) for c in error.cells]])
        yield buffer.getvalue()
