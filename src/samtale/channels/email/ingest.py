"""The mail ingest queue: stored raw messages (`mail.store`) become conversations (`mail.inbound`).

One bad message can never hold up the others:
- A message is **claimed** before it is worked on, and the claim counts an attempt, committed
  before any parsing starts. PostgreSQL: a session advisory lock on the row's id (released by the
  server if the process dies); SQLite (one machine): the claimer's pid and start time on the row,
  so a claim of a process that is gone is taken over at once.
- Every step — parse, sanitize, thread, route, save — runs inside the fallback: if anything fails,
  the message is stored as an "unreadable message" conversation with its source attached.
- A message that still cannot be stored, or whose attempts ran out (it crashed or hung the process
  that worked on it `MAX_ATTEMPTS` times), is **parked**: it leaves the queue, admins see it
  (Settings → Mail intake, a notice in the inbox, `/readyz`, `/metrics`) and can retry it.
- Parsing and sanitizing happen before the write transaction opens, never inside it.

A raw message is marked done in the same transaction that stores its message, so a crash in
between leaves it pending and it is processed again; Message-ID deduplication makes that safe.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.db.models import F

from samtale.channels.email import readers, store
from samtale.channels.email.addresses import base_address
from samtale.channels.email.inbound import parse_raw, prefetch_threads, prepare, process, source_part
from samtale.channels.email.models import RawEmail
from samtale.channels.email.parse import ParsedEmail
from samtale.channels.email.queries import pending_ids
from samtale.core import batching
from samtale.core.loops import Loop
from samtale.core.writes import writing
from samtale.crm.actions import prefetch_contacts
from samtale.inbox import actions as inbox_actions
from samtale.inbox import counters, search
from samtale.inbox.models import Channel, ChannelKind, Message

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3  # a message that took down (or hung) its worker this often is parked, not retried
_LOCK_SPACE = 0x5A4D << 40  # PostgreSQL advisory lock keys of raw emails: this plus the row id


# ---------------------------------------------------------------- claims


def _me() -> str:
    """This thread of this process, as the SQLite claim names it: pid, the process's start time
    (a recycled pid is another process) and the thread."""
    return f"{os.getpid()}:{_start_time(os.getpid())}:{threading.get_native_id()}"


def _start_time(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            return handle.read().rpartition(b")")[2].split()[19].decode()
    except (OSError, IndexError):
        return ""


def _claimer_gone(claim: str) -> bool:
    pid, _sep, rest = claim.partition(":")
    started, _sep, thread = rest.partition(":")
    if not pid.isdigit():
        return True
    if int(pid) == os.getpid():
        return int(thread or 0) not in {t.native_id for t in threading.enumerate()}
    return _start_time(int(pid)) != started


@dataclass
class Claim:
    raw: RawEmail
    advisory: int | None = None  # PostgreSQL lock key held


BATCH = 16  # messages stored per write transaction


def _claim_batch(limit: int, *, fresh_only: bool = False) -> list[Claim]:
    """Claim up to `limit` of the oldest pending messages nobody else is working on, counting an
    attempt on each. A message tried before without finishing (its worker died or hung on it) is
    claimed alone: a message that kills its worker must not cost its batch-mates their attempts."""
    ids = pending_ids(limit + 16)
    if not ids:
        return []
    claim = _claim_postgres if connection.vendor == "postgresql" else _claim_sqlite
    return claim(ids, limit, fresh_only)


def _claim_postgres(ids: list[int], limit: int, fresh_only: bool) -> list[Claim]:
    attempts = dict(RawEmail.objects.filter(pk__in=ids, state=RawEmail.State.PENDING).values_list("pk", "attempts"))
    keys = [_LOCK_SPACE + pk for pk in ids if pk in attempts and not (fresh_only and attempts[pk])][:limit]
    with connection.cursor() as cursor:  # one round trip for the batch's locks
        cursor.execute("SELECT k FROM unnest(%s::bigint[]) AS k WHERE pg_try_advisory_lock(k)", [keys])
        locked = sorted(row[0] - _LOCK_SPACE for row in cursor.fetchall())
    # a message tried before is claimed alone
    mine = locked[:1] if locked and attempts[locked[0]] else [pk for pk in locked if not attempts[pk]]
    _unlock([_LOCK_SPACE + pk for pk in locked if pk not in mine])
    if not mine:
        return []
    with transaction.atomic():
        counted = set(
            RawEmail.objects.filter(pk__in=mine, state=RawEmail.State.PENDING)
            .select_for_update()
            .values_list("pk", flat=True)
        )
        RawEmail.objects.filter(pk__in=counted).update(attempts=F("attempts") + 1)
    return _loaded([Claim(RawEmail(pk=pk), _LOCK_SPACE + pk) for pk in mine], counted)


def _claim_sqlite(ids: list[int], limit: int, fresh_only: bool) -> list[Claim]:
    me = _me()
    with writing(), transaction.atomic():
        rows = RawEmail.objects.filter(pk__in=ids, state=RawEmail.State.PENDING).order_by("pk")
        mine: list[int] = []
        for pk, current, attempts in rows.values_list("pk", "claimed_by", "attempts"):
            if len(mine) >= limit:
                break
            if current and current != me and not _claimer_gone(current):
                continue  # someone else's
            if fresh_only and (attempts or current == me):
                continue  # claimed ahead: only messages never tried (and not the batch in hand)
            if attempts and mine:
                break
            mine.append(pk)
            if attempts:
                break  # tried before: alone
        RawEmail.objects.filter(pk__in=mine).update(attempts=F("attempts") + 1, claimed_by=me)
    return _loaded([Claim(RawEmail(pk=pk)) for pk in mine], set(mine))


def _loaded(claims: list[Claim], counted: set[int]) -> list[Claim]:
    """The claimed rows, read whole; a claim lost meanwhile (finished by someone else) is released."""
    rows = {
        r.pk: r for r in RawEmail.objects.select_related("channel__account", "channel__inbox").filter(pk__in=counted)
    }
    kept = []
    for claim in claims:
        if claim.raw.pk in rows:
            claim.raw = rows[claim.raw.pk]
            kept.append(claim)
        else:
            _release([claim])
    return kept


def _unlock(keys: list[int]) -> None:
    if not keys:
        return
    with contextlib.suppress(Exception), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_unlock(k) FROM unnest(%s::bigint[]) AS k", [keys])


def _release(claims: list[Claim]) -> None:
    _unlock([claim.advisory for claim in claims if claim.advisory is not None])


# ---------------------------------------------------------------- processing


def process_pending(limit: int = 100) -> int:
    """Process up to `limit` pending raw messages, oldest first. Returns how many were handled.

    With a reader process (`readers`), the next batch is claimed and read there while this one
    is stored. Only messages never tried before are claimed ahead: one that was tried (and may
    have taken its worker down) is claimed alone, when it is its turn."""
    done = 0
    reading = readers.reader()
    ahead: list[Claim] = []
    sent = False
    try:
        while done < limit:
            claims = ahead or _claim_batch(min(BATCH, limit - done))
            read = sent
            ahead, sent = [], False
            if not claims:
                break
            try:
                if reading is not None and not read:
                    read = reading.submit([c.raw.pk for c in claims])
                results = reading.result() if reading is not None and read else None
                if reading is not None and done + len(claims) < limit:
                    ahead = _claim_batch(min(BATCH, limit - done - len(claims)), fresh_only=True)
                    sent = bool(ahead) and reading.submit([c.raw.pk for c in ahead])
                handle_batch([c.raw for c in claims], results)
            finally:
                _release(claims)
            done += len(claims)
    finally:
        if ahead:  # stopped early: what was claimed ahead goes back to the queue
            if sent and reading is not None:
                _discard(reading.result())
            _release(ahead)
            _unclaim(ahead)
    return done


def _discard(results: readers.Result | None) -> None:
    for _pk, parsed, _inbound, _error in results or []:
        if parsed is not None:
            parsed.discard()


def _unclaim(claims: list[Claim]) -> None:
    """Claimed ahead and not worked on: the attempt it counted is given back."""
    with writing():
        RawEmail.objects.filter(pk__in=[c.raw.pk for c in claims], state=RawEmail.State.PENDING).update(
            attempts=F("attempts") - 1, claimed_by=""
        )


def read_many(ids: list[int]) -> readers.Result:
    """In the reader process: read claimed messages as `handle_batch` would."""
    raws = RawEmail.objects.select_related("channel__account", "channel__inbox").filter(pk__in=ids).order_by("pk")
    out: readers.Result = []
    with batching.batch():
        for raw in raws:
            item = _read(raw)
            out.append((raw.pk, item.parsed, item.inbound, item.error))
    return out


@dataclass
class _Read:
    """A claimed message after the CPU work (parse, sanitize), before any write."""

    raw: RawEmail
    parsed: ParsedEmail | None = None
    inbound: inbox_actions.InboundMessage | None = None
    error: str = ""


def _read(raw: RawEmail) -> _Read:
    try:
        parsed = parse_raw(raw)
    except Exception as exc:
        log.exception("could not read raw email %s", raw.pk)
        return _Read(raw, error=f"{type(exc).__name__}: {exc}")
    try:
        return _Read(raw, parsed, prepare(raw, parsed))
    except Exception as exc:
        log.exception("could not read raw email %s", raw.pk)
        parsed.discard()
        return _Read(raw, error=f"{type(exc).__name__}: {exc}")


def handle(raw: RawEmail) -> None:
    """Everything that happens to one claimed message. Never raises for anything the message
    contains: the worst outcome is a parked message."""
    handle_batch([raw])


def handle_batch(raws: list[RawEmail], read: readers.Result | None = None) -> None:
    """Claimed messages, stored together in one write transaction: what they share is looked up
    once and what they add up to (counters, audit rows, routing turns, events) is written once
    (`core.batching`), with no savepoint per message. If the batch fails, it is rolled back and
    its messages are stored one at a time, each able to fail alone (then as an unreadable
    message, or parked) — the batch is an optimisation, never a way for one message to hold up
    the others."""
    readable: list[RawEmail] = []
    for raw in raws:
        if raw.attempts > MAX_ATTEMPTS:
            _park(raw, f"gave up after {MAX_ATTEMPTS} attempts that did not finish; last error: {raw.error or 'none'}")
        elif raw.channel.verified_at is None and not _to_confirmed_owner(raw):
            _hold_or_verify(raw)
        else:
            readable.append(raw)
    # what the reader process read (the files of those not stored here, parked or held, removed)
    done = {row[0]: row for row in read or []}
    _discard([row for pk, row in done.items() if pk not in {raw.pk for raw in readable}])
    with batching.batch():  # reads only: what the messages share (teammates' addresses) is read once
        ready = [_Read(raw, *done[raw.pk][1:]) if raw.pk in done else _read(raw) for raw in readable]
    try:
        good = [r for r in ready if not r.error]
        alone = [r for r in ready if r.error]
        while len(good) > 1:
            stored = _store_batch(good)
            if not stored:  # a batch that failed leaves every message to be stored on its own, as read
                break
            good = good[stored:]
        for item in alone + good:
            _store_one(item)
    finally:
        for item in ready:
            if item.parsed is not None:
                item.parsed.discard()  # large parts are in storage now (or the transaction failed)


WRITE_TURN = 0.03  # seconds: SQLite, while mail is arriving: how long one batch may hold the write lock


def _store_batch(items: list[_Read]) -> int:
    """Store read messages in one transaction; returns how many (from the first), 0 if any of them
    failed (all rolled back). On SQLite, while the listener is receiving, a transaction ends after
    `WRITE_TURN` (the listener commits between two): mail is acknowledged before it is ingested."""
    store.let_arrivals_in()
    turn = WRITE_TURN if connection.vendor == "sqlite" and store.arriving() else None
    started = time.monotonic()
    try:
        with writing(), transaction.atomic(), counters.deferred(), batching.batch():
            pending = set(
                RawEmail.objects.filter(pk__in=[i.raw.pk for i in items], state=RawEmail.State.PENDING).values_list(
                    "pk", flat=True
                )
            )
            _known_new(items)
            for account_id in sorted({i.raw.account_id for i in items}):
                senders = [i.inbound.sender_address for i in items if i.inbound is not None and i.raw.account_id == account_id]  # fmt: skip
                prefetch_contacts(account_id, senders)
            finished = []
            taken = 0
            for item in items:
                if turn is not None and taken and time.monotonic() - started > turn:
                    break
                taken += 1
                if item.raw.pk not in pending:
                    continue
                assert item.parsed is not None and item.inbound is not None
                message = process(item.raw, item.parsed, item.inbound)
                finished.append((item.raw, message))
            for raw, message in finished:
                raw.state, raw.message, raw.claimed_by = RawEmail.State.DONE, message, ""
            table = connection.ops.quote_name(RawEmail._meta.db_table)
            with connection.cursor() as cursor:  # one statement run for all (bulk_update's CASEs cost more)
                cursor.executemany(
                    f"UPDATE {table} SET state = %s, message_id = %s, error = %s, claimed_by = '' WHERE id = %s",  # noqa: S608 - the model's table
                    [(RawEmail.State.DONE.value, raw.message_id, raw.error, raw.pk) for raw, _m in finished],
                )
    except Exception:
        log.exception("storing a batch of %d messages failed; storing them one at a time", len(items))
        for item in items:
            item.raw.state, item.raw.message = RawEmail.State.PENDING, None
            if item.inbound is not None:
                item.inbound.known_new = False  # known in a transaction that is gone
        return 0
    return taken


def _known_new(items: list[_Read]) -> None:
    """What the batch's messages thread by, read once (`inbound.prefetch_threads`); and so which
    of them are new (no dedupe query each). An id seen twice in the batch is left to the check
    that sees the first one stored."""
    seen: dict[tuple[int, str], int] = {}
    for item in items:
        assert item.inbound is not None
        key = (item.raw.account_id, item.inbound.external_id[:998])
        seen[key] = seen.get(key, 0) + 1
    for account_id in sorted({item.raw.account_id for item in items}):
        group = [i for i in items if i.raw.account_id == account_id]
        ids = [i.inbound.external_id for i in group if i.inbound is not None]
        threads = prefetch_threads(account_id, [i.parsed for i in group if i.parsed is not None], ids)
        for item in group:
            assert item.inbound is not None
            external_id = item.inbound.external_id[:998]
            item.inbound.known_new = (
                bool(external_id)
                and external_id in threads.asked
                and external_id not in threads.ids
                and seen[(account_id, external_id)] == 1
            )


def _store_one(item: _Read) -> None:
    raw, parsed, inbound, error = item.raw, item.parsed, item.inbound, item.error
    fallback: inbox_actions.InboundMessage | None = None
    try:
        if error:  # the fallback's own CPU work, before the transaction too
            fallback = _fallback_message(raw)
        store.let_arrivals_in()
        with writing(), transaction.atomic():
            if not _still_mine(raw):
                return
            message = None
            if parsed is not None and inbound is not None:
                try:
                    with transaction.atomic():
                        message = process(raw, parsed, inbound)
                except Exception as exc:
                    log.exception("could not store raw email %s", raw.pk)
                    error = f"{type(exc).__name__}: {exc}"
                    fallback = _fallback_message(raw)
            if fallback is not None:
                raw.error = error[:2000]
                with transaction.atomic():
                    message = inbox_actions.receive_inbound(raw.channel, fallback)
            _finish(raw, RawEmail.State.DONE, message)
    except Exception as exc:  # even the fallback failed: park it where an admin sees it
        log.exception("could not store raw email %s even as an unreadable message", raw.pk)
        _park(raw, f"{error + '; ' if error else ''}{type(exc).__name__}: {exc}")


def _to_confirmed_owner(raw: RawEmail) -> bool:
    """The address was confirmed by another channel since the listener chose this one (it
    remembers channels for a few seconds): the message is that channel's."""
    owner = (
        Channel.objects.select_related("account", "inbox")
        .filter(kind=ChannelKind.EMAIL, address=raw.channel.address)
        .exclude(verified_at=None)
        .first()
    )
    if owner is None:
        return False
    with writing():
        RawEmail.objects.filter(pk=raw.pk).update(channel=owner, account_id=owner.account_id)
    raw.channel, raw.account_id = owner, owner.account_id
    return True


