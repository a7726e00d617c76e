"""The chat channel's write path: its widget's settings, and what visitors do through the widget.

A teammate's change checks their permission; a visitor's is authorized by their signed token alone
and can only ever touch that visitor's own chats. Every visitor write is serialized per visitor (the
visitor's row is locked), so a message re-sent after a reconnect, from two tabs at once, or to two
server processes is stored exactly once, and a first message opens exactly one conversation.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext as _

from samtale.accounts.access import require_permission
from samtale.accounts.models import User
from samtale.channels.chat import events, flows
from samtale.channels.chat.identity import verified_identity, visitor_token
from samtale.channels.chat.models import Chatflow, ChatSession, ChatWidget, Position, Visitor
from samtale.channels.chat.queries import message_json, open_chat, visitor_of
from samtale.core.audit import audit
from samtale.core.clock import now
from samtale.core.events import publish_on_commit
from samtale.crm.actions import create_contact, get_or_create_contact_by_email, set_contact_fields
from samtale.crm.models import Contact
from samtale.inbox import actions as inbox
from samtale.inbox import adapters, counters
from samtale.inbox.events import inbox_changed
from samtale.inbox.models import Channel, ChannelKind, Conversation, Message

log = logging.getLogger(__name__)

MAX_TEXT = 5000  # characters in one visitor message
CLIENT_ID = re.compile(r"[A-Za-z0-9_-]{1,64}\Z")
SEEN_WRITE_EVERY = timedelta(seconds=45)  # a visitor's "still here" is written at most this often
COLOR = re.compile(r"#[0-9a-fA-F]{6}\Z")


# ---------------------------------------------------------------------------------- settings


def set_up_new_channel(channel: Channel) -> None:
    """Every chat channel has its widget (key and secret) from the start."""
    if channel.kind == ChannelKind.CHAT:
        ChatWidget.objects.get_or_create(channel=channel)


def clean_origin(value: str) -> str:
    """`https://www.example.com` (scheme, host and port; nothing else)."""
    value = value.strip().rstrip("/")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise ValidationError(_("%(origin)s is not a site address.") % {"origin": value[:100]}) from None
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path or parts.query or parts.fragment:
        raise ValidationError(
            _("%(origin)s is not a site address like https://www.example.com.") % {"origin": value[:100]}
        )
    return f"{parts.scheme}://{parts.hostname}" + (f":{port}" if port else "")


def configure_widget(
    widget: ChatWidget,
    *,
    acting_user: User,
    allowed_origins: Sequence[str] | None = None,
    color: str | None = None,
    position: str | None = None,
    greeting_en: str | None = None,
    greeting_nb: str | None = None,
    away_en: str | None = None,
    away_nb: str | None = None,
    inactivity_minutes: int | None = None,
) -> ChatWidget:
    require_permission(acting_user, "inbox_settings")
    if widget.channel.account_id != acting_user.membership.account_id:
        raise ValidationError(_("No such channel."))
    changes: dict[str, Any] = {}
    if allowed_origins is not None:
        origins = list(dict.fromkeys(clean_origin(o) for o in allowed_origins if o.strip()))
        if len(origins) > 50:
            raise ValidationError(_("At most 50 site addresses."))
        changes["allowed_origins"] = origins
    if color is not None:
        if not COLOR.match(color.strip()):
            raise ValidationError(_("The colour must look like #2456d6."))
        changes["color"] = color.strip().lower()
    if position is not None:
        if position not in Position.values:
            raise ValidationError(_("Unknown position."))
        changes["position"] = position
    for name, value, limit in (
        ("greeting_en", greeting_en, 300), ("greeting_nb", greeting_nb, 300),
        ("away_en", away_en, 500), ("away_nb", away_nb, 500),
    ):  # fmt: skip
        if value is not None:
            value = value.strip()
            if not value:
                raise ValidationError(_("The greeting and away messages cannot be empty."))
            if len(value) > limit:
                raise ValidationError(_("At most %(n)s characters.") % {"n": limit})
            changes[name] = value
    if inactivity_minutes is not None:
        if not 5 <= int(inactivity_minutes) <= 24 * 60:
            raise ValidationError(_("A chat ends after between 5 minutes and 24 hours of inactivity."))
        changes["inactivity_minutes"] = int(inactivity_minutes)
    with transaction.atomic():
        for name, value in changes.items():
            setattr(widget, name, value)
        widget.save()
        audit(widget.channel.account, acting_user, "chat.widget_configured", widget.channel, fields=sorted(changes))
        publish_on_commit(inbox_changed(widget.channel.account_id, widget.channel.inbox_id))
    return widget


def rotate_secret(widget: ChatWidget, *, acting_user: User) -> ChatWidget:
    """A new identity secret (the old one leaked): sites must sign with the new one from now on."""
    from samtale.channels.chat.models import new_secret

    require_permission(acting_user, "inbox_settings")
    if widget.channel.account_id != acting_user.membership.account_id:
        raise ValidationError(_("No such channel."))
    with transaction.atomic():
        widget.secret = new_secret()
        widget.save(update_fields=["secret"])
        audit(widget.channel.account, acting_user, "chat.secret_rotated", widget.channel)
    return widget


# ---------------------------------------------------------------------------------- visitors


@dataclass
class Welcome:
    """What a widget learns when it connects."""

    visitor: Visitor | None
    token: str
    chat: ChatSession | None
    identity: str  # "", "verified", "refused"


def _page(url: object) -> str:
    value = str(url or "")[:2000]
    return value if value.startswith(("http://", "https://")) else ""


def _language(value: object) -> str:
    code = str(value or "")[:8].lower().split("-")[0]
    return code if code in ("en", "nb", "nn", "no") else ""


def greet(
    widget: ChatWidget, *, token: object, identity: object = None, url: object = "", title: object = "",
    language: object = "",
) -> Welcome:  # fmt: skip
    """A widget connects: recognise the visitor (their token, and the site's signed identity),
    note the page they are on."""
    from samtale.channels.chat.identity import uid_from_token

    visitor = visitor_of(widget, uid_from_token(widget.key, token))
    identity_state = ""
    if identity:
        known = verified_identity(widget.secret, identity)
        if known is None:
            identity_state = "refused"
            log.info("chat widget %s: an identity with a wrong signature was ignored", widget.key)
        else:
            identity_state = "verified"
            visitor = _identified(widget, visitor, *known)
    if visitor is not None:
        _note_page(visitor, url=_page(url), title=str(title or "")[:300], language=_language(language), force=True)
    chat = open_chat(visitor) if visitor is not None else None
    return Welcome(visitor, visitor_token(widget.key, visitor.uid) if visitor else "", chat, identity_state)


def _identified(widget: ChatWidget, visitor: Visitor | None, user_id: str, email: str, name: str) -> Visitor:
    """The site vouches for who this is: continue as that person's visitor (their chats on any
    device), bringing along what this browser said before signing in."""
    key = user_id or f"email:{email.lower()}"
    with transaction.atomic():
        if visitor is not None and visitor.verified and visitor.verified_id != key:
            visitor = None  # someone else signed in on this browser: nothing of theirs carries over
        others = Visitor.objects.select_for_update().filter(widget=widget, verified_id=key)
        if visitor is not None:
            others = others.exclude(pk=visitor.pk)
        known = others.order_by("id").first()
        target = known or visitor or Visitor(widget=widget, account_id=widget.channel.account_id)
        target.verified, target.verified_id = True, key
        if email:
            target.email = target.signed_email = email.lower()
        if name:
            target.name = name
        if email:
            target.contact = get_or_create_contact_by_email(widget.channel.account, email, name)
        elif target.contact is None:
            target.contact = create_contact(
                widget.channel.account, acting_user=None, name=name or _visitor_name(target),
                identities_=[("visitor", target.uid.hex)],
            )  # fmt: skip
        target.save()
        if visitor is not None and known is not None:  # the anonymous visitor's chats are theirs
            for chat in ChatSession.objects.filter(visitor=visitor).select_related("conversation"):
                chat.visitor = target
                chat.save(update_fields=["visitor"])
        for chat in ChatSession.objects.filter(visitor=target).select_related("conversation"):
            if target.contact is not None and chat.conversation.contact_id != target.contact.pk:
                inbox.change_contact(chat.conversation, contact=target.contact)
    return target


def _visitor_name(visitor: Visitor) -> str:
    word = _("Visitor")
    return f"{word} {visitor.uid.hex[:6]}"


def _note_page(
    visitor: Visitor, *, url: str, title: str = "", language: str = "", force: bool = False,
    chat: ChatSession | None = None,
) -> None:  # fmt: skip
    """The visitor is here (on `url`): written at most every SEEN_WRITE_EVERY unless the page changed;
    the agents with the chat open see a new page. `chat`: the open chat, when the caller has it."""
    at = now()
    moved = bool(url) and url != visitor.current_url
    if not (moved or force or at - visitor.last_seen_at >= SEEN_WRITE_EVERY):
        return
    visitor.last_seen_at = at
    fields = ["last_seen_at"]
    if moved:
        visitor.current_url, visitor.page_title = url, title
        fields += ["current_url", "page_title"]
    if language and language != visitor.language:
        visitor.language = language
        fields.append("language")
    Visitor.objects.filter(pk=visitor.pk).update(**{f: getattr(visitor, f) for f in fields})
    if moved:
        where = (
            (chat.conversation_id, chat.conversation.inbox_id)
            if chat is not None
            else ChatSession.objects.filter(visitor=visitor, ended_at=None)
            .values_list("conversation_id", "conversation__inbox_id")
            .first()
        )
        if where is not None:
            publish_on_commit(events.to_agents(where[1], where[0], events.VISITOR))


def still_here(widget: ChatWidget, uid: uuid.UUID, *, url: object = "") -> None:
    visitor = visitor_of(widget, uid)
    if visitor is not None:
        _note_page(visitor, url=_page(url))


def move_visitors_to_contact(keep: Contact, merged: Contact, acting_user: User | None) -> int:
    """Two contacts were merged: the merged one's chat visitors are the kept one's."""
    return Visitor.objects.filter(contact=merged).update(contact=keep)


def _contact_for(visitor: Visitor) -> Contact:
    if visitor.contact is None:
        visitor.contact = create_contact(  # (a typed email is a property: it finds nobody, `visitor_leaves_email`)
            visitor.widget.channel.account, acting_user=None, name=visitor.name or _visitor_name(visitor),
            email=visitor.email, identities_=[("visitor", visitor.uid.hex)],
        )  # fmt: skip
        Visitor.objects.filter(pk=visitor.pk).update(contact=visitor.contact)
    return visitor.contact


@dataclass
class Said:
    visitor: Visitor
    message: Message
    chat: ChatSession
    new: bool  # False: this client id was stored before (a re-send), nothing new was written
    token: str = ""
    replies: list[dict[str, Any]] = field(default_factory=list)  # a chatflow's answers


def _locked_visitor(
    widget: ChatWidget, uid: uuid.UUID | None, new_uid: uuid.UUID | None = None, page: tuple[str, str] = ("", "")
) -> tuple[Visitor, bool]:
    """The visitor, locked for this transaction, or a new one (True; `new_uid` if given, on `page`
    (url, title), with their own contact)."""
    if uid is not None:
        found = (
            Visitor.objects.select_for_update(of=("self",))
            .filter(widget=widget, uid=uid)
            .select_related("contact")
            .first()
        )
        if found is not None:
            found.widget = widget
            return found, False
    visitor = Visitor(
        widget=widget, account_id=widget.channel.account_id, uid=new_uid or uuid.uuid4(), current_url=page[0],
        page_title=page[1],
    )  # fmt: skip
    visitor.contact = create_contact(
        widget.channel.account,
        acting_user=None,
        name=_visitor_name(visitor),
        identities_=[("visitor", visitor.uid.hex)],
    )
    visitor.save(force_insert=True)
    return visitor, True


def visitor_says(
    widget: ChatWidget,
    uid: uuid.UUID | None,
    *,
    client_id: object,
    text: object,
    url: object = "",
    title: object = "",
    flow: object = None,
    attachments: Sequence[Any] = (),
    new_uid: uuid.UUID | None = None,
    language: object = "",
) -> Said:
    """A visitor's message: stored once per client id (a re-send returns the stored one), in the
    visitor's open chat or a new one. `uid` None: a first-time visitor, created here (as `new_uid`
    when given: the socket listens for that visitor's events before the message is stored)."""
    if not isinstance(client_id, str) or not CLIENT_ID.match(client_id):
        raise ValidationError(_("A message needs a client id (1–64 letters, digits, - or _)."))
    if not isinstance(text, str):
        raise ValidationError(_("The message must be text."))
    text = text.replace("\x00", "").strip()
    if len(text) > MAX_TEXT:
        raise ValidationError(_("The message is too long (at most %(n)s characters).") % {"n": MAX_TEXT})
    if not text and not attachments:
        raise ValidationError(_("The message is empty."))
    with transaction.atomic(), counters.deferred():
        visitor, created = _locked_visitor(widget, uid, new_uid, page=(_page(url), str(title or "")[:300]))
        if (spoken := _language(language)) and not visitor.language:  # a first-time visitor's, from hello
            Visitor.objects.filter(pk=visitor.pk).update(language=spoken)
            visitor.language = spoken
        external_id = f"chat:{visitor.uid.hex}:{client_id}"
        chat: ChatSession | None = None
        if not created:  # a new visitor has neither stored messages nor chats
            earlier_ids = Message.objects.filter(
                account_id=widget.channel.account_id, external_id=external_id
            ).values_list("pk", flat=True)[:1]
            if earlier_ids:  # a re-send: (rare) load what is answered with
                stored = Message.objects.select_related("conversation").get(pk=earlier_ids[0])
                earlier = ChatSession.objects.get(conversation_id=stored.conversation_id)
                return Said(visitor, stored, earlier, new=False, token=visitor_token(widget.key, visitor.uid))
            chat = open_chat(visitor)
            if chat is not None and chat.conversation.trashed_at is not None:
                _end(chat, "closed")
                chat = None
        starting = flows.chosen(widget, flow) if chat is None else None
        at = now()
        conversation = chat.conversation if chat is not None else None
        message = inbox.receive_inbound(
            widget.channel,
            inbox.InboundMessage(
                sender_name=visitor.name or _contact_for(visitor).display_name,
                text=text,
                external_id=external_id,
                received_at=at,
                conversation=conversation,
                contact=_contact_for(visitor),
                bot=starting.name if starting is not None else "",
                attachments=list(attachments),
                # a chat's owner keeps it while away (B9): only an unassigned chat is routed again
                extra={"route": conversation is None or conversation.owner_id is None},
                known_new=True,  # looked up above, under the visitor's lock
            ),
        )
        if chat is None:
            chat = ChatSession.objects.create(
                conversation=message.conversation, visitor=visitor, widget=widget, started_at=at, last_visitor_at=at
            )
        else:
            ChatSession.objects.filter(pk=chat.pk).update(last_visitor_at=at)
        chat.conversation = message.conversation
        if not created:  # (a new visitor was stored on this page, seen now)
            _note_page(visitor, url=_page(url), title=str(title or "")[:300], force=True, chat=chat)
        publish_on_commit(  # first: the widgets show the visitor's message before the bot's answer
            events.to_visitor(visitor.group, events.MESSAGE, message=message_json(message, widget, visitor))
        )
        chat.visitor = visitor
        replies = flows.on_visitor_message(chat, visitor, message, starting)
    return Said(visitor, message, chat, new=True, token=visitor_token(widget.key, visitor.uid), replies=replies)


