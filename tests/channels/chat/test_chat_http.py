"""The chat channel over HTTP: the widget script, files from visitors, the widget's settings and
chatflow editor, the API, and isolation (other accounts get 404, never a leak)."""

from __future__ import annotations

import gzip
import json
import uuid
from io import BytesIO

import pytest
from django.test import Client

from samtale.channels.chat import actions as chat
from samtale.channels.chat.identity import visitor_token
from samtale.channels.chat.models import Chatflow, ChatWidget
from samtale.inbox.models import Attachment, Conversation
from tests.channels.chat.conftest import SITE
from tests.conftest import World

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_the_widget_script_carries_its_settings_and_is_small(world: World, widget: ChatWidget) -> None:
    client = Client()
    response = client.get(f"/widget/{widget.key}.js")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/javascript")
    body = response.content.decode()
    assert f'"key":"{widget.key}"' in body and widget.greeting_nb in body and "__CONFIG__" not in body
    assert widget.secret not in body  # the identity secret never leaves the server
    assert len(gzip.compress(response.content)) <= 30 * 1024
    assert client.get(f"/widget/{widget.key}.js", HTTP_IF_NONE_MATCH=response["ETag"]).status_code == 304
    assert client.get("/widget/nope.js").status_code == 404


def test_settings_text_cannot_break_out_of_the_script(world: World, widget: ChatWidget) -> None:
    chat.configure_widget(widget, acting_user=world.admin, greeting_en="</script><script>alert(1)</script>")
    body = Client().get(f"/widget/{widget.key}.js").content.decode()
    assert "</script>" not in body and "\\u003c/script>" in body


def _upload(widget: ChatWidget, content: bytes, name: str, origin: str = SITE, token: str = "", **extra: str) -> object:
    data = {
        "client_id": uuid.uuid4().hex,
        "token": token,
        "text": "see attached",
        "file": _file(content, name),
        **extra,
    }
    return Client().post(f"/widget/{widget.key}/upload/", data, HTTP_ORIGIN=origin)


def _file(content: bytes, name: str) -> BytesIO:
    handle = BytesIO(content)
    handle.name = name
    return handle


def test_a_visitor_sends_an_image_and_opens_it_by_its_signed_link(world: World, widget: ChatWidget) -> None:
    response = _upload(widget, PNG, "photo.png")
    assert response.status_code == 200, response.content  # type: ignore[attr-defined]
    assert response["Access-Control-Allow-Origin"] == SITE  # type: ignore[index]
    ack = json.loads(response.content)  # type: ignore[attr-defined]
    attachment = Attachment.objects.get(message_id=ack["id"])
    assert attachment.content_type == "image/png" and attachment.filename == "photo.png"
    [shown] = ack["message"]["files"]
    assert shown["image"] and shown["name"] == "photo.png"
    served = Client().get(shown["url"])
    assert served.status_code == 200 and served["Content-Type"] == "image/png"
    assert (
        served["Content-Security-Policy"] == "default-src 'none'; sandbox"
        and served["X-Content-Type-Options"] == "nosniff"
    )
    assert Client().get(shown["url"].replace("/files/", "/files/x")).status_code == 404


@pytest.mark.parametrize(
    ("content", "name", "status", "code"),
    [(b"<svg onload=alert(1)>", "x.svg", 415, "file_type"), (b"MZ\x90\x00", "setup.exe", 415, "file_type"),
     (b"<html>", "page.png", 415, "file_type"), (b"", "empty.txt", 400, "invalid")],
)  # fmt: skip
def test_files_that_are_not_taken_are_refused_clearly(
    widget: ChatWidget, content: bytes, name: str, status: int, code: str
) -> None:
    response = _upload(widget, content, name)
    assert response.status_code == status and json.loads(response.content)["error"] == code  # type: ignore[attr-defined]
    assert not Attachment.objects.exists()


def test_an_oversize_file_is_refused(widget: ChatWidget, settings: object) -> None:
    settings.SAMTALE_CHAT_MAX_FILE_BYTES = 1000  # type: ignore[attr-defined]
    response = _upload(widget, PNG + b"\x00" * 2000, "big.png")
    assert response.status_code == 413 and json.loads(response.content)["error"] == "too_large"  # type: ignore[attr-defined]


def test_an_upload_from_another_site_is_refused(widget: ChatWidget) -> None:
    response = _upload(widget, PNG, "photo.png", origin="https://evil.example")
    assert response.status_code == 403 and "Access-Control-Allow-Origin" not in response  # type: ignore[operator]
    assert not Attachment.objects.exists()


