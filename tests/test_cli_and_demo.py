from __future__ import annotations

import io
from contextlib import redirect_stdout

from django.test import Client

from samtale.accounts.models import Account, User
from samtale.cli import main
from samtale.inbox import queries
from samtale.inbox.models import ChannelKind, Conversation, Inbox
from tests.conftest import World


def test_token_create_prints_a_working_token(world: World) -> None:
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["token", "create", "--email", "bob@acme.test"]) == 0
    token = out.getvalue().strip()
    assert Client(HTTP_AUTHORIZATION=f"Bearer {token}").get("/api/v1/me").json()["email"] == "bob@acme.test"
    assert main(["token", "create", "--email", "nobody@acme.test"]) == 1


def test_demo_fills_every_view(db) -> None:  # type: ignore[no-untyped-def]
    out = io.StringIO()
    with redirect_stdout(out):
        assert main(["demo", "--if-empty"]) == 0
    assert "admin@demo.samtale.example" in out.getvalue()
    assert Account.objects.count() == 1 and User.objects.count() == 6
    assert Conversation.objects.count() == 300
    admin = User.objects.get(email="admin@demo.samtale.example")
    assert set(Conversation.objects.values_list("channel_kind", flat=True)) == set(ChannelKind.values)
    totals = {key: 0 for key in queries.VIEW_KEYS}
    for inbox in Inbox.objects.all():
        for key, value in queries.view_counts(inbox, admin).items():
            totals[key] += value
    empty = [key for key, value in totals.items() if value == 0]
    assert empty == [], f"views without demo conversations: {empty}"
    assert Conversation.objects.filter(message_count__gte=3).count() > 100
    from samtale.crm.models import Stage
    from samtale.tickets.models import Ticket

    # tickets in every stage of the default pipeline, a closed one only on a closed conversation
    assert set(Ticket.objects.values_list("stage_id", flat=True)) == set(
        Stage.objects.filter(pipeline__kind="ticket").values_list("pk", flat=True)
    )
    assert not Ticket.objects.filter(closed_at__isnull=False, conversation__status="open").exists()
    from samtale.deals.models import Deal

    assert Deal.objects.count() == 10 and Deal.objects.filter(closed_at__isnull=False).exists()
    from samtale.crm.models import CustomRecord

    assert CustomRecord.objects.filter(type__singular="Abonnement", contacts__isnull=False).count() == 25
    from samtale.crm.models import Company, Contact, TimelineEntry
    from samtale.feedback.models import Survey

    assert Contact.objects.count() >= 200 and Company.objects.exclude(domain="").count() == 30
    assert Contact.objects.filter(company__isnull=False).count() > 80  # associated by their email's domain
    assert not Company.objects.filter(domain__in=["gmail.com", "outlook.com", "online.no", "hotmail.com"]).exists()

    answered = Survey.objects.exclude(score=None)
    assert answered.count() >= 10 and len(set(answered.values_list("score", flat=True))) >= 3
    assert TimelineEntry.objects.filter(kind="feedback.answered").count() == answered.count()
    assert Survey.objects.filter(state="skipped").exclude(reason="").exists()  # some were not for a survey
    with redirect_stdout(io.StringIO()):
        assert main(["demo", "--if-empty"]) == 0  # idempotent
    assert Conversation.objects.count() == 300
