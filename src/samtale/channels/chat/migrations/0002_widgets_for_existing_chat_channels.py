"""Chat channels made before the chat package existed (demo data) get their widget."""

import secrets

from django.db import migrations


def add_widgets(apps, schema_editor):  # type: ignore[no-untyped-def]
    Channel = apps.get_model("inbox", "Channel")
    ChatWidget = apps.get_model("chat", "ChatWidget")
    for channel in Channel.objects.filter(kind="chat", chat_widget__isnull=True):
        ChatWidget.objects.create(
            channel=channel, key=secrets.token_urlsafe(12), secret=secrets.token_urlsafe(32)
        )


class Migration(migrations.Migration):
    dependencies = [("chat", "0001_initial"), ("inbox", "0001_initial")]

    operations = [migrations.RunPython(add_widgets, migrations.RunPython.noop)]
