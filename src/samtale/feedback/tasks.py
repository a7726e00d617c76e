"""Feedback's background work: a survey is sent when it is due (its own task, enqueued to run
then), and a sweep every minute sends any whose task was lost (a worker stopped, a restore)."""

from __future__ import annotations

import logging
from typing import Any

from django_tasks import task
from django_tasks.base import Task

from samtale.core.clock import now

log = logging.getLogger(__name__)
SWEEP_BATCH = 200


@task()
def send_survey_task(survey_id: int) -> str:
    from samtale.feedback.actions import send_survey

    return send_survey(survey_id)


@task()
def send_due_surveys() -> int:
    """Up to 200 due surveys (and claims a dead worker left), each on its own: one that fails is
    marked so and the rest go."""
    from django.db.models import Q

    from samtale.feedback.actions import STALE_CLAIM, send_survey
    from samtale.feedback.models import State, Survey

    moment = now()
    due = list(
        Survey.objects.filter(
            Q(state=State.SCHEDULED, due_at__lte=moment) | Q(state=State.SENDING, sent_at__lte=moment - STALE_CLAIM)
        )
        .order_by("due_at")
        .values_list("pk", flat=True)[:SWEEP_BATCH]
    )
    done = 0
    for pk in due:
        try:
            if send_survey(pk) == State.SENT:
                done += 1
        except Exception:  # a bug with one survey must not hold up the others
            log.exception("survey %s: sending failed", pk)
            Survey.objects.filter(pk=pk, state__in=[State.SCHEDULED, State.SENDING]).update(
                state=State.FAILED, reason="internal error"
            )
    return done


PERIODIC: list[tuple[Task[[], Any], float]] = [(send_due_surveys, 60.0)]
