"""Feedback surveys (D3): scheduled when a conversation closes, sent after the inbox's delay by
email (a real SMTP server receives it) with 1-5 links to a signed comment page, never to Spam,
Filtered, blocked senders, auto-replies, bot-only chats or outbound mail nobody answered; the
answer lands on the contact's timeline, in Past feedback beside the conversation, in the API's
counts per inbox and agent; editable for 24 hours, the link valid 14 days."""

from __future__ import annotations

import email
import re
from datetime import timedelta
from email import policy
from typing import Any

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from samtale.core.clock import now
from samtale.crm.models import TimelineEntry
from samtale.feedback import actions, queries
from samtale.feedback.models import State, Survey
from samtale.feedback.tasks import send_due_surveys
from samtale.inbox import actions as inbox_actions
from tests.channels.email.conftest import Outbox
from tests.conftest import PASSWORD, World


def turn_on(world: World, delay: int = 0, **questions: str) -> None:
    actions.update_settings(world.support, acting_user=world.admin, enabled=True, delay_minutes=delay, **questions)


def answered_conversation(world: World, sender: str = "kari@fjord.no", agent: Any = None) -> Any:
    conversation = world.inbound(subject="Faktura 1042", text="Hvor er fakturaen?", sender=sender, name="Kari Nordmann")
    inbox_actions.assign_conversation(conversation, acting_user=world.admin, owner=agent or world.agent)
    inbox_actions.reply_to_conversation(conversation, acting_user=agent or world.agent, text="Den er sendt nå.")
    return conversation


def close(world: World, conversation: Any) -> Survey | None:
    inbox_actions.close_conversation(conversation, acting_user=world.agent)
    return Survey.objects.filter(conversation=conversation).first()


def links_in(mail_bytes: bytes) -> tuple[Any, list[str]]:
    sent = email.message_from_bytes(mail_bytes, policy=policy.default)
    text = sent.get_body(("plain",)).get_content()
    return sent, re.findall(r"^\d: (\S+)\r?$", text, flags=re.M)


def test_a_closed_conversation_gets_a_survey_by_email_and_the_answer_lands_everywhere(
    world_tx: World,
    outbox: Outbox,
    published: Any,
) -> None:
    world = world_tx
    turn_on(world, delay=30, second_en="What could we do better?")
    conversation = answered_conversation(world)
    survey = close(world, conversation)
    assert survey is not None and survey.state == State.SCHEDULED and survey.agent == world.agent
    assert actions.send_survey(survey.pk) == ""  # not due yet: nothing sent
    assert outbox.messages == []
    with time_machine.travel(now() + timedelta(minutes=31)):
        assert send_due_surveys.call() == 1
        assert send_due_surveys.call() == 0  # never twice
    assert len(outbox.messages) == 1 and outbox.messages[0].rcpt_tos == ["kari@fjord.no"]
    sent, links = links_in(outbox.messages[0].data)
    assert sent["Auto-Submitted"] == "auto-generated" and "support@acme.test" in sent["From"]
    assert sent["Subject"] == "How did we do? (Faktura 1042)"
    assert sent["In-Reply-To"]  # in the conversation's thread
    assert [link.rsplit("=", 1)[1] for link in links] == ["1", "2", "3", "4", "5"]
    html = sent.get_body(("html",)).get_content()
    assert all(link.replace("&", "&amp;") in html or link in html for link in links)
    path = links[3].split("://", 1)[1].split("/", 1)[1]
    customer = Client(enforce_csrf_checks=True)
    page = customer.get("/" + path)
    body = page.content.decode()
    assert page.status_code == 200 and "How would you rate the help you got?" in body
    assert 'value="4" required checked' in body and "What could we do better?" in body
    survey.refresh_from_db()
    assert survey.score is None  # opening the link (a link checker, a preview) records nothing
    csrf = customer.cookies["csrftoken"].value
    answer = customer.post(
        "/" + path.split("?")[0],
        {"score": "4", "comment": "Rask hjelp, takk!", "second_answer": "Svar i helgene", "csrfmiddlewaretoken": csrf},
    )
    assert answer.status_code == 200 and "Your answer is saved" in answer.content.decode()
    survey.refresh_from_db()
    assert (survey.score, survey.comment, survey.second_answer) == (4, "Rask hjelp, takk!", "Svar i helgene")
    line = TimelineEntry.objects.get(subject_type="survey", subject_id=survey.pk)
    assert line.contact_id == conversation.contact_id and line.kind == "feedback.answered"
    assert line.data["score"] == 4 and line.data["comment"] == "Rask hjelp, takk!"
    assert any(e.type == "feedback.changed" and conversation.pk in e.data["conversation_ids"] for e in published)
    # changed within a day: the same answer, the timeline line follows
    actions.answer(actions.token_of(survey), score=5, comment="Enda bedre")
    line.refresh_from_db()
    assert line.data["score"] == 5 and TimelineEntry.objects.filter(subject_type="survey").count() == 1
    figures = queries.summary(world.agent, since=None, until=None)
    assert (figures["sent"], figures["answered"], figures["average"]) == (1, 1, 5.0)
    assert figures["agents"][0]["id"] == world.agent.pk and figures["agents"][0]["scores"]["5"] == 1
    assert figures["inboxes"][0]["id"] == world.support.pk
    # the agent's screen: Past feedback beside the conversation
    agent = Client()
    agent.login(username="bob@acme.test", password=PASSWORD)
    section = agent.get(f"/c/{conversation.pk}/feedback/").content.decode()
    assert "5 of 5" in section and "Enda bedre" in section and "This conversation" in section
    # a day later it stays as it is; after 14 days the link is gone
    token = actions.token_of(survey)
    with time_machine.travel(now() + timedelta(hours=25)):
        with pytest.raises(ValidationError, match="can no longer be changed"):
            actions.answer(token, score=1)
        assert "Your answer: 5 of 5" in customer.get("/" + path).content.decode()
    with time_machine.travel(now() + timedelta(days=15)):
        assert customer.get("/" + path).status_code == 410


