"""The `samtale` command: serve, worker, demo, token, and every Django management command."""

from __future__ import annotations

import argparse
import os
import sys
import threading
from typing import Any


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "samtale.settings")
    # A long-running process borrows PostgreSQL connections from a pool of its own: a request or a
    # socket's database call takes one for its duration instead of connecting anew (SQLite: unused).
    os.environ.setdefault("SAMTALE_DB_POOL_SIZE", "30")
    import django

    django.setup()


def _warm() -> None:
    """Load what the first request would (URLs, templates), then freeze it for the GC."""
    from django.template.loader import get_template
    from django.urls import get_resolver

    from samtale.core.runtime import freeze_startup_objects

    get_resolver().url_patterns  # noqa: B018 -- imports every view module
    for name in ("inbox/inbox.html", "availability/management.html", "availability/user_record.html"):
        get_template(name)
    freeze_startup_objects()


def _uvicorn_options() -> dict[str, Any]:
    from samtale.core.httpguard import GuardedHttpToolsProtocol

    return {
        "log_level": "info", "lifespan": "off",
        # deadlines for headers and bodies, and connections per client address (core.httpguard)
        "http": GuardedHttpToolsProtocol,
        # proxy_headers off: which proxies to believe is Samtale's decision (SAMTALE_TRUSTED_PROXIES)
        "proxy_headers": False,
        # frames are small JSON: compressing them is not worth a zlib state per socket (a chat
        # widget on every visitor's page is thousands of sockets); a widget's frame is at most
        # 16 KB (checked with a clear error), anything past 1 MB is cut off by the server
        "ws_per_message_deflate": False, "ws_max_size": 1024 * 1024,
    }  # fmt: skip