def _hold_or_verify(raw: RawEmail) -> None:
    """Mail to an address not yet confirmed: the confirmation coming back confirms it; anything
    else is held for whoever confirms the address (mail.verification)."""
    from samtale.channels.email import actions, verification

    if verification.proof_in(raw):
        actions.verify_address(raw.channel, how="its confirmation came back through the listener")
        state = RawEmail.State.DONE
    else:
        state = RawEmail.State.HELD
    with writing(), transaction.atomic():
        if _still_mine(raw):
            _finish(raw, state, None)


def _still_mine(raw: RawEmail) -> bool:
    """Inside the write transaction: the message is still pending (nobody finished it meanwhile)."""
    return RawEmail.objects.filter(pk=raw.pk, state=RawEmail.State.PENDING).exists()


def _finish(raw: RawEmail, state: str, message: Message | None) -> None:
    raw.state = state
    raw.message = message
    raw.claimed_by = ""
    raw.save(update_fields=["state", "message", "error", "claimed_by"])


def _fallback_message(raw: RawEmail) -> inbox_actions.InboundMessage:
    """The message could not be read: it still becomes a conversation, with its source attached."""
    return inbox_actions.prepare_inbound(
        inbox_actions.InboundMessage(
            sender_address=base_address(raw.envelope_from) if "@" in raw.envelope_from else "",
            subject="(unreadable message)",
            text="This message could not be read. Its original source is attached.",
            external_id=f"raw-{raw.pk}@samtale.invalid",
            received_at=raw.received_at,
            attachments=[source_part(raw)],
        )
    )