def reason_for(world: World, conversation: Any) -> str:
    """Close it (if open) and try to send its survey: why it was not sent."""
    conversation.refresh_from_db()
    if conversation.status != "closed":
        inbox_actions.close_conversation(conversation, acting_user=world.agent)
    survey = Survey.objects.get(conversation=conversation)
    assert actions.send_survey(survey.pk) == State.SKIPPED
    survey.refresh_from_db()
    return survey.reason


def test_no_survey_for_spam_blocked_auto_replies_unanswered_or_bot_only(world: World) -> None:
    from samtale.inbox.actions import send_automated

    turn_on(world)
    spam = answered_conversation(world, sender="spam@x.example")
    inbox_actions.close_conversation(spam, acting_user=world.agent)
    inbox_actions.mark_spam(spam, acting_user=world.agent)
    assert "Spam" in reason_for(world, spam)
    # closed with its survey scheduled, then the sender is blocked from another conversation
    earlier = answered_conversation(world, sender="angry@x.example")
    inbox_actions.close_conversation(earlier, acting_user=world.agent)
    later = world.inbound(subject="Again", sender="angry@x.example")
    assert later.contact_id == earlier.contact_id and later.pk != earlier.pk
    inbox_actions.block_sender(later, acting_user=world.admin)
    assert reason_for(world, earlier) == "The sender is blocked."
    # only an auto-reply from the customer
    auto = world.inbound(subject="Out of office", sender="away@x.example", auto_reply=True)
    inbox_actions.reply_to_conversation(auto, acting_user=world.agent, text="Hei")
    assert "auto-replies" in reason_for(world, auto)
    # outbound mail nobody answered
    outbound = inbox_actions.compose_conversation(
        world.email, acting_user=world.agent, to="quiet@x.example", subject="Tilbud", text="Se vedlagt"
    )
    assert "never wrote" in reason_for(world, outbound)
    # nobody on the team answered: a bot's (automated) messages only, or only a forward elsewhere
    from samtale.crm import actions as crm_actions

    visitor = crm_actions.new_contact(world.account, acting_user=world.admin, name="Besøkende", values={})
    bot = world.inbound(subject="Bot", sender="", channel=world.chat, name="Besøkende", contact=visitor)
    send_automated(bot, text="Hei! Hva gjelder det?", sender_name="Samtalebot")
    assert reason_for(world, bot) == "Nobody on the team answered."
    forwarded = world.inbound(subject="Fwd only", sender="fwd@x.example")
    inbox_actions.forward_message(world.first_message(forwarded), acting_user=world.agent, to="partner@y.example")
    assert reason_for(world, forwarded) == "Nobody on the team answered."