def visitor_leaves_email(widget: ChatWidget, uid: uuid.UUID | None, *, email: object, name: object = "") -> Visitor:
    """The visitor gives an address to be answered at (the team is away, or they are leaving). Kept
    on the visitor and their own contact; it never merges them with another contact (not verified)."""
    email = str(email or "").strip().lower()[:254]
    validate_email(email)
    name = " ".join(str(name or "").split())[:200]
    with transaction.atomic():
        visitor, _created = _locked_visitor(widget, uid)
        visitor.email = email
        if name:
            visitor.name = name
        visitor.save(update_fields=["email", "name"])
        if visitor.contact is not None and not visitor.verified:
            set_contact_fields(visitor.contact, acting_user=None, email=email, **({"name": name} if name else {}))
        chat = open_chat(visitor)
        if chat is not None:
            publish_on_commit(events.to_agents(chat.conversation.inbox_id, chat.conversation_id, events.VISITOR))
    return visitor


def visitor_read(widget: ChatWidget, uid: uuid.UUID, *, up_to: object) -> None:
    """The visitor has seen the chat up to message `up_to` (the agent sees "Seen")."""
    if not isinstance(up_to, int) or up_to <= 0:
        return
    visitor = visitor_of(widget, uid)
    chat = open_chat(visitor) if visitor is not None else None
    if chat is None:
        return
    if ChatSession.objects.filter(pk=chat.pk, visitor_read_up_to__lt=up_to).update(visitor_read_up_to=up_to):
        publish_on_commit(events.to_agents(chat.conversation.inbox_id, chat.conversation_id, events.READ, up_to=up_to))


