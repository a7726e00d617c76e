"""Existing contacts: first and last name from the full name, and the words they are found by."""

from django.db import migrations


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    from samtale.crm.search import contact_tokens

    Contact = apps.get_model("crm", "Contact")
    ContactIdentity = apps.get_model("crm", "ContactIdentity")
    ContactSearchToken = apps.get_model("crm", "ContactSearchToken")
    last = 0
    while True:
        chunk = list(Contact.objects.filter(pk__gt=last).order_by("pk")[:1000])
        if not chunk:
            return
        last = chunk[-1].pk
        known: dict[int, list[tuple[str, str]]] = {}
        for contact_id, kind, value in ContactIdentity.objects.filter(contact_id__in=[c.pk for c in chunk]).values_list(
            "contact_id", "kind", "value"
        ):
            known.setdefault(contact_id, []).append((kind, value))
        rows = []
        for contact in chunk:
            words = contact.name.split()
            contact.first_name = " ".join(words[:-1] if len(words) > 1 else words)[:100]
            contact.last_name = words[-1][:100] if len(words) > 1 else ""
            mine = known.get(contact.pk, [])
            tokens = contact_tokens(
                contact, emails=[v for k, v in mine if k == "email"], phones=[v for k, v in mine if k == "phone"]
            )
            rows += [ContactSearchToken(account_id=contact.account_id, contact_id=contact.pk, token=t) for t in tokens]
        Contact.objects.bulk_update(chunk, ["first_name", "last_name"])
        ContactSearchToken.objects.bulk_create(rows)


class Migration(migrations.Migration):
    dependencies = [("crm", "0005_contact_properties_companies_search")]
    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