def test_a_survey_skipped_once_is_sent_when_the_reason_is_gone(world_tx: World, outbox: Outbox) -> None:
    """Outbound mail nobody answered gets no survey; when the customer answers later and the
    conversation is closed again, it does."""
    world = world_tx
    turn_on(world)
    conversation = inbox_actions.compose_conversation(
        world.email, acting_user=world.agent, to="later@x.example", subject="Tilbud & pris", text="Se vedlagt"
    )
    assert "never wrote" in reason_for(world, conversation)
    world.inbound(subject="Re: Tilbud & pris", text="Takk, jeg vil gjerne", sender="later@x.example",
                  conversation=conversation)  # fmt: skip
    conversation.refresh_from_db()
    assert conversation.status == "open"
    inbox_actions.reply_to_conversation(conversation, acting_user=world.agent, text="Flott!")
    survey = close(world, conversation)
    assert survey is not None and survey.state == State.SCHEDULED and survey.reason == ""
    assert actions.send_survey(survey.pk) == State.SENT
    sent, _links = links_in(outbox.messages[-1].data)
    assert sent["Subject"] == "How did we do? (Tilbud & pris)"  # not "&amp;"


def test_reopening_cancels_and_closing_again_schedules_once_more_but_a_sent_one_is_never_repeated(
    world_tx: World,
    outbox: Outbox,
) -> None:
    world = world_tx
    turn_on(world, delay=10)
    conversation = answered_conversation(world)
    survey = close(world, conversation)
    assert survey is not None
    inbox_actions.reopen_conversation(conversation, acting_user=world.agent)
    survey.refresh_from_db()
    assert survey.state == State.CANCELLED
    with time_machine.travel(now() + timedelta(minutes=11)):
        assert send_due_surveys.call() == 0
    conversation.refresh_from_db()
    close(world, conversation)
    survey.refresh_from_db()
    assert survey.state == State.SCHEDULED
    with time_machine.travel(now() + timedelta(minutes=11)):
        assert actions.send_survey(survey.pk) == State.SENT
        conversation.refresh_from_db()
        inbox_actions.reopen_conversation(conversation, acting_user=world.agent)
        conversation.refresh_from_db()
        close(world, conversation)
    survey.refresh_from_db()
    assert survey.state == State.SENT and len(outbox.messages) == 1


def test_bulk_closing_schedules_surveys_too(world: World) -> None:
    turn_on(world)
    conversations = [answered_conversation(world, sender=f"c{i}@x.example") for i in range(3)]
    inbox_actions.bulk_close(world.support, acting_user=world.agent, ids=[c.pk for c in conversations])
    assert Survey.objects.filter(conversation__in=conversations, state=State.SCHEDULED).count() == 3


def test_a_surveys_link_cannot_be_forged_or_reused_for_another(world: World) -> None:
    turn_on(world)
    survey = close(world, answered_conversation(world))
    assert survey is not None
    Survey.objects.filter(pk=survey.pk).update(state=State.SENT, sent_at=now(), expires_at=now() + timedelta(days=14))
    survey.refresh_from_db()
    token = actions.token_of(survey)
    client = Client()
    from django.core import signing

    signer = signing.TimestampSigner(salt=actions.SALT)
    mismatched = [signer.sign_object({"s": survey.pk, "c": survey.conversation_id + 1}),  # validly signed,
                  signer.sign_object({"s": survey.pk + 1, "c": survey.conversation_id}),  # but not this one's
                  signing.TimestampSigner(salt="another.salt").sign_object({"s": survey.pk, "c": survey.conversation_id})]  # fmt: skip
    for bad in (token[:-2] + "xx", "nonsense", "a" * 500, *mismatched):
        assert client.get(f"/feedback/{bad}/").status_code == 404
        with pytest.raises(ValidationError):
            actions.answer(bad, score=3)
    for score in ("0", "6", "three", "", "4.5"):
        with pytest.raises(ValidationError, match="from 1 to 5"):
            actions.answer(token, score=score)
    with pytest.raises(ValidationError, match="at most 2000"):
        actions.answer(token, score=3, comment="x" * 2001)
    bad = client.post(f"/feedback/{token}/", {"score": "9"})
    assert bad.status_code == 400 and "from 1 to 5" in bad.content.decode()
    assert Survey.objects.get(pk=survey.pk).score is None