def visitor_wants_transcript(widget: ChatWidget, uid: uuid.UUID, *, email: object, client: str = "") -> str:
    """The visitor asks for the chat by email. To an address they have proven (their signed
    identity's, or one where they opened our link), it goes now: "sent". To any other, the chat can
    only ever go to that one address, and what goes first is a link to open, with nothing the visitor
    wrote in it: "confirm". Limits per client address and per installation (across processes, C15):
    otherwise anonymous visitors could have the company mail their text to anyone."""
    email = str(email or "").strip().lower()[:254]
    validate_email(email)
    visitor = visitor_of(widget, uid)
    chat = open_chat(visitor) if visitor is not None else None
    if chat is None or visitor is None or not chat.conversation.message_count:
        raise ValidationError(_("There is no chat to send."))
    send = adapters.transcript_sender()
    if send is None:
        raise ValidationError(_("Transcripts cannot be mailed here."))
    proven = email in _proven_addresses(visitor)
    if not proven and chat.transcript_asked_to and chat.transcript_asked_to != email:
        raise ValidationError(_("This chat can only be emailed to the address you gave first."))
    _transcript_limits(client)
    if proven:
        send(chat.conversation, to=email, acting_user=None, language=visitor.language)
        return "sent"
    with transaction.atomic():
        if not ChatSession.objects.filter(pk=chat.pk, transcript_asked_to__in=["", email]).update(
            transcript_asked_to=email
        ):
            raise ValidationError(
                _("This chat can only be emailed to the address you gave first.")
            )  # (two tabs at once)
        send(
            chat.conversation,
            to=email,
            acting_user=None,
            language=visitor.language,
            confirm_link=_confirm_link(chat, email),
        )
    return "confirm"


