"""Background jobs of the CRM: a contact import, and the watch that resumes a stalled one."""

from __future__ import annotations

from typing import Any

from django_tasks import task
from django_tasks.base import Task


@task()
def run_contact_import(import_id: int) -> str:
    from samtale.crm.imports import run

    return run(import_id)


@task()
def resume_stalled_imports() -> int:
    from samtale.crm.imports import resume_stalled

    return resume_stalled()


PERIODIC: list[tuple[Task[[], Any], float]] = [(resume_stalled_imports, 60.0)]
