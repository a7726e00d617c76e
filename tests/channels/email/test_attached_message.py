"""An attached email is shown as a message: headers, sanitized body, its files' names."""

from __future__ import annotations

from django.test import Client

from samtale.channels.email.parse import Part
from samtale.inbox import actions
from samtale.inbox.models import Attachment
from tests.conftest import World

FORWARDED = (
    b"From: =?utf-8?Q?Bj=C3=B8rn_=C3=85s?= <bjorn@kunde.no>\r\nTo: support@acme.test\r\n"
    b"Subject: =?utf-8?Q?Sp=C3=B8rsm=C3=A5l?=\r\nDate: Fri, 20 Nov 2026 09:14:03 +0100\r\n"
    b'Content-Type: multipart/mixed; boundary="x"\r\n\r\n'
    b"--x\r\nContent-Type: text/html; charset=utf-8\r\n\r\n"
    b'<p>Hei <b>der</b></p><script>alert(1)</script><img src="https://tracker.example/p.gif" onerror="x()">\r\n'
    b'--x\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; filename="faktura.pdf"\r\n\r\n%PDF\r\n'
    b"--x--\r\n"
)


def received_with(world: World, part: Part) -> Attachment:
    actions.receive_inbound(
        world.email,
        actions.InboundMessage(sender_address="kari@example.no", text="see below", attachments=[part]),
    )
    return Attachment.objects.get(filename=part.filename)


def test_an_attached_email_is_shown_sanitized_with_its_headers_and_files(world: World) -> None:
    item = received_with(world, Part("Spørsmål.eml", "message/rfc822", FORWARDED))
    client = Client()
    client.force_login(world.agent)
    response = client.get(f"/attachments/{item.pk}/message/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Spørsmål" in page and "Bjørn Ås" in page and "bjorn@kunde.no" in page
    assert "<b>der</b>" in page and "faktura.pdf" in page
    for bad in ("<script", "alert(1)", "onerror", ' src="https://tracker'):  # (kept only as data-src)
        assert bad not in page, bad
    assert (
        "sandbox" in response["Content-Security-Policy"] and "default-src 'none'" in response["Content-Security-Policy"]
    )
    # the thread offers it
    thread = client.get(f"/c/{item.message.conversation_id}/", follow=True)
    assert f"/attachments/{item.pk}/message/" in thread.content.decode()


def test_only_attached_messages_and_only_ones_the_user_may_read(world: World) -> None:
    pdf = received_with(world, Part("faktura.pdf", "application/pdf", b"%PDF-1.4"))
    eml = received_with(world, Part("x.eml", "message/rfc822", FORWARDED))
    agent, outsider = Client(), Client()
    agent.force_login(world.agent)
    outsider.force_login(world.outsider)
    assert agent.get(f"/attachments/{pdf.pk}/message/").status_code == 404
    assert outsider.get(f"/attachments/{eml.pk}/message/").status_code == 404  # another account's: 404
    assert agent.get("/attachments/999999/message/").status_code == 404
    assert Client().get(f"/attachments/{eml.pk}/message/").status_code in (302, 401)
