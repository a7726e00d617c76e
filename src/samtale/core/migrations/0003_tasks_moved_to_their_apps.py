"""Each app keeps its own tasks now: tasks queued under their old path (samtale.core.tasks.*) run
under the new one, so nothing queued before an upgrade (an email waiting for a retry) is lost."""

from django.db import migrations

MOVED = {
    "samtale.core.tasks.purge_trash": "samtale.inbox.tasks.purge_trash",
    "samtale.core.tasks.recount_view_counts": "samtale.inbox.tasks.recount_view_counts",
    "samtale.core.tasks.route_waiting": "samtale.routing.tasks.route_waiting",
    "samtale.core.tasks.sync_calendar": "samtale.availability.tasks.sync_calendar",
    "samtale.core.tasks.sync_calendars": "samtale.availability.tasks.sync_calendars",
    "samtale.core.tasks.deliver_email": "samtale.channels.email.tasks.deliver_email",
    "samtale.core.tasks.send_transcript": "samtale.channels.email.tasks.send_transcript",
}


def forwards(apps, schema_editor):
    DBTaskResult = apps.get_model("django_tasks_database", "DBTaskResult")
    for old, new in MOVED.items():
        DBTaskResult.objects.filter(task_path=old).update(task_path=new)


def backwards(apps, schema_editor):
    DBTaskResult = apps.get_model("django_tasks_database", "DBTaskResult")
    for old, new in MOVED.items():
        DBTaskResult.objects.filter(task_path=new).update(task_path=old)


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0002_heartbeat"),
        ("django_tasks_database", "0021_conditional_partial_index_ordering"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