def _park(raw: RawEmail, error: str) -> None:
    from samtale.channels.email import actions

    raw.error = error[:2000]
    try:
        with writing(), transaction.atomic():
            actions.park_raw_email(raw, reason=raw.error)
    except Exception:  # the row stays pending; its attempts keep counting, the next claim parks it
        log.exception("could not park raw email %s", raw.pk)


# ---------------------------------------------------------------- loops


class IngestLoop:
    """Processes stored mail as it arrives (woken by `store_raw`), and sweeps every few seconds
    for anything left pending (e.g. after a crash). Supervised: an error backs off and retries."""

    def __init__(self, sweep: float = 2.0) -> None:
        self.loop = Loop("mail-ingest", self._step, every=sweep)
        store.on_stored(self.loop.wake)
        # PostgreSQL: what the batches queued for the search index is indexed just after them
        self.indexer = Loop("search-index", self._index, every=sweep, persist=False)
        self.indexing = connection.vendor == "postgresql"

    def _index(self) -> float | None:
        while not self.indexer.stopping and search.drain():
            pass
        return None

    def _step(self) -> float | None:
        # a few batches per call: the reader reads one ahead, and stopping is looked at in between
        while not self.loop.stopping and process_pending(BATCH * 4):
            pass
        return None

    def start(self) -> None:
        self.loop.start()
        if self.indexing:
            search.on_queued(self.indexer.wake)
            self.indexer.start()

    def stop(self, wait: float = 0.0) -> None:
        """Stop after the message being processed (waiting up to `wait` seconds for that)."""
        store.off_stored(self.loop.wake)
        self.loop.stop(wait)
        readers.stop_all()
        if self.indexing:
            search.off_queued(self.indexer.wake)
            self.indexer.stop(wait)

    def wake(self) -> None:
        self.loop.wake()