def serve(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="samtale serve", description="Web + WebSocket + background worker")
    parser.add_argument("--host", default=os.environ.get("SAMTALE_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("SAMTALE_HTTP_PORT", "8000")))
    parser.add_argument("--no-worker", action="store_true", help="do not run the background worker in-process")
    parser.add_argument("--no-smtp", action="store_true", help="do not run the SMTP listener in-process")
    parser.add_argument("--no-ingest", action="store_true", help="do not process stored mail in this process")
    parser.add_argument(
        "--web-processes", type=int, default=int(os.environ.get("SAMTALE_WEB_PROCESSES", "0")),
        help="processes serving HTTP and WebSockets on the port (default: one per core)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    pool_chosen = "SAMTALE_DB_POOL_SIZE" in os.environ
    _setup()
    import uvicorn
    from django.conf import settings

    from samtale.channels.email.imap import Watchers
    from samtale.channels.email.ingest import IngestLoop, IngestProcess
    from samtale.core import hub, serving
    from samtale.core.tasks import WorkerThreads

    processes = max(1, args.web_processes or serving.default_count())
    web, event_hub = None, None
    if processes > 1:  # bound before anything starts: a port in use fails at once
        sock = serving.listening_socket(args.host, args.port)
        env = {}
        if not pool_chosen:  # PostgreSQL: the processes share the connections one would have had
            env["SAMTALE_DB_POOL_SIZE"] = str(max(5, 30 // processes))
        if not settings.REDIS_URL:  # the web processes share events through this process
            event_hub = hub.Hub()
            event_hub.start()
            env[hub.ENV] = event_hub.path
        web = serving.WebProcesses(sock, processes, env)
    workers = None
    mail = None if args.no_smtp else _start_mail()
    # With Redis, a child process's events reach this process's WebSockets and its cache is
    # shared: parse mail there, off this process's GIL. Without, everything stays in this process.
    ingest: IngestLoop | IngestProcess | None = None
    if not args.no_ingest:
        ingest = IngestProcess() if settings.REDIS_URL else IngestLoop()
        ingest.start()
    mailboxes = Watchers()
    if not args.no_worker:
        workers = WorkerThreads()
        workers.start()
        mailboxes.start()
    try:
        if web is not None:
            stop = _stop_on_signal()
            web.start()
            print(f"Serving http://{args.host}:{args.port}/ with {processes} web processes", flush=True)
            stop.wait()
            web.stop()
            if event_hub is not None:
                event_hub.stop()
        else:
            uvicorn.run("samtale.asgi:application", host=args.host, port=args.port, **_uvicorn_options())
    finally:
        if workers is not None:
            workers.stop()
        if ingest is not None:
            ingest.stop()
        mailboxes.stop()
        if mail is not None:
            mail.stop()
    return 0


def web_command(argv: list[str]) -> int:
    """One web process of `serve --web-processes N`: uvicorn on the socket the parent bound."""
    parser = argparse.ArgumentParser(prog="samtale web", description="HTTP + WebSocket on an inherited socket")
    parser.add_argument("--fd", type=int, required=True)
    parser.add_argument("--index", type=int, default=0)
    args = parser.parse_args(argv)
    from samtale.core.serving import exit_with_parent

    exit_with_parent()  # first: a parent that dies while this one starts up takes it along too
    _setup()
    _warm()
    import socket

    import uvicorn
    from channels.layers import get_channel_layer

    from samtale.core import hub

    sock = socket.socket(fileno=args.fd)
    if hub.active():  # no Redis: events from the other processes come through the parent's hub
        get_channel_layer()  # (the layer receives them)
        hub.connect()
    server = uvicorn.Server(uvicorn.Config("samtale.asgi:application", **_uvicorn_options()))
    server.run(sockets=[sock])
    return 0


def _start_mail() -> Any:
    from django.conf import settings

    from samtale.channels.email.smtpd import Listener

    listener = Listener(settings.SAMTALE_SMTP_HOST, settings.SAMTALE_SMTP_PORT, settings.SAMTALE_LMTP_PORT).start()
    print(f"SMTP listening on {settings.SAMTALE_SMTP_HOST}:{listener.port}", flush=True)
    return listener


def _stop_on_signal() -> threading.Event:
    """An event set by SIGTERM or SIGINT (Ctrl-C)."""
    import signal

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    return stop


def smtpd(argv: list[str]) -> int:
    """The SMTP/LMTP listener and the mail ingest loop alone (scale-out: run it beside the web)."""
    parser = argparse.ArgumentParser(prog="samtale smtpd", description="SMTP/LMTP listener + mail ingest")
    parser.add_argument("--no-ingest", action="store_true", help="only accept and store; workers process the mail")
    args = parser.parse_args(argv)
    os.environ.setdefault("SAMTALE_SQLITE_MMAP_BYTES", "0")  # SQLite: the listener only inserts
    _setup()
    from samtale.channels.email.ingest import IngestProcess

    stop = _stop_on_signal()
    from samtale.core.metrics import serve_own_metrics

    serve_own_metrics()
    listener = _start_mail()
    # received mail is parsed in a child process at lower priority: acknowledging comes first
    ingest = IngestProcess()
    if not args.no_ingest:
        ingest.start()
    stop.wait()
    listener.stop()
    ingest.stop()
    return 0


def ingest_command(argv: list[str]) -> int:
    """The mail ingest loop alone: parses stored mail into conversations until stopped."""
    parser = argparse.ArgumentParser(prog="samtale ingest", description="mail ingest loop")
    parser.add_argument("--child", action="store_true", help="run for the parent on stdin (woken by it, until EOF)")
    parser.add_argument("--nice", type=int, default=0, help="lower this process's CPU priority by N")
    args = parser.parse_args(argv)
    _setup()
    from samtale.channels.email.ingest import run_child

    if args.child:
        return run_child(args.nice)
    from samtale.channels.email.ingest import IngestLoop

    if args.nice:
        os.nice(args.nice)
    stop = _stop_on_signal()
    loop = IngestLoop()
    loop.start()
    stop.wait()
    loop.stop(wait=30.0)
    return 0


def worker(argv: list[str]) -> int:
    """The background worker alone: tasks, periodic jobs, mail ingest and IMAP watchers, each a
    supervised loop, until SIGTERM/SIGINT."""
    parser = argparse.ArgumentParser(prog="samtale worker", description="background worker")
    parser.add_argument("--no-scheduler", action="store_true", help="do not enqueue periodic jobs from this worker")
    parser.add_argument("--no-ingest", action="store_true", help="do not process stored mail in this worker")
    parser.add_argument("--no-imap", action="store_true", help="do not watch IMAP mailboxes from this worker")
    args = parser.parse_args(argv)
    _setup()
    from samtale.channels.email.imap import Watchers
    from samtale.channels.email.ingest import IngestLoop
    from samtale.core.tasks import WorkerThreads

    stop = _stop_on_signal()
    from samtale.core.metrics import serve_own_metrics

    serve_own_metrics()
    threads = WorkerThreads(schedule=not args.no_scheduler)
    threads.start()
    ingest = IngestLoop()  # stored mail is processed by every worker (each message is claimed)
    if not args.no_ingest:
        ingest.start()
    mailboxes = Watchers()  # IMAP mailboxes: run exactly one worker process with them (see README)
    if not args.no_imap:
        mailboxes.start()
    stop.wait()
    mailboxes.stop()
    ingest.stop(wait=30.0)
    threads.stop(wait=30.0)
    return 0


def demo(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="samtale demo")
    parser.add_argument("--if-empty", action="store_true", help="only when the database has no account")
    parser.add_argument("--conversations", type=int, default=300)
    args = parser.parse_args(argv)
    _setup()
    from samtale.demo import load_demo

    return load_demo(if_empty=args.if_empty, conversations=args.conversations)


def token(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="samtale token")
    sub = parser.add_subparsers(dest="cmd", required=True)
    create = sub.add_parser("create")
    create.add_argument("--email", required=True)
    create.add_argument("--name", default="CLI token")
    args = parser.parse_args(argv)
    _setup()
    from samtale.accounts.actions import create_api_token
    from samtale.accounts.models import User

    try:
        user = User.objects.get(email=args.email.strip().lower())
    except User.DoesNotExist:
        print(f"No user with email {args.email}", file=sys.stderr)
        return 1
    _token, clear = create_api_token(user, acting_user=user, name=args.name)
    print(clear)
    return 0


COMMANDS = {
    "serve": serve, "web": web_command, "worker": worker, "smtpd": smtpd, "ingest": ingest_command, "demo": demo,
    "token": token,
}  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in COMMANDS:
        return COMMANDS[argv[0]](argv[1:])
    if not argv or argv[0] in {"-h", "--help", "help"}:
        print("usage: samtale {serve,worker,smtpd,ingest,demo,token} | <django management command>")
        print("  serve    web + websocket + SMTP listener + worker (--web-processes N: web on N cores)")
        print("  worker   background worker alone")
        print("  smtpd    SMTP/LMTP listener and mail ingest alone")
        print("  ingest   mail ingest loop alone (parses stored mail)")
        print("  demo     load the demo account (--if-empty)")
        print("  token    create --email E: print a new API token")
        return 0
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "samtale.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["samtale", *argv])
    return 0


if __name__ == "__main__":
    sys.exit(main())
