"""A contact's data protection rights (GDPR articles 15 and 17): everything held about one person
exported in one archive (contact.json and the files of their messages), and the person deleted for
good with their conversations, messages, files and search entries. The CRM holds the contact;
the apps above hold the rest and answer through the hooks here (`contact_data`,
`contact_forgetting`), so this module names none of them. Both need CRM admin; the audit rows keep
ids and counts, never what was held."""

from __future__ import annotations

import contextlib
import json
import tempfile
import zipfile
from collections.abc import Iterable
from typing import IO, Any

from django.core.files.storage import default_storage
from django.db import transaction

from samtale.accounts.models import User
from samtale.core.audit import audit
from samtale.core.clock import now
from samtale.core.events import publish_on_commit
from samtale.core.hooks import Hook
from samtale.crm import events
from samtale.crm.actions import require_crm_admin
from samtale.crm.models import Contact

# (contact) → (the section's name, its JSON-ready data, the files: (name in the archive, storage name))
contact_data: Hook[[Contact], tuple[str, Any, list[tuple[str, str]]]] = Hook("contact_data")
# (contact, acting user) inside the erasing transaction: delete what the app holds about them; → a count
contact_forgetting: Hook[[Contact, User | None], tuple[str, int]] = Hook("contact_forgetting")


def _when(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def _own_data(contact: Contact) -> dict[str, Any]:
    fields = ["name", "first_name", "last_name", "email", "phone", "job_title", "language", "lifecycle_stage",
              "created_at", "last_contacted_at"]  # fmt: skip
    identities = [
        {"kind": i.kind, "value": i.value, "since": _when(i.created_at)} for i in contact.identities.order_by("id")
    ]
    history = [
        {"property": c.key, "from": c.old, "to": c.new, "at": _when(c.at)}
        for c in contact.property_changes.order_by("at", "id")
    ]
    notes = [
        {"text": n.text, "at": _when(n.created_at), "by": n.author.name if n.author else None}
        for n in contact.notes.select_related("author").order_by("created_at", "id")
    ]
    tasks = [
        {"title": t.title, "due": _when(t.due_at), "done": _when(t.done_at)}
        for t in contact.tasks.order_by("created_at", "id")
    ]
    activities = [
        {"kind": a.kind, "title": a.title, "outcome": a.outcome, "at": _when(a.at), "minutes": a.duration_minutes,
         "notes": a.notes}
        for a in contact.activities.order_by("at", "id")
    ]  # fmt: skip
    records = [
        {"type": r.type.singular, "label": r.label, "properties": r.properties, "created": _when(r.created_at)}
        for r in contact.custom_records.select_related("type").order_by("created_at", "id")
    ]
    return {
        "id": contact.pk,
        "calls_and_meetings": activities,
        "records": records,
        **{f: _when(getattr(contact, f)) for f in fields},
        "company": contact.company.name if contact.company else None,
        "owner": contact.owner.name if contact.owner else None,
        "properties": contact.properties,
        "identities": identities,
        "property_history": history,
        "notes": notes,
        "tasks": tasks,
    }


def export_contact(contact: Contact, *, acting_user: User) -> IO[bytes]:
    """A zip archive (a temporary file, rewound) of everything held about the contact."""
    require_crm_admin(acting_user, contact.account_id)
    document: dict[str, Any] = {"exported_at": now().isoformat(), "contact": _own_data(contact)}
    files: list[tuple[str, str]] = []
    for name, data, its_files in contact_data(contact):
        document[name] = data
        files.extend(its_files)
    archive = tempfile.TemporaryFile()  # noqa: SIM115 (returned open, closed by the response)
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("contact.json", json.dumps(document, ensure_ascii=False, indent=2, default=str))
        for inside, stored in files:
            try:
                with default_storage.open(stored, "rb") as source, z.open(inside, "w") as target:
                    while chunk := source.read(1 << 20):
                        target.write(chunk)
            except OSError:
                z.writestr(inside + ".missing.txt", "This file could not be read from storage.")
    archive.seek(0)
    audit(contact.account, acting_user, "contact.data_exported", contact, files=len(files))
    return archive


def erase_contact(contact: Contact, *, acting_user: User) -> dict[str, int]:
    """The person is gone for good: what every app holds about them, then the contact with its
    identities, timeline, notes, tasks and history. Returns what was deleted, by kind."""
    require_crm_admin(acting_user, contact.account_id)
    account, pk = contact.account, contact.pk
    with transaction.atomic():
        counts = dict(contact_forgetting(contact, acting_user))
        Contact.objects.filter(merged_into=contact).update(merged_into=None)
        contact.delete()
        audit(account, acting_user, "contact.erased", None, contact_id=pk, **counts)
        publish_on_commit(events.contact_changed(account.pk, [pk], "deleted"))
    return counts


def delete_files_on_commit(names: Iterable[str]) -> None:
    """Stored files go once the rows naming them are gone for good (after the commit: a rollback
    keeps both)."""
    doomed = [n for n in names if n]
    if not doomed:
        return

    def remove() -> None:
        for name in doomed:
            with contextlib.suppress(OSError):  # a file already gone
                default_storage.delete(name)

    transaction.on_commit(remove)
