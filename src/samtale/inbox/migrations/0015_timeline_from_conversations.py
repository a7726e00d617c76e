"""Every existing conversation with a contact starts a line on that contact's timeline (as the
inbox's actions write for new ones)."""

from django.db import migrations


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    Conversation = apps.get_model("inbox", "Conversation")
    TimelineEntry = apps.get_model("crm", "TimelineEntry")
    rows = (
        Conversation.objects.exclude(contact=None)
        .filter(spam_at=None, filtered_at=None)
        .order_by("id")
        .values_list("id", "account_id", "contact_id", "subject", "channel_kind", "inbox_id", "created_at", "awaiting_first_reply")
    )
    batch = []
    for pk, account_id, contact_id, subject, kind, inbox_id, created_at, outbound in rows.iterator(chunk_size=2000):
        batch.append(TimelineEntry(
            account_id=account_id, contact_id=contact_id, kind="conversation.started", at=created_at,
            subject_type="conversation", subject_id=pk, title=subject[:300],
            data={"channel_kind": kind, "inbox_id": inbox_id, "outbound": bool(outbound)},
        ))  # fmt: skip
        if len(batch) >= 2000:
            TimelineEntry.objects.bulk_create(batch)
            batch = []
    TimelineEntry.objects.bulk_create(batch)


class Migration(migrations.Migration):
    dependencies = [("inbox", "0014_read_marks"), ("crm", "0004_identities_from_contacts")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
