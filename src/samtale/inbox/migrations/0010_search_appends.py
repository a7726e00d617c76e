from django.db import migrations

from samtale.inbox import search


def forwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        for sql in search.POSTGRES_INCREMENTAL:
            schema_editor.execute(sql)


def backwards(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        for sql in search.POSTGRES_INCREMENTAL_TEARDOWN:
            schema_editor.execute(sql)


class Migration(migrations.Migration):
    """PostgreSQL: the search vector is extended by what a reply adds, not re-tokenised whole."""

    dependencies = [("inbox", "0009_message_reply_to")]
    operations = [migrations.RunPython(forwards, backwards)]