def test_settings_are_bounded_and_need_the_inbox_settings_permission(world: World) -> None:
    with pytest.raises(PermissionDenied):
        actions.update_settings(world.support, acting_user=world.noperm, enabled=True, delay_minutes=5)
    with pytest.raises(PermissionDenied):
        actions.update_settings(world.support, acting_user=world.outsider, enabled=True, delay_minutes=5)
    for delay in ("-1", "10081", "soon"):
        with pytest.raises(ValidationError):
            actions.update_settings(world.support, acting_user=world.admin, enabled=True, delay_minutes=delay)
    with pytest.raises(ValidationError, match="at most 300"):
        actions.update_settings(world.support, acting_user=world.admin, enabled=True, delay_minutes=0,
                                question_nb="x" * 301)  # fmt: skip
    admin = Client()
    admin.login(username="alice@acme.test", password=PASSWORD)
    page = admin.get("/settings/feedback/")
    body = page.content.decode()
    assert page.status_code == 200 and "Send a survey when a conversation is closed" in body  # English screen
    assert 'placeholder="Hvordan vil du vurdere hjelpen du fikk?"' in body  # each language's own default
    assert 'placeholder="How would you rate the help you got?"' in body
    saved = admin.post(f"/settings/feedback/{world.support.pk}/", {"enabled": "1", "delay_minutes": "15",
                                                                  "question_nb": "Hvordan var hjelpen?"})  # fmt: skip
    assert saved.status_code == 302
    found = actions.settings_of(world.support)
    assert found.enabled and found.delay_minutes == 15 and found.question_nb == "Hvordan var hjelpen?"
    assert actions.questions(found, "nb") == ("Hvordan var hjelpen?", "")
    assert actions.questions(found, "en")[0] == "How would you rate the help you got?"
    assert admin.post(f"/settings/feedback/{world.other_inbox.pk}/", {"enabled": "1"}).status_code == 404
    assert admin.post(f"/settings/feedback/{world.support.pk}/", {"delay_minutes": "x"}).status_code == 400


def _sent_survey(world: World, sender: str, score: int | None = None) -> Survey:
    survey = close(world, answered_conversation(world, sender=sender))
    assert survey is not None
    Survey.objects.filter(pk=survey.pk).update(state=State.SENT, sent_at=now(), expires_at=now() + timedelta(days=14),
                                               question="Q?")  # fmt: skip
    survey.refresh_from_db()
    if score is not None:
        actions.answer(actions.token_of(survey), score=score, comment=f"comment {score}")
    return survey


def test_past_feedback_is_read_with_a_fixed_number_of_queries(world: World) -> None:
    from samtale.feedback.sidebar import past_section

    turn_on(world)
    first = _sent_survey(world, "same@x.example", 2)
    conversation = first.conversation
    conversation.refresh_from_db()
    with CaptureQueriesContext(connection) as one:
        data = past_section(conversation, world.agent)
    assert data is not None and data["this"].score == 2 and data["count"] == 1
    for score in (1, 3, 4, 5, 5, 4, 3):
        _sent_survey(world, "same@x.example", score)
    with CaptureQueriesContext(connection) as many:
        data = past_section(conversation, world.agent)
    assert data is not None and data["count"] == 8 and len(data["others"]) == 5 and data["this"].score == 2
    assert len(many) == len(one) == 1
    # a survey of this conversation not answered yet is shown for what it is
    pending = _sent_survey(world, "same@x.example")
    pending.conversation.refresh_from_db()
    data = past_section(pending.conversation, world.agent)
    assert data is not None and data["this"].pk == pending.pk and data["this"].score is None and data["count"] == 8


