"""Seeds the database of an e2e server through actions; prints ids as JSON."""

from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "samtale.settings")


def main() -> None:
    import django

    django.setup()
    from samtale.accounts import actions as account_actions
    from samtale.inbox import actions
    from tests.conftest import make_world

    world = make_world()
    second = actions.create_inbox(world.account, acting_user=world.admin, name="Sales", members=[world.agent])
    from samtale.channels.email.actions import verify_address

    sales = actions.create_channel(
        second, acting_user=world.admin, kind="email", name="Sales mail", address="sales@acme.test"
    )
    verify_address(sales, how="test setup")
    # the chat tests' widget lives in an inbox of its own: every visitor is a new conversation, and
    # in the first inbox they pushed the seeded ones off its first page for the other browser tests
    web = actions.create_inbox(
        world.account, acting_user=world.admin, name="Web", members=[world.agent, world.agent2, world.noperm]
    )
    web_chat = actions.create_channel(web, acting_user=world.admin, kind="chat", name="Web chat")
    web_mail = actions.create_channel(
        web, acting_user=world.admin, kind="email", name="Web mail", address="web@acme.test"
    )
    verify_address(web_mail, how="test setup")  # (transcripts and hand-over to email go from it)
    subjects = {}
    for key in ["reply", "mention", "assign", "close", "bulk1", "bulk2", "bulk3", "trash", "block", "permalink", "hide",
                "search", "live", "fanout", "ws"]:  # fmt: skip
        text = "The zebrafish invoice is wrong" if key == "search" else f"Body of {key}"
        c = world.inbound(f"E2E {key}", text=text, sender=f"{key}@customer.example", name=f"Customer {key.title()}")
        subjects[key] = c.pk
    # in the second inbox: more conversations in the first would push the oldest off its first page
    for key in ["trashbulk1", "trashbulk2", "trashbulk3", "undo"]:
        subjects[key] = world.inbound(
            f"E2E {key}", text=f"Body of {key}", sender=f"{key}@customer.example", channel=sales
        ).pk
    # a long thread (its own inbox's list is unaffected): 80 messages a minute apart, the newest last
    from datetime import timedelta

    from django.utils import timezone

    from samtale.inbox.models import Message

    long = world.inbound("E2E longthread", text="Message number 0", sender="long@customer.example", channel=sales)
    start = timezone.now() - timedelta(hours=3)
    Message.objects.filter(conversation=long).update(created_at=start)
    Message.objects.bulk_create(
        Message(account=world.account, conversation=long, direction="in", channel_kind="email",
                sender_address="long@customer.example", text=f"Message number {i}",
                html=f"<p>Message number {i}</p>" + "<p>Line of text.</p>" * 8, created_at=start + timedelta(minutes=i))
        for i in range(1, 80)
    )  # fmt: skip
    subjects["longthread"] = long.pk
    unread = world.inbound("E2E unread", text="Unread 0", sender="unread@customer.example", channel=sales)
    Message.objects.filter(conversation=unread).update(created_at=start)
    Message.objects.bulk_create(
        Message(account=world.account, conversation=unread, direction="in", channel_kind="email",
                sender_address="unread@customer.example", text=f"Unread {i}", html=f"<p>Unread {i}</p>" * 4,
                created_at=start + timedelta(minutes=i))
        for i in range(1, 20)
    )  # fmt: skip
    subjects["unread"] = unread.pk
    tokens = {}
    for name, user in {
        "admin": world.admin,
        "agent": world.agent,
        "agent2": world.agent2,
        "noperm": world.noperm,
    }.items():
        tokens[name] = account_actions.create_api_token(user, acting_user=user, name="e2e")[1]
    from samtale.crm import actions as crm_actions
    from samtale.inbox.models import Conversation

    crm_actions.define_property(world.account, acting_user=world.admin, label="Plan", type="dropdown",
                                options="basic: Basic\npro: Pro")  # fmt: skip
    contacts = {key: Conversation.objects.get(pk=subjects[key]).contact_id for key in ("search", "permalink")}
    # tickets: in an inbox of their own (the others' lists and counts stay as their tests expect)
    from samtale.tickets import actions as ticket_actions

    service = actions.create_inbox(world.account, acting_user=world.admin, name="Service",
                                   members=[world.agent, world.agent2])  # fmt: skip
    service_mail = actions.create_channel(service, acting_user=world.admin, kind="email", name="Service mail",
                                          address="service@acme.test")  # fmt: skip
    verify_address(service_mail, how="test setup")
    for key in ("ticket", "ticketless", "ticketed", "board1", "board2"):
        subjects[key] = world.inbound(f"E2E {key}", text=f"Body of {key}", sender=f"{key}@customer.example",
                                      name=f"Customer {key.title()}", channel=service_mail).pk  # fmt: skip
    tickets = {}
    for key, name in (("ticketed", "Broken invoice export"), ("board1", "Login fails on Safari"),
                      ("board2", "Refund for order 1042")):  # fmt: skip
        tickets[key] = ticket_actions.create_ticket(
            world.account, acting_user=world.agent, conversation=Conversation.objects.get(pk=subjects[key]), name=name
        ).pk
    import io

    from samtale.crm import imports
    from samtale.crm.actions import create_company

    upload = "Navn;E-post;Telefon\nKari Import;kari@import.example;+47 412 34 567\n".encode("cp1252")
    pending_import = imports.upload(world.account, acting_user=world.admin, name="kunder.csv",
                                    stream=io.BytesIO(upload), size=len(upload)).pk  # fmt: skip
    company = create_company(world.account, acting_user=world.admin, name="Customer Example AS",
                             domain="customer.example").pk  # fmt: skip
    from samtale.deals.actions import create_deal

    deal = create_deal(world.account, acting_user=world.agent, name="Årsavtale Customer Ticketed", amount="48000",
                       conversation=Conversation.objects.get(pk=subjects["ticketed"])).pk  # fmt: skip
    from samtale.crm import objects

    kind = objects.define_type(world.account, acting_user=world.admin, singular="Abonnement", plural="Abonnementer",
                               label="Plan", fields=[("Plan", "dropdown", "Basis\nPro"), ("Fornyes", "date", "")])  # fmt: skip
    record = objects.save_record(kind, acting_user=world.admin, contact_ids=[contacts["search"]],
                                 values={objects.definitions(kind)[0].key: "Pro"}).pk  # fmt: skip
    # a closed conversation whose survey went out by email (to Django's in-memory outbox here)
    from django.test.utils import override_settings

    from samtale.feedback import actions as feedback_actions
    from samtale.feedback.models import Survey

    feedback_actions.update_settings(service, acting_user=world.admin, enabled=True, delay_minutes=0,
                                     second_en="What could we do better?")  # fmt: skip
    rated = world.inbound("E2E feedback", text="Where is my invoice?", sender="rated@customer.example",
                          name="Customer Rated", channel=service_mail)  # fmt: skip
    subjects["feedback"] = rated.pk
    actions.assign_conversation(rated, acting_user=world.admin, owner=world.agent)
    with override_settings(SAMTALE_EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend"):
        from samtale.channels.email.outbound import deliver

        answer = actions.reply_to_conversation(rated, acting_user=world.agent, text="It is on its way.")
        assert deliver(answer.pk) == "sent"  # now, not by the server's worker in the middle of a test
        actions.close_conversation(rated, acting_user=world.agent)
        survey = Survey.objects.get(conversation=rated)
        feedback_actions.send_survey(survey.pk)
    survey.refresh_from_db()
    assert survey.state == "sent", survey.reason
    survey_token = feedback_actions.token_of(survey)
    json.dump(
        {"contacts": contacts, "survey_token": survey_token, "tickets": tickets, "deal": deal, "object_type": kind.pk, "record": record, "pending_import": pending_import, "company": company, "service_inbox": service.pk, "inbox": world.support.pk, "second_inbox": second.pk, "chat_channel": web_chat.pk, "chat_inbox": web.pk, "conversations": subjects, "tokens": tokens,
         "users": {"admin": world.admin.pk, "agent": world.agent.pk, "agent2": world.agent2.pk, "noperm": world.noperm.pk}},
        sys.stdout,
    )  # fmt: skip


if __name__ == "__main__":
    main()