def _proven_addresses(visitor: Visitor) -> set[str]:
    """Addresses the visitor proved they read (a confirmation link opened) or the site signed;
    never the address they typed (`email`), even when the site vouches for who they are."""
    return {address.lower() for address in (visitor.proven_email, visitor.signed_email) if address}


def _transcript_limits(client: str) -> None:
    from django.conf import settings

    from samtale.core.ratelimit import hits

    # the address first: one address's refused attempts must not use up everyone's allowance
    refused = bool(client) and not hits([(f"chat-transcript-ip:{client}", settings.SAMTALE_CHAT_TRANSCRIPT_IP_RATE)])
    if refused or not hits([("chat-transcript-all", settings.SAMTALE_CHAT_TRANSCRIPT_RATE)]):
        raise ValidationError(_("Too many chats were emailed just now; try again later."), code="rate_limited")


TRANSCRIPT_LINK_SALT = "samtale.chat.transcript"
TRANSCRIPT_LINK_DAYS = 7


def _confirm_link(chat: ChatSession, email: str) -> str:
    from django.conf import settings
    from django.core import signing
    from django.urls import reverse

    token = signing.dumps([chat.pk, email], salt=TRANSCRIPT_LINK_SALT, compress=True)
    return settings.SAMTALE_PUBLIC_URL.rstrip("/") + reverse("chat_transcript_confirm", args=[token])