def test_a_file_link_of_one_visitor_does_not_open_another_widgets_files(world: World, widget: ChatWidget) -> None:
    from samtale.inbox import actions

    ack = json.loads(_upload(widget, PNG, "photo.png").content)  # type: ignore[attr-defined]
    url = ack["message"]["files"][0]["url"]
    other_inbox = actions.create_inbox(world.account, acting_user=world.admin, name="Other", members=[world.agent])
    other = ChatWidget.objects.get(
        channel=actions.create_channel(other_inbox, acting_user=world.admin, kind="chat", name="x")
    )
    assert Client().get(url.replace(widget.key, other.key)).status_code == 404


def test_the_settings_page_shows_the_snippet_and_saves(world: World, widget: ChatWidget, client_for) -> None:  # type: ignore[no-untyped-def]
    client: Client = client_for(world.admin)
    page = client.get(f"/settings/channels/{world.chat.pk}/chat/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f"/widget/{widget.key}.js" in html and widget.secret in html
    form = {"allowed_origins": "https://a.example\nhttps://b.example:8443", "color": "#112233", "position": "left",
            "greeting_en": "Hello!", "greeting_nb": "Hei!", "away_en": "Away", "away_nb": "Borte", "inactivity_minutes": "45"}  # fmt: skip
    assert client.post(f"/settings/channels/{world.chat.pk}/chat/", form).status_code == 302
    widget.refresh_from_db()
    assert widget.allowed_origins == ["https://a.example", "https://b.example:8443"] and widget.position == "left"
    bad = client.post(f"/settings/channels/{world.chat.pk}/chat/", {**form, "allowed_origins": "ftp://x"})
    assert bad.status_code == 400 and "not a site address" in bad.content.decode()
    agent: Client = client_for(world.noperm)
    assert agent.post(f"/settings/channels/{world.chat.pk}/chat/", form).status_code == 403
    # the inbox settings show the snippet on the channel's row
    assert f"/widget/{widget.key}.js" in client.get("/settings/inboxes/").content.decode()


def test_the_chatflow_editor_saves_rows_as_steps(world: World, widget: ChatWidget, client_for) -> None:  # type: ignore[no-untyped-def]
    client: Client = client_for(world.admin)
    assert client.get(f"/settings/channels/{world.chat.pk}/chat/flows/new/").status_code == 200
    rows = {"name": "Greeter", "enabled": "on", "url_contains": "/help", "when": "always", "position": "0",
            "step-0-id": "ask", "step-0-type": "question", "step-0-text": "Sales or support?", "step-0-buttons": "Sales, Support",
            "step-1-id": "split", "step-1-type": "branch", "step-1-on": "ask", "step-1-cases": "Sales = s", "step-1-otherwise": "t",
            "step-2-id": "s", "step-2-type": "end", "step-2-text": "Bye",
            "step-3-id": "t", "step-3-type": "handover"}  # fmt: skip
    assert client.post(f"/settings/channels/{world.chat.pk}/chat/flows/new/", rows).status_code == 302
    flow = Chatflow.objects.get(widget=widget)
    assert [s["type"] for s in flow.steps] == ["question", "branch", "end", "handover"]
    assert flow.steps[0]["buttons"] == ["Sales", "Support"] and flow.steps[1]["cases"] == [
        {"equals": "Sales", "next": "s"}
    ]
    edit = client.get(f"/settings/channels/{world.chat.pk}/chat/flows/{flow.pk}/").content.decode()
    assert "Sales or support?" in edit
    broken = client.post(
        f"/settings/channels/{world.chat.pk}/chat/flows/{flow.pk}/", {**rows, "step-1-otherwise": "nowhere"}
    )
    assert broken.status_code == 400 and "not a step" in broken.content.decode()
    assert client.post(f"/settings/channels/{world.chat.pk}/chat/flows/{flow.pk}/delete/").status_code == 302
    assert not Chatflow.objects.exists()


def test_the_api_shows_the_snippet_and_configures_the_widget(world: World, widget: ChatWidget) -> None:
    admin = Client(HTTP_AUTHORIZATION=f"Bearer {world.token(world.admin)}")
    got = admin.get(f"/api/v1/channels/{world.chat.pk}/chat-widget").json()
    assert got["key"] == widget.key and f"/widget/{widget.key}.js" in got["embed_snippet"]
    assert got["identity_secret"] == widget.secret
    changed = admin.patch(
        f"/api/v1/channels/{world.chat.pk}/chat-widget", {"color": "#000000"}, content_type="application/json"
    )
    assert changed.status_code == 200 and changed.json()["color"] == "#000000"
    plain = Client(HTTP_AUTHORIZATION=f"Bearer {world.token(world.agent2)}")
    assert plain.get(f"/api/v1/channels/{world.chat.pk}/chat-widget").json()["identity_secret"] is None
    flow = admin.post(f"/api/v1/channels/{world.chat.pk}/chatflows", {"name": "Bot", "steps": [{"type": "message", "text": "Hi"}]},
                      content_type="application/json")  # fmt: skip
    assert flow.status_code == 201
    bad = admin.post(f"/api/v1/channels/{world.chat.pk}/chatflows", {"name": "Bot", "steps": [{"type": "x"}]},
                     content_type="application/json")  # fmt: skip
    assert bad.status_code == 400 and "unknown type" in bad.json()["detail"]


def test_another_account_gets_404_for_every_chat_address(world: World, widget: ChatWidget, client_for) -> None:  # type: ignore[no-untyped-def]
    flow = chat.save_chatflow(
        widget, None, acting_user=world.admin, name="Secret bot", steps=[{"type": "message", "text": "Top secret"}]
    )
    eve: Client = client_for(world.outsider)
    pk = world.chat.pk
    for url in [f"/settings/channels/{pk}/chat/", f"/settings/channels/{pk}/chat/flows/new/",
                f"/settings/channels/{pk}/chat/flows/{flow.pk}/"]:  # fmt: skip
        assert eve.get(url).status_code == 404 and eve.post(url).status_code == 404
    assert eve.post(f"/settings/channels/{pk}/chat/secret/").status_code == 404
    assert eve.post(f"/settings/channels/{pk}/chat/flows/{flow.pk}/delete/").status_code == 404
    api = Client(HTTP_AUTHORIZATION=f"Bearer {world.token(world.outsider)}")
    for method, url in [("get", f"/api/v1/channels/{pk}/chat-widget"), ("get", f"/api/v1/channels/{pk}/chatflows"),
                        ("delete", f"/api/v1/channels/{pk}/chatflows/{flow.pk}")]:  # fmt: skip
        response = getattr(api, method)(url)
        assert (
            response.status_code == 404
            and b"Top secret" not in response.content
            and widget.secret.encode() not in response.content
        )
    assert Chatflow.objects.filter(pk=flow.pk).exists()


def test_the_team_sends_a_transcript_from_the_more_menu(world: World, widget: ChatWidget, client_for) -> None:  # type: ignore[no-untyped-def]
    said = chat.visitor_says(widget, None, client_id="c1", text="Hi there")
    conversation = Conversation.objects.get(pk=said.message.conversation_id)
    client: Client = client_for(world.agent)
    thread = client.get(f"/c/{conversation.pk}/", follow=True).content.decode()
    assert "Send chat transcript" in thread and 'id="chat-status"' in thread
    sent = client.post(f"/c/{conversation.pk}/transcript/", {"to": "boss@example.com"}, HTTP_HX_REQUEST="true")
    assert sent.status_code == 200 and "transcript" in sent["HX-Trigger"]
    assert client.post(f"/c/{conversation.pk}/transcript/", {"to": "nope"}, HTTP_HX_REQUEST="true").status_code == 400
    token = visitor_token(widget.key, said.visitor.uid)
    assert token  # the visitor's own token is not a key to the agent screens
    assert Client().get(f"/c/{conversation.pk}/").status_code in (302, 403)


def test_an_agent_attaches_an_image_and_the_visitor_gets_it_inline(
    world: World, widget: ChatWidget, client_for
) -> None:  # type: ignore[no-untyped-def]
    from samtale.channels.chat.queries import message_json
    from samtale.inbox.models import Message

    said = chat.visitor_says(widget, None, client_id="c1", text="What does it look like?")
    conversation = Conversation.objects.get(pk=said.message.conversation_id)
    client: Client = client_for(world.agent)
    reply = client.post(f"/c/{conversation.pk}/reply/", {"text": "Like this", "files": [_file(PNG, "jacket.png")]},
                        HTTP_HX_REQUEST="true")  # fmt: skip
    assert reply.status_code == 200
    sent = Message.objects.filter(conversation=conversation, direction="out").get()
    [shown] = message_json(sent, widget, said.visitor)["files"]
    assert shown["image"] and shown["name"] == "jacket.png"
    assert Client().get(shown["url"]).status_code == 200
    assert "jacket.png" in client.get(f"/c/{conversation.pk}/", follow=True).content.decode()
    only_files = client.post(
        f"/c/{conversation.pk}/reply/", {"text": "", "files": [_file(PNG, "b.png")]}, HTTP_HX_REQUEST="true"
    )
    assert only_files.status_code == 200  # a file alone is a reply
    empty = client.post(f"/c/{conversation.pk}/reply/", {"text": ""}, HTTP_HX_REQUEST="true")
    assert empty.status_code == 400
