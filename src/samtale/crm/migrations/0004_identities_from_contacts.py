"""Every contact's email and phone become its identities (the oldest contact of an address keeps it)."""

from django.db import migrations

from samtale.crm.identities import normalize_phone


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    from django.core.exceptions import ValidationError

    Contact = apps.get_model("crm", "Contact")
    ContactIdentity = apps.get_model("crm", "ContactIdentity")
    batch = []
    rows = Contact.objects.order_by("id").values_list("id", "account_id", "email", "phone", "created_at")
    for pk, account_id, email, phone, created_at in rows.iterator(chunk_size=2000):
        values = []
        if email:
            values.append(("email", email.strip().lower()[:254]))
        if phone:
            try:
                values.append(("phone", normalize_phone(phone)))
            except ValidationError:
                pass  # not a number: it stays a property, not an identity
        for kind, value in values:  # (in id order: a later contact's copy of an address is ignored)
            batch.append(ContactIdentity(account_id=account_id, contact_id=pk, kind=kind, value=value, created_at=created_at))
        if len(batch) >= 2000:
            ContactIdentity.objects.bulk_create(batch, ignore_conflicts=True)
            batch = []
    ContactIdentity.objects.bulk_create(batch, ignore_conflicts=True)


class Migration(migrations.Migration):
    dependencies = [("crm", "0003_identities_and_timeline")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