def transcript_link_target(token: str) -> tuple[ChatSession, str] | None:
    """The chat and address a confirmation link is for, if it is genuine, recent and still the
    chat's address; else None."""
    from django.core import signing

    if len(token) > 500:
        return None
    try:
        chat_id, email = signing.loads(token, salt=TRANSCRIPT_LINK_SALT, max_age=TRANSCRIPT_LINK_DAYS * 86400)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    if not isinstance(chat_id, int) or not isinstance(email, str):
        return None
    chat = (
        ChatSession.objects.select_related("visitor", "conversation__inbox", "widget")
        .filter(pk=chat_id, transcript_asked_to=email)
        .first()
    )
    return (chat, email) if chat is not None else None


def confirm_transcript(token: str, *, client: str = "") -> ChatSession:
    """The link in the confirmation was opened (and its button pressed): the address is the
    visitor's, proven; the chat goes there now, and later ones directly."""
    from samtale.core.ratelimit import hit

    target = transcript_link_target(token)
    if target is None:
        raise ValidationError(_("This link is not valid any more. Ask for the chat again from the chat window."))
    chat, email = target
    if not hit(f"chat-transcript-confirmed:{chat.pk}", "5/h"):
        raise ValidationError(_("The chat was sent a moment ago."), code="rate_limited")
    send = adapters.transcript_sender()
    if send is None:
        raise ValidationError(_("Transcripts cannot be mailed here."))
    with transaction.atomic():
        Visitor.objects.filter(pk=chat.visitor_id).update(proven_email=email)
        ChatSession.objects.filter(pk=chat.pk).update(transcript_sent_to=email)
        audit(chat.conversation.account, None, "chat.transcript_address_proven", chat.conversation, to=email)
        send(chat.conversation, to=email, acting_user=None, language=chat.visitor.language)
    chat.visitor.proven_email = chat.transcript_sent_to = email
    return chat