def test_the_api_lists_answers_and_counts_per_agent_and_inbox_of_its_own_account(world: World) -> None:
    turn_on(world)
    _sent_survey(world, "a@x.example", 5)
    _sent_survey(world, "b@x.example", 3)
    _sent_survey(world, "c@x.example")  # sent, not answered
    client = Client()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {world.token(world.agent)}"}
    listed = client.get("/api/v1/feedback", **headers).json()
    assert [a["score"] for a in listed["items"]] == [3, 5] and listed["next_cursor"] == ""
    figures = client.get("/api/v1/feedback/summary", **headers).json()
    assert (figures["sent"], figures["answered"], figures["average"]) == (3, 2, 4.0)
    assert figures["agents"] == [{"id": world.agent.pk, "sent": 3, "answered": 2, "average": 4.0,
                                  "scores": {"1": 0, "2": 0, "3": 1, "4": 0, "5": 1}}]  # fmt: skip
    today = now().date().isoformat()
    assert client.get(f"/api/v1/feedback/summary?since={today}&until={today}", **headers).json()["sent"] == 3
    assert client.get("/api/v1/feedback/summary?since=1800-01-01", **headers).status_code == 422
    assert client.get("/api/v1/feedback?cursor=garbage", **headers).status_code == 400
    outsider = {"HTTP_AUTHORIZATION": f"Bearer {world.token(world.outsider)}"}
    assert client.get("/api/v1/feedback", **outsider).json()["items"] == []
    assert client.get("/api/v1/feedback/summary", **outsider).json()["sent"] == 0
    assert client.get(f"/api/v1/inboxes/{world.support.pk}/survey", **outsider).status_code == 404
    put = client.put(f"/api/v1/inboxes/{world.support.pk}/survey", {"enabled": False, "delay_minutes": 5},
                     content_type="application/json", **{"HTTP_AUTHORIZATION": f"Bearer {world.token(world.admin)}"})  # fmt: skip
    assert (
        put.status_code == 200 and put.json()["delay_minutes"] == 5 and not actions.settings_of(world.support).enabled
    )


def test_merging_moves_and_erasing_forgets_what_the_customer_wrote(world: World) -> None:
    from samtale.crm import actions as crm_actions

    turn_on(world)
    survey = _sent_survey(world, "kari@one.example", 4)
    keep = crm_actions.new_contact(
        world.account, acting_user=world.admin, name="Kari", values={"email": "kari@two.example"}
    )
    crm_actions.merge_contacts(keep, survey.contact, acting_user=world.admin)
    survey.refresh_from_db()
    assert survey.contact_id == keep.pk
    from samtale.crm.privacy import erase_contact

    other = _sent_survey(world, "per@x.example", 2)
    other_contact = other.contact
    erase_contact(keep, acting_user=world.admin)  # their conversations go, and the surveys with them
    assert not Survey.objects.filter(pk=survey.pk).exists()
    assert not TimelineEntry.objects.filter(subject_type="survey", subject_id=survey.pk).exists()
    assert actions.forget_contact(other_contact, world.admin) == ("feedback", 1)  # what is left of a survey
    other.refresh_from_db()
    assert other.contact_id is None and other.comment == "" and other.score == 2


def test_answers_are_seen_only_by_those_with_access_to_their_inbox(world: World) -> None:
    """Bob is not in the Private inbox: its answers are not in his API, his sidebar or the timeline."""
    from samtale.crm.queries import timeline_page
    from samtale.feedback.sidebar import past_section

    private = inbox_actions.create_inbox(world.account, acting_user=world.admin, name="Private", members=[world.agent2])
    mail = inbox_actions.create_channel(private, acting_user=world.admin, kind="email", name="p", address="p@acme.test")
    from samtale.channels.email.actions import verify_address

    verify_address(mail, how="test setup")
    actions.update_settings(private, acting_user=world.admin, enabled=True, delay_minutes=0)
    secret = world.inbound(subject="Secret", sender="same@x.example", channel=mail)
    inbox_actions.reply_to_conversation(secret, acting_user=world.agent2, text="ok")
    inbox_actions.close_conversation(secret, acting_user=world.agent2)
    survey = Survey.objects.get(conversation=secret)
    Survey.objects.filter(pk=survey.pk).update(state=State.SENT, sent_at=now(), expires_at=now() + timedelta(days=1))
    actions.answer(actions.token_of(survey), score=1, comment="Top secret complaint")
    turn_on(world)
    visible = _sent_survey(world, "same@x.example", 4)
    client = Client()
    bob = {"HTTP_AUTHORIZATION": f"Bearer {world.token(world.agent)}"}
    assert [a["score"] for a in client.get("/api/v1/feedback", **bob).json()["items"]] == [4]
    assert client.get("/api/v1/feedback/summary", **bob).json()["answered"] == 1
    assert client.get(f"/api/v1/feedback?inbox={private.pk}", **bob).status_code == 404
    assert client.get(f"/api/v1/feedback?inbox={world.other_inbox.pk}", **bob).status_code == 404
    assert client.get(f"/api/v1/feedback/summary?inbox={private.pk}", **bob).status_code == 404
    assert client.get(f"/api/v1/feedback?agent={world.outsider.pk}", **bob).status_code == 404
    carol = {"HTTP_AUTHORIZATION": f"Bearer {world.token(world.agent2)}"}
    assert sorted(a["score"] for a in client.get("/api/v1/feedback", **carol).json()["items"]) == [1, 4]
    visible.conversation.refresh_from_db()
    data = past_section(visible.conversation, world.agent)
    assert data is not None and data["count"] == 1 and data["others"] == []
    lines = timeline_page(visible.contact, world.agent).entries
    assert [e.data["score"] for e in lines if e.kind == "feedback.answered"] == [4]
    assert sorted(e.data["score"] for e in timeline_page(visible.contact, world.admin).entries
                  if e.kind == "feedback.answered") == [1, 4]  # fmt: skip


