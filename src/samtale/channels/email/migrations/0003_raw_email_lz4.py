"""Raw mail is compressed with lz4 instead of pglz on PostgreSQL: pglz took about a millisecond
of the server's CPU per 25 KB message the listener stores (lz4: a fraction of that, similar
size for mail). Skipped where the server has no lz4 (built without it, or before PostgreSQL 14)."""

from django.db import migrations


def use_lz4(apps, schema_editor):  # type: ignore[no-untyped-def]
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    from django.db import DatabaseError, transaction

    try:
        with transaction.atomic(using=connection.alias):
            schema_editor.execute("ALTER TABLE mail_rawemail ALTER COLUMN data SET COMPRESSION lz4")
    except DatabaseError:
        pass  # stays pglz: correct, only slower


def use_default(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE mail_rawemail ALTER COLUMN data SET COMPRESSION DEFAULT")


class Migration(migrations.Migration):
    dependencies = [("mail", "0002_raw_email_file")]

    operations = [migrations.RunPython(use_lz4, use_default)]
