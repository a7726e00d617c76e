"""Long-running loops are supervised: one error (a locked database, a lost connection) is logged
and retried with backoff, never the end of the loop; each loop beats a heartbeat others can read."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from typing import Any

from django.db import OperationalError

from samtale.core import loops
from samtale.core.loops import Loop, alive
from samtale.core.models import Heartbeat
from samtale.core.tasks import WorkerThreads
from samtale.inbox.tasks import purge_trash


def wait_for(condition: Callable[[], bool], seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def test_a_failing_step_is_retried_with_backoff_and_the_loop_goes_on(transactional_db: Any) -> None:
    calls: list[float] = []

    def step() -> float:
        calls.append(time.monotonic())
        if len(calls) <= 2:
            raise OperationalError("database is locked")
        return 0.01

    loop = Loop("test-loop", step, every=0.01).start()
    try:
        assert wait_for(lambda: len(calls) >= 5)
        assert loop.thread is not None and loop.thread.is_alive()
        assert calls[1] - calls[0] >= 0.9 and calls[2] - calls[1] >= 1.9  # 1 s, then 2 s
        beat = loops.beats()["test-loop"]
        assert beat.total_failures == 2 and beat.failures == 0 and "database is locked" in beat.last_error
        assert Heartbeat.objects.filter(name="test-loop").exists() and alive("test-loop")
    finally:
        loop.stop(wait=5)
    assert "test-loop" not in loops.beats()


def test_the_worker_survives_a_locked_database_and_runs_the_next_task(transactional_db: Any, monkeypatch: Any) -> None:
    import django_tasks_db.utils
    from django_tasks_db.models import DBTaskResult

    real = django_tasks_db.utils.exclusive_transaction
    failed = {"times": 0}

    @contextlib.contextmanager
    def locked_once(using: Any = None) -> Iterator[None]:
        if failed["times"] == 0:
            failed["times"] += 1
            raise OperationalError("database is locked")
        with real(using):
            yield

    monkeypatch.setattr(django_tasks_db.utils, "exclusive_transaction", locked_once)
    workers = WorkerThreads(interval=0.05, schedule=False)
    workers.start()
    try:
        result = purge_trash.enqueue()
        assert wait_for(lambda: DBTaskResult.objects.get(pk=result.id).status == "SUCCESSFUL")
        assert failed["times"] == 1 and loops.beats()["worker"].total_failures == 1
        assert all(loop.thread is not None and loop.thread.is_alive() for loop in workers.loops)
    finally:
        workers.stop(wait=5)


def test_the_scheduler_retries_an_enqueue_that_failed(transactional_db: Any, monkeypatch: Any) -> None:
    from django_tasks_db.models import DBTaskResult

    from samtale.core import tasks

    real = tasks.PERIODIC[0][0].enqueue
    failed = {"times": 0}

    def flaky() -> Any:
        if failed["times"] == 0:
            failed["times"] += 1
            raise OperationalError("database is locked")
        return real()

    job = type("Job", (), {"name": "purge", "enqueue": staticmethod(flaky)})()
    monkeypatch.setattr(tasks, "periodic_jobs", lambda: [(job, 3600.0)])
    workers = WorkerThreads(schedule=True, work=False)
    workers.start()
    try:
        assert wait_for(lambda: DBTaskResult.objects.exists())
        assert failed["times"] == 1
    finally:
        workers.stop(wait=5)


def test_the_scheduler_collects_each_apps_periodic_jobs() -> None:
    from samtale.channels.email.tasks import purge_held_mail
    from samtale.core.tasks import periodic_jobs

    names = {job.name for job, _every in periodic_jobs()}
    assert purge_held_mail.name in names and "purge_trash" in names


def test_mail_held_for_an_unconfirmed_address_is_purged_after_the_retention(world: Any) -> None:
    from datetime import timedelta

    from samtale.channels.email.models import RawEmail
    from samtale.channels.email.tasks import purge_held_mail
    from samtale.core.clock import now
    from samtale.inbox import actions

    channel = actions.create_channel(
        world.support, acting_user=world.admin, kind="email", name="x", address="x@nobody.example"
    )
    for age in (1, 40):
        RawEmail.objects.create(account=world.account, channel=channel, source="smtp", data=b"x", size=1,
                                state="held", received_at=now() - timedelta(days=age))  # fmt: skip
    assert purge_held_mail.call() == 1
    assert RawEmail.objects.filter(state="held").count() == 1


def test_tasks_queued_under_their_old_path_run_under_the_new_one(db: Any) -> None:
    import importlib

    from django.apps import apps as django_apps
    from django_tasks_db.models import DBTaskResult

    from samtale.channels.email.tasks import deliver_email

    moved = importlib.import_module("samtale.core.migrations.0003_tasks_moved_to_their_apps")
    result = deliver_email.enqueue(123)
    DBTaskResult.objects.filter(pk=result.id).update(task_path="samtale.core.tasks.deliver_email")
    moved.forwards(django_apps, None)
    row = DBTaskResult.objects.get(pk=result.id)
    assert row.task_path == "samtale.channels.email.tasks.deliver_email" and row.task.name == "deliver_email"
