"""The reader process reads (parses, sanitizes) the next batch of mail while the ingest loop stores
the current one; if it dies, nothing is lost: the batch is read in the ingest process and the
reader is started again."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import override_settings

from samtale.channels.email import ingest, readers
from samtale.channels.email.ingest import BATCH, process_pending
from samtale.channels.email.models import RawEmail
from samtale.channels.email.smtpd import Listener
from samtale.inbox.models import Conversation, Message
from tests.channels.email.conftest import mail, send
from tests.conftest import World


@pytest.fixture
def reading(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """The reader on; yields the ids of the messages read here, in the ingest process."""
    here: list[int] = []
    real = ingest._read

    def counted(raw: RawEmail) -> Any:
        here.append(raw.pk)
        return real(raw)

    monkeypatch.setattr(ingest, "_read", counted)
    with override_settings(SAMTALE_INGEST_READER=True):
        try:
            yield here
        finally:
            readers.stop_all()


def arrive(listener: Listener, count: int, prefix: str) -> None:
    for n in range(count):
        body = f"Message {n}.\n" + "Lorem ipsum dolor sit amet. " * 60
        assert send(listener, mail(f"{prefix} {n}", body, Message_ID=f"<{prefix.lower()}-{n}@example.com>")) == {}


def test_the_reader_reads_every_batch_and_the_loop_stores_it(
    world_tx: World, listener: Listener, reading: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    ahead: list[int] = []  # messages claimed (and sent to the reader) while a batch was being stored
    real = ingest._claim_batch

    def claim(limit: int, *, fresh_only: bool = False) -> list[Any]:
        claims = real(limit, fresh_only=fresh_only)
        if fresh_only:
            ahead.extend(c.raw.pk for c in claims)
        return claims

    monkeypatch.setattr(ingest, "_claim_batch", claim)
    count = BATCH * 3 + 5
    arrive(listener, count, "Read")
    assert process_pending(1000) == count
    assert reading == []  # nothing was read here: the reader did it all
    assert len(ahead) == count - BATCH  # every batch after the first was read while one was stored
    assert Conversation.objects.filter(subject__startswith="Read ").count() == count
    assert Message.objects.filter(text__contains="Lorem ipsum").count() == count
    assert set(RawEmail.objects.values_list("state", "attempts")) == {("done", 1)}
    one = readers.reader()
    assert one is not None and one.alive()


def test_a_reader_that_dies_costs_nothing(world_tx: World, listener: Listener, reading: list[int]) -> None:
    arrive(listener, 3, "First")
    assert process_pending(1000) == 3
    one = readers.reader()
    assert one is not None and one.process is not None and one.process.pid is not None
    first_pid = one.process.pid
    os.kill(first_pid, signal.SIGKILL)  # as the OOM killer, or a message that crashes the parser
    one.process.wait(10)
    arrive(listener, BATCH + 4, "Second")
    assert process_pending(1000) == BATCH + 4
    assert Conversation.objects.count() == 3 + BATCH + 4
    assert set(RawEmail.objects.values_list("state", flat=True)) == {"done"}
    # started again for the next batch
    assert one.alive() and one.process is not None and one.process.pid != first_pid


def test_a_batch_claimed_ahead_goes_back_when_the_loop_stops(
    world_tx: World, listener: Listener, reading: list[int]
) -> None:
    arrive(listener, BATCH + 3, "Ahead")
    assert process_pending(BATCH) == BATCH  # the next batch was not claimed past the limit
    left = RawEmail.objects.filter(state="pending")
    assert left.count() == 3 and set(left.values_list("attempts", "claimed_by")) == {(0, "")}
    assert process_pending(1000) == 3