def test_one_failing_survey_does_not_hold_up_the_others_and_a_dead_mail_server_is_retried(
    world_tx: World, outbox: Outbox, monkeypatch: Any
) -> None:
    from django.test.utils import override_settings

    from samtale.feedback import delivery
    from tests.e2e.conftest import free_port

    world = world_tx
    turn_on(world)
    broken, fine = (close(world, answered_conversation(world, sender=f"{k}@x.example")) for k in ("broken", "fine"))
    assert broken is not None and fine is not None
    real = delivery.sender_for("email")
    assert real is not None

    def picky(outgoing: delivery.Outgoing) -> None:
        if outgoing.survey.pk == broken.pk:
            raise RuntimeError("a bug with this one")
        real(outgoing)

    monkeypatch.setitem(delivery._senders, "email", picky)
    assert send_due_surveys.call() == 1  # the fine one went, the broken one waits for another try
    assert Survey.objects.get(pk=fine.pk).state == State.SENT and len(outbox.messages) == 1
    waiting = Survey.objects.get(pk=broken.pk)
    assert (waiting.state, waiting.attempts, waiting.reason) == (State.SCHEDULED, 1, "a bug with this one")
    monkeypatch.setitem(delivery._senders, "email", real)
    # the mail server is away: tried three times in all, then failed, saying why
    with override_settings(EMAIL_PORT=free_port()):
        start = now()
        for attempt, later in ((2, 6), (3, 30)):  # 5, then 10 minutes after a failure
            with time_machine.travel(start + timedelta(minutes=later)):
                assert actions.send_survey(broken.pk) == (State.SCHEDULED if attempt < 3 else State.FAILED)
    waiting.refresh_from_db()
    assert waiting.state == State.FAILED and waiting.attempts == 3 and "refused" in waiting.reason.lower()
    # a claim left by a worker that died while sending is taken up again by the sweep, later
    again = close(world, answered_conversation(world, sender="again@x.example"))
    assert again is not None
    Survey.objects.filter(pk=again.pk).update(state=State.SENDING, sent_at=now())
    assert send_due_surveys.call() == 0  # perhaps still sending: left alone
    with time_machine.travel(now() + timedelta(minutes=16)):
        assert send_due_surveys.call() == 1
    assert Survey.objects.get(pk=again.pk).state == State.SENT


def test_the_api_pages_answers_with_a_cursor_that_survives_a_url(world: World, monkeypatch: Any) -> None:
    import samtale.api.feedback as api_feedback

    monkeypatch.setattr(api_feedback, "PAGE", 2)
    turn_on(world)
    for n in range(5):
        _sent_survey(world, f"p{n}@x.example", n + 1)
    client = Client()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {world.token(world.agent)}"}
    seen: list[int] = []
    url = "/api/v1/feedback"
    while True:
        page = client.get(url, **headers).json()
        seen += [a["score"] for a in page["items"]]
        if not page["next_cursor"]:
            break
        url = "/api/v1/feedback?cursor=" + page["next_cursor"]  # as a naive client pastes it
    assert seen == [5, 4, 3, 2, 1]