# ---------------------------------------------------------------------------------- the team's side


def team_typing(conversation: Conversation, user: User, on: bool) -> None:
    chat = ChatSession.objects.filter(conversation=conversation, ended_at=None).select_related("visitor").first()
    if chat is not None:
        publish_on_commit(
            events.to_visitor(chat.visitor.group, events.TYPING, on=bool(on), name=(user.name or "").split(" ")[0][:80])
        )


def team_seen(conversation: Conversation, user: User, up_to: int) -> None:
    chat = ChatSession.objects.filter(conversation=conversation).select_related("visitor").first()
    if chat is None or up_to <= chat.team_read_up_to:
        return
    if ChatSession.objects.filter(pk=chat.pk, team_read_up_to__lt=up_to).update(team_read_up_to=up_to):
        publish_on_commit(events.to_visitor(chat.visitor.group, events.READ, up_to=up_to))


def deliver(message_id: int) -> None:
    """An outbound chat message reaches the visitor's open widgets (every tab, any process); a
    widget that is closed gets it when it connects again."""
    message = Message.objects.select_related("conversation", "author", "account").filter(pk=message_id).first()
    if message is None:
        return
    chat = (
        ChatSession.objects.filter(conversation_id=message.conversation_id).select_related("visitor", "widget").first()
    )
    if chat is None:
        inbox.record_delivery(message, status="failed", detail="This conversation has no chat visitor.")
        return
    publish_on_commit(
        events.to_visitor(chat.visitor.group, events.MESSAGE, message=message_json(message, chat.widget, chat.visitor))
    )
    inbox.record_delivery(message, status="sent")


# ---------------------------------------------------------------------------------- chats ending


