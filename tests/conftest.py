"""Personas (Healthchecks/Zulip style): an admin, two agents, a user without permissions,
and an outsider in another account. Everything is set up through actions."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client

from samtale.accounts import actions as account_actions
from samtale.accounts.models import Account, Role, Seat, User
from samtale.core import events as core_events
from samtale.core.events import Event
from samtale.inbox import actions
from samtale.inbox.models import Channel, Conversation, Inbox, Message

PASSWORD = "correct horse battery"


def pytest_configure(config: pytest.Config) -> None:
    # Argon2 (the product's hasher) made creating the personas most of every test's setup time.
    # Tests only need passwords to work, not to resist cracking.
    from django.conf import settings

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # Mail is read in the ingest process here (most tests store mail inside a transaction a reader
    # process could not see); the reader has its own tests, and runs in every server the e2e start.
    settings.SAMTALE_INGEST_READER = False
    # Each test process has files of its own (attachments, stored mail, the SMTP spool): a test that
    # checks the spool is empty must not see a large message another process is receiving.
    settings.MEDIA_ROOT = settings.DATA_DIR / "test-media" / os.environ.get("PYTEST_XDIST_WORKER", "main")


def pytest_sessionstart(session: pytest.Session) -> None:
    # A PostgreSQL run that silently fell back to SQLite would prove nothing.
    url = os.environ.get("SAMTALE_DATABASE_URL", "")
    from django.conf import settings

    engine = settings.DATABASES["default"]["ENGINE"]
    if url.startswith("postgres") and "postgresql" not in engine:
        raise pytest.UsageError("SAMTALE_DATABASE_URL asks for PostgreSQL but Django is not using it")


@dataclass
class World:
    account: Account
    admin: User  # alice: super admin
    agent: User  # bob: agent with hide_messages
    agent2: User  # carol: agent
    noperm: User  # dave: member without any permission
    support: Inbox
    email: Channel
    chat: Channel
    outsider: User  # eve: super admin of another account
    other_account: Account
    other_inbox: Inbox
    other_email: Channel

    def inbound(
        self, subject: str = "Help", text: str = "Hello", sender: str = "kunde@example.com", **kw: Any
    ) -> Conversation:
        channel = kw.pop("channel", self.email)
        message = actions.receive_inbound(
            channel,
            actions.InboundMessage(
                sender_address=sender, sender_name=kw.pop("name", "Kunde"), subject=subject, text=text, **kw
            ),
        )
        return message.conversation

    def token(self, user: User) -> str:
        """A fresh API token of `user` (clear text)."""
        _token, clear = account_actions.create_api_token(user, acting_user=user, name="tests")
        return clear

    def first_message(self, conversation: Conversation) -> Message:
        return conversation.messages.order_by("id").first()  # type: ignore[return-value]


def make_world() -> World:
    account, admin = account_actions.create_account(
        name="Acme", admin_email="alice@acme.test", admin_name="Alice Admin", password=PASSWORD
    )
    agent = account_actions.create_user(
        account,
        acting_user=admin,
        email="bob@acme.test",
        name="Bob Agent",
        password=PASSWORD,
        permissions=["hide_messages"],
        seat=Seat.SERVICE,
    )
    agent2 = account_actions.create_user(
        account, acting_user=admin, email="carol@acme.test", name="Carol Agent", password=PASSWORD, seat=Seat.SERVICE
    )
    noperm = account_actions.create_user(
        account, acting_user=admin, email="dave@acme.test", name="Dave Plain", password=PASSWORD, role=Role.USER
    )
    support = actions.create_inbox(account, acting_user=admin, name="Support", members=[agent, agent2, noperm])
    email = actions.create_channel(
        support, acting_user=admin, kind="email", name="Support mail", address="support@acme.test"
    )
    chat = actions.create_channel(support, acting_user=admin, kind="chat", name="Web chat")
    other_account, outsider = account_actions.create_account(
        name="Evil Corp", admin_email="eve@evil.test", admin_name="Eve Outsider", password=PASSWORD
    )
    other_inbox = actions.create_inbox(other_account, acting_user=outsider, name="Evil inbox", members=[outsider])
    other_email = actions.create_channel(
        other_inbox, acting_user=outsider, kind="email", name="Evil mail", address="mail@evil.test"
    )
    from samtale.channels.email.actions import verify_address

    for channel in (email, other_email):  # the accounts own these addresses (tests of proving it: mail/)
        verify_address(channel, how="test setup")
    return World(
        account, admin, agent, agent2, noperm, support, email, chat, outsider, other_account, other_inbox, other_email
    )


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    """Ids repeat across tests (rolled back), so nothing cached may outlive a test."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _language_and_zone_reset() -> Iterator[None]:
    """A request served in-process activates its user's language and time zone on this thread and
    leaves them there: a Norwegian screen test made the next test on the worker read Norwegian."""
    from django.utils import timezone, translation

    yield
    translation.deactivate()
    timezone.deactivate()


@pytest.fixture
def world(db: Any) -> World:
    return make_world()


@pytest.fixture
def world_tx(transactional_db: Any) -> World:
    return make_world()


@pytest.fixture
def listener(transactional_db: Any) -> Iterator[Any]:
    """The real SMTP listener on a loopback port (mail sent to it is stored; `process_pending`)."""
    from samtale.channels.email.smtpd import Listener

    server = Listener("127.0.0.1", 0).start()
    yield server
    server.stop()


@pytest.fixture
def client_for() -> Callable[[User], Client]:
    def make(user: User) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make


@pytest.fixture
def published() -> Iterator[list[Event]]:
    """The events actions publish (after commit) during the test."""
    seen: list[Event] = []
    core_events._listeners.append(seen.append)
    try:
        yield seen
    finally:
        core_events._listeners.remove(seen.append)
