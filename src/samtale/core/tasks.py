"""The worker: runs the task queue and a scheduler of every app's periodic jobs (each app keeps
its own tasks in `<app>/tasks.py`, with a `PERIODIC` list), plus the housekeeping of the queue."""

from __future__ import annotations

import logging
import os
import threading
import time
from datetime import timedelta
from typing import Any

from django_tasks import task
from django_tasks.base import Task

from samtale.core.loops import Loop

log = logging.getLogger(__name__)


@task()
def prune_task_results() -> None:
    """Finished task results are kept a day (failed ones a week), then removed."""
    from django.core.management import call_command

    call_command("prune_db_task_results", min_age_days=1, failed_min_age_days=7, verbosity=0)


@task()
def prune_heartbeats() -> int:
    """Heartbeats of processes that stopped a day ago are history."""
    from samtale.core.clock import now
    from samtale.core.models import Heartbeat

    return Heartbeat.objects.filter(beat_at__lt=now() - timedelta(days=1)).delete()[0]


PERIODIC: list[tuple[Task[[], Any], float]] = [
    (prune_task_results, 6 * 3600.0),
    (prune_heartbeats, 6 * 3600.0),
]


def periodic_jobs() -> list[tuple[Task[[], Any], float]]:
    """Every periodic job: these, and each installed app's `tasks.PERIODIC` (an app owns its jobs;
    the scheduler collects them without importing any app by name)."""
    import importlib

    from django.apps import apps

    jobs = list(PERIODIC)
    for config in apps.get_app_configs():
        if not config.name.startswith("samtale.") or config.name == "samtale.core":
            continue
        try:
            module = importlib.import_module(f"{config.name}.tasks")
        except ModuleNotFoundError as exc:
            if exc.name != f"{config.name}.tasks":
                raise
            continue
        jobs.extend(getattr(module, "PERIODIC", []))
    return jobs


class WorkerThreads:
    """The task worker plus a small scheduler that enqueues the periodic jobs, each a supervised
    `Loop`: a database error in one iteration ("database is locked", a lost connection) is logged
    and retried with backoff; neither ever stops for good."""

    def __init__(self, interval: float = 1.0, *, schedule: bool = True, work: bool = True) -> None:
        from django_tasks_db.management.commands.db_worker import Worker

        self.worker = Worker(
            queue_names=["default"],
            interval=interval,
            batch=False,
            backend_name="default",
            startup_delay=False,
            max_tasks=None,
            worker_id=f"samtale-{os.getpid()}-{threading.get_native_id()}",
            excluded_queue_names=[],
        )
        self.due: dict[str, float] = {}
        self.loops: list[Loop] = []
        if work:
            self.loops.append(Loop("worker", self._work, every=interval))
        if schedule:
            self.loops.append(Loop("scheduler", self._schedule, every=5.0))

    def _work(self) -> float | None:
        """Run the next ready task, if any; at once again after one ran."""
        from django_tasks_db.models import DBTaskResult
        from django_tasks_db.utils import exclusive_transaction

        tasks = DBTaskResult.objects.ready().filter(backend_name="default", queue_name__in=["default"])
        with exclusive_transaction(tasks.db):
            result = tasks.get_locked()
            if result is not None:
                result.claim(self.worker.worker_id)
        if result is None:
            return None
        self.worker.run_task(result)  # records success or failure on the task's row
        return 0.0

    def _schedule(self) -> float | None:
        at = time.monotonic()
        for job, every in periodic_jobs():
            if at >= self.due.get(job.name, 0.0):
                job.enqueue()  # a failure is retried by the loop (backoff), not skipped
                self.due[job.name] = at + every
        return None

    def start(self) -> None:
        for loop in self.loops:
            loop.start()

    def stop(self, wait: float = 0.0) -> None:
        for loop in self.loops:
            loop.stop(wait)