def _end(chat: ChatSession, reason: str) -> None:
    """The chat is over: the widget is told, and the visitor gets the transcript if an address is
    known (C15). The visitor's next message starts a new chat."""
    if chat.ended_at is not None:
        return
    at = now()
    if not ChatSession.objects.filter(pk=chat.pk, ended_at=None).update(ended_at=at, end_reason=reason):
        return  # ended by someone else just now
    chat.ended_at, chat.end_reason = at, reason
    visitor = chat.visitor
    publish_on_commit(events.to_visitor(visitor.group, events.ENDED, reason=reason))
    send = adapters.transcript_sender()
    if send is None or not chat.conversation.message_count:
        return
    proven = sorted(_proven_addresses(visitor))
    typed = (visitor.email or "").lower()
    try:
        with transaction.atomic():
            if proven:
                send(chat.conversation, to=proven[0], acting_user=None, language=visitor.language)
                ChatSession.objects.filter(pk=chat.pk).update(transcript_sent_to=proven[0])
            elif typed and not chat.transcript_asked_to:
                # an address typed into the widget, never proven: a link first, as when asked
                _transcript_limits("")
                ChatSession.objects.filter(pk=chat.pk).update(transcript_asked_to=typed)
                chat.transcript_asked_to = typed
                send(chat.conversation, to=typed, acting_user=None, language=visitor.language,
                     confirm_link=_confirm_link(chat, typed))  # fmt: skip
    except ValidationError as error:  # no email channel to send it from, or over the limit: the chat still ends
        log.info("chat %s ended without a transcript: %s", chat.conversation_id, error)


def on_closed(conversation: Conversation) -> None:
    """A teammate closed a chat conversation (or a bot's closed itself): the chat ends."""
    chat = (
        ChatSession.objects.filter(conversation=conversation, ended_at=None)
        .select_related("visitor", "visitor__contact", "conversation")
        .first()
    )
    if chat is not None:
        _end(chat, "closed")


END_BATCH = 200


def end_inactive_chats() -> int:
    """Chats whose visitor has neither written nor been on the site for the widget's inactivity
    time end (a bot's conversation closes itself then, C9). Returns how many ended."""
    ended = 0
    at = now()
    widgets = ChatWidget.objects.filter(pk__in=ChatSession.objects.filter(ended_at=None).values("widget_id"))
    for widget in widgets.only("pk", "inactivity_minutes"):
        cutoff = at - timedelta(minutes=widget.inactivity_minutes)
        quiet = (
            ChatSession.objects.filter(
                widget=widget, ended_at=None, last_visitor_at__lt=cutoff, visitor__last_seen_at__lt=cutoff
            )
            .select_related("visitor", "visitor__contact", "conversation", "conversation__account")
            .order_by("last_visitor_at")[:END_BATCH]
        )
        for chat in quiet:
            try:
                with transaction.atomic():
                    if chat.conversation.bot and inbox.close_unattended_bot_conversation(chat.conversation):
                        ended += 1  # closing ended it (on_closed)
                        continue
                    _end(chat, "inactive")
                    ended += 1
            except Exception:  # one broken chat never stops the others from ending
                log.exception("could not end chat %s", chat.conversation_id)
    return ended


def delete_chatflow(flow: Chatflow, *, acting_user: User) -> None:
    require_permission(acting_user, "inbox_settings")
    if flow.widget.channel.account_id != acting_user.membership.account_id:
        raise ValidationError(_("No such chatflow."))
    with transaction.atomic():
        audit(flow.widget.channel.account, acting_user, "chat.chatflow_deleted", flow.widget.channel, name=flow.name)
        flow.delete()


def save_chatflow(
    widget: ChatWidget,
    flow: Chatflow | None,
    *,
    acting_user: User,
    name: str,
    steps: Any,
    enabled: bool = True,
    url_contains: str = "",
    when: str = "always",
    position: int = 0,
) -> Chatflow:
    """Create (`flow` None) or change a chatflow of the widget; its steps are checked first."""
    require_permission(acting_user, "inbox_settings")
    if widget.channel.account_id != acting_user.membership.account_id:
        raise ValidationError(_("No such channel."))
    name = " ".join(name.split())[:100]
    if not name:
        raise ValidationError(_("A chatflow needs a name."))
    if when not in ("always", "away", "online"):
        raise ValidationError(_("Unknown condition."))
    checked = flows.validate_steps(steps)
    with transaction.atomic():
        flow = flow or Chatflow(widget=widget)
        flow.name, flow.steps, flow.enabled = name, checked, bool(enabled)
        flow.url_contains, flow.when, flow.position = url_contains.strip()[:300], when, max(0, int(position))
        flow.save()
        audit(widget.channel.account, acting_user, "chat.chatflow_saved", widget.channel, chatflow=flow.pk, name=name)
    return flow