class IngestProcess:
    """The ingest loop in a child process (`samtale ingest --child`) at a lower CPU priority, for
    the listener's process: parsing mail (tens of milliseconds of Python per message) then never
    holds the listener's GIL, and the OS gives the listener the CPU first, so a burst is
    acknowledged at the listener's full speed and parsed right behind it.

    The listener wakes the child through a pipe after each commit. The child exits when that pipe
    closes, which also happens when this process dies (even by kill -9), and is started again if
    it dies on its own. Whatever it leaves pending is picked up by the next sweep."""

    NICENESS = 10

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.stopping = threading.Event()
        self.watcher = threading.Thread(target=self._watch, name="samtale-mail-ingest-watch", daemon=True)
        self.lock = threading.Lock()

    def _spawn(self) -> None:
        command = [sys.executable, "-m", "samtale.cli", "ingest", "--child", "--nice", str(self.NICENESS)]
        # SQLite: no memory-mapped reads here. Parsing writes, and reads only a few indexed rows;
        # mapped pages of the database file (which grows by every message) would count in this
        # process's RSS for nothing.
        env = {"SAMTALE_SQLITE_MMAP_BYTES": "0", **os.environ}
        proc = subprocess.Popen(command, stdin=subprocess.PIPE, env=env)
        assert proc.stdin is not None
        os.set_blocking(proc.stdin.fileno(), False)
        with self.lock:
            self.proc = proc

    def start(self) -> None:
        self._spawn()
        store.on_stored(self.wake)
        self.watcher.start()

    def wake(self) -> None:
        with self.lock:
            pipe = self.proc.stdin if self.proc is not None else None
            if pipe is None or pipe.closed:
                return
            # full pipe: the child has wakes unread; broken: it is being restarted. Either way it looks.
            with contextlib.suppress(OSError):
                os.write(pipe.fileno(), b"w")

    def _watch(self) -> None:
        failures = 0
        while not self.stopping.is_set():
            assert self.proc is not None
            code = self.proc.wait()
            if self.stopping.is_set():
                break
            failures += 1
            delay = min(60.0, 2.0 ** min(failures - 1, 6))
            log.error("mail ingest process exited (%s); starting it again in %.0f s", code, delay)
            if self.stopping.wait(delay):
                break
            self._spawn()

    def stop(self, wait: float = 30.0) -> None:
        self.stopping.set()
        store.off_stored(self.wake)
        with self.lock:
            proc = self.proc
            if proc is None:
                return
            if proc.stdin is not None:
                proc.stdin.close()  # the child finishes the message it is on and exits
        try:
            proc.wait(wait)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run_child(niceness: int) -> int:
    """`samtale ingest --child`: the ingest loop until stdin closes; each byte read is a wake-up."""
    if niceness:
        os.nice(niceness)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the parent, which closes our pipe

    def terminate(_signum: int, _frame: Any) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, terminate)
    loop = IngestLoop()
    loop.start()
    try:
        while os.read(0, 4096):
            store.mark_arrival()  # the parent is receiving: on SQLite, step aside (`let_arrivals_in`)
            loop.wake()
    finally:
        loop.stop(wait=30.0)
    return 0
