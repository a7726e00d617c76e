"""Turning a parsed email into an inbox message: addresses and reply tokens, delivery reports,
teammates' own copies, threading, and the hand-over to `inbox.actions.receive_inbound`."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.files.storage import FileSystemStorage

from samtale.accounts.models import User
from samtale.channels.email import trust
from samtale.channels.email.addresses import base_address, conversation_from_token, message_from_bounce_address
from samtale.channels.email.models import EmailReference, RawEmail
from samtale.channels.email.parse import ParsedEmail, Part, normalize_subject, parse_stream
from samtale.channels.email.quotes import split_html, split_text
from samtale.channels.email.store import raw_storage
from samtale.channels.email.trust import proven_teammate
from samtale.core import batching
from samtale.core.clock import now
from samtale.core.html import text_to_html
from samtale.crm.actions import find_contact_by_email
from samtale.inbox import actions as inbox_actions
from samtale.inbox.models import Channel, ChannelKind, Conversation, Direction, Message
from samtale.inbox.queries import messages_with_external_id

SUBJECT_FALLBACK_DAYS = 30


# ---------------------------------------------------------------- addresses (mail.addresses)


def channels_for(addresses: Iterable[str]) -> dict[str, Channel]:
    """Connected email channels by (base) recipient address."""
    wanted = {base_address(a) for a in addresses}
    found = Channel.objects.filter(kind=ChannelKind.EMAIL, address__in=list(wanted)).select_related("account")
    chosen: dict[str, Channel] = {}
    # The confirmed channel of an address gets its mail; before any is confirmed, the first to claim
    # it holds it (mail.verification), delivered to nobody until someone confirms the address.
    for c in sorted(found, key=lambda c: (c.verified_at is None, c.pk)):
        chosen.setdefault(c.address.lower(), c)
    return chosen


# ---------------------------------------------------------------- parsed mail into the inbox


def prepare(raw: RawEmail, parsed: ParsedEmail) -> inbox_actions.InboundMessage:
    """The CPU-bound half of delivering a message (splitting quotes, sanitizing, digesting), done
    before any write transaction opens: on SQLite nobody else can write while one is open."""
    text_main, text_quoted = split_text(parsed.text) if parsed.text else ("", "")
    html_main, html_quoted = split_html(parsed.html) if parsed.html else ("", "")
    if parsed.html and not html_quoted and text_quoted:
        html_main = ""  # prefer the trimmed plain text when only it could be split
    # the history trimmed off is kept to show on demand, from whichever part could be split
    quoted = html_quoted or (text_to_html(text_quoted) if text_quoted else "")
    attachments: list[Part] = list(parsed.attachments)
    if parsed.broken and not parsed.text and not parsed.html:
        attachments.append(source_part(raw))
    inbound = inbox_actions.prepare_inbound(
        inbox_actions.InboundMessage(
            sender_address=parsed.from_address or (base_address(raw.envelope_from) if "@" in raw.envelope_from else ""),
            sender_name=parsed.from_name,
            text=parsed.text or "",
            html=html_main if parsed.html and html_main else (text_to_html(text_main) if text_quoted else parsed.html),
            quoted_html=quoted,
            subject=parsed.subject or "",
            external_id=parsed.message_id or _no_id_key(parsed, raw),
            received_at=raw.received_at,
            auto_reply=parsed.auto_reply,
            attachments=attachments,
        )
    )
    if parsed.reply_to and base_address(parsed.reply_to) != base_address(inbound.sender_address):
        inbound.reply_to = parsed.reply_to  # replies go there (and the agent sees it)
    _attribute_to_teammate(raw, parsed, inbound)
    # a support inbox gets real customers' mail from info@ and post@: a role address is Spam only
    # when the message also says it was sent in bulk (a newsletter, a campaign)
    inbound.spam = parsed.bulk and _role_address(inbound.sender_address)
    return inbound


def _role_address(address: str) -> bool:
    """marketing@, noreply@, info@ … (SAMTALE_ROLE_ADDRESSES): Spam (C1) when sent in bulk."""
    local = address.partition("@")[0].lower()
    return local in settings.SAMTALE_ROLE_ADDRESSES


def _attribute_to_teammate(raw: RawEmail, parsed: ParsedEmail, inbound: inbox_actions.InboundMessage) -> None:
    """Mail from a teammate's own client is stored as their sent reply, but only when it is
    provably theirs (`mail.trust`: secret address, DKIM, a trusted MTA's Authentication-Results);
    otherwise it is an ordinary message flagged "sender not verified". Reads and DNS, before the
    write transaction."""
    channel = raw.channel
    author = _teammate(channel, inbound.sender_address)
    if author is None or _is_own_channel(inbound.sender_address):
        return
    signed = raw.read() if raw.size <= trust.MAX_SIGNED_BYTES else b""
    if proven_teammate(parsed, signed, raw.envelope_to, author):
        inbound.author = author
        addresses = _channel_addresses(channel)
        inbound.recipients = [a for a in [*parsed.to, *parsed.cc] if base_address(a) not in addresses]
    else:  # anyone can write a teammate's address into From
        inbound.sender_not_verified = True


def process(raw: RawEmail, parsed: ParsedEmail, inbound: inbox_actions.InboundMessage) -> Message | None:
    """Store a prepared message (inside the caller's transaction): a delivery report about one of
    our messages marks it failed; anything else is threaded and received into the inbox."""
    if parsed.broken:
        raw.error = parsed.broken[:2000]
    channel = raw.channel
    if (failed := _apply_bounce(raw, parsed)) is not None:
        return failed
    return _deliver_to_inbox(channel, raw, parsed, inbound)


def _apply_bounce(raw: RawEmail, parsed: ParsedEmail) -> Message | None:
    """A delivery report about one of our messages marks it failed, but only a report that
    proves it: sent from the null sender to the VERP return path of that very message (whose
    token only the receiving server saw). Anything else that looks like a report (a forged one
    naming our Message-ID) is delivered to the inbox as an ordinary message."""
    null_sender = not raw.envelope_from.strip("<> ") if raw.source != RawEmail.Source.IMAP else parsed.null_return_path
    if not null_sender:
        return None
    to = [*raw.envelope_to] if raw.source != RawEmail.Source.IMAP else [*parsed.delivered_to, *parsed.to]
    message_pk = message_from_bounce_address(to)
    if message_pk is None:
        return None
    original = (
        Message.objects.filter(pk=message_pk, account_id=raw.account_id, direction=Direction.OUTBOUND)
        .select_related("conversation")
        .first()
    )
    if original is None:
        return None
    bounce = parsed.bounce
    if bounce is not None and bounce.status.startswith("4"):
        return original  # a delay warning: the server keeps trying; nothing failed yet
    reason = bounce.reason if bounce is not None else "Delivery failed"
    if bounce is not None and bounce.recipient:
        reason = f"{bounce.recipient}: {reason}"
    status = bounce.status if bounce is not None else "5.0.0"
    from samtale.channels.email.outbound import mark_failed

    mark_failed(original, f"Bounced ({status}) {reason}".strip())
    return original


def _teammate(channel: Channel, address: str) -> User | None:
    """A member of the account sending from their own mail client (CC'd/BCC'd to the inbox)."""
    if not address:
        return None
    members = User.objects.filter(
        is_active=True,
        membership__account_id=channel.account_id,
        membership__deactivated_at=None,
        membership__removed_at=None,
    ).select_related("membership")
    scope = batching.current()
    if scope is None:
        return members.filter(email__iexact=address).first()
    # a batch reads the account's teammates' addresses once
    addresses: dict[str, int] = scope.remember(
        ("teammates", channel.account_id),
        lambda: {email.lower(): pk for pk, email in members.order_by("-pk").values_list("pk", "email")},
    )
    pk = addresses.get(address.lower())
    return members.filter(pk=pk).first() if pk is not None else None


def find_conversation(
    channel: Channel, parsed: ParsedEmail, sender: str, envelope_to: Iterable[str]
) -> Conversation | None:
    """The conversation a message belongs to, or None for a new one. In order: In-Reply-To,
    References (most recent first), a message that already refers to this one (its reply came
    first), the reply token in our address, then the same contact's recent conversation with the
    same subject. Never outside the channel's account."""
    account_id = channel.account_id
    # locked as it is found (the caller's write transaction): receiving it needs no second read
    live = Conversation.objects.filter(account_id=account_id).select_for_update(of=("self",))
    known = _threads(account_id)
    for ref in [*parsed.in_reply_to, *reversed(parsed.references)]:
        if known is not None and ref[:998] in known.asked:
            hit = known.ids.get(ref[:998])
        else:
            hit = next(iter(messages_with_external_id(account_id, ref).values_list("conversation_id", flat=True)[:1]), None)  # fmt: skip
        if hit is not None:
            return _locked(live.get(pk=hit))
    if parsed.message_id:
        if known is not None and parsed.message_id[:998] in known.asked:
            child = known.children.get(parsed.message_id[:998])
        else:
            child = next(
                iter(
                    EmailReference.objects.filter(account_id=account_id, ref=parsed.message_id)
                    .order_by()
                    .values_list("message__conversation_id", flat=True)[:1]
                ),
                None,
            )
        if child is not None:
            return _locked(live.get(pk=child))
    token = conversation_from_token([*parsed.to, *parsed.cc, *parsed.delivered_to, *envelope_to])
    if token is not None:
        found = live.filter(pk=token).first()
        if found is not None:
            return _locked(found)
    subject = normalize_subject(parsed.subject)
    contact = find_contact_by_email(account_id, sender) if subject and sender else None
    if contact is not None:
        since = now() - timedelta(days=SUBJECT_FALLBACK_DAYS)
        candidates = (
            Conversation.objects.filter(
                account_id=account_id,
                inbox_id=channel.inbox_id,
                contact=contact,
                trashed_at=None,
                last_activity_at__gte=since,
            )
            .order_by("-last_activity_at", "-id")
            .only("id", "subject")[:20]
        )
        for conversation in candidates:
            if normalize_subject(conversation.subject) == subject:
                return conversation
    return None


def _locked(conversation: Conversation) -> Conversation:
    """Read under its row lock in this transaction: `counters.counted` need not read it again."""
    conversation._counted_fresh = True  # type: ignore[attr-defined]
    return conversation


@dataclass
class Threads:
    """What a batch's messages thread by, read in two queries for the whole batch: the
    conversations of the Message-IDs they name (their own and their references) and of the
    messages that refer to them. Messages stored in the batch are added as they are stored."""

    asked: set[str] = field(default_factory=set)
    ids: dict[str, int] = field(default_factory=dict)  # Message-ID -> conversation
    children: dict[str, int] = field(default_factory=dict)  # a Message-ID -> conversation of a message referring to it


def _threads(account_id: int) -> Threads | None:
    scope = batching.current()
    return scope.memo.get(("threads", account_id)) if scope is not None else None


def prefetch_threads(account_id: int, parsed: list[ParsedEmail], ids: Iterable[str] = ()) -> Threads:
    """Inside a batch (`core.batching`): read what `find_conversation` needs for these messages
    (and which of `ids`, the ids they are stored under, are taken)."""
    known = Threads()
    own = {p.message_id[:998] for p in parsed if p.message_id}
    refs = {r[:998] for p in parsed for r in [*p.in_reply_to, *p.references]}
    known.asked = own | refs | {i[:998] for i in ids}
    wanted = sorted(known.asked - {""})
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        rows = Message.objects.filter(account_id=account_id, external_id__in=chunk).exclude(external_id="").order_by()
        for external_id, conversation_id in rows.values_list("external_id", "conversation_id"):
            known.ids.setdefault(external_id, conversation_id)
    mine = sorted(own)
    for start in range(0, len(mine), 500):
        refs_rows = EmailReference.objects.filter(account_id=account_id, ref__in=mine[start : start + 500]).order_by()
        for ref, conversation_id in refs_rows.values_list("ref", "message__conversation_id"):
            known.children.setdefault(ref, conversation_id)
    scope = batching.current()
    if scope is not None:
        scope.memo[("threads", account_id)] = known
    return known


def _no_id_key(parsed: ParsedEmail, raw: RawEmail) -> str:
    """A stable id for mail without a Message-ID, so a retried delivery is still stored once:
    a digest of sender, subject, date and body (read in chunks: the body may be 50 MB)."""
    digest = hashlib.sha256(b"\0".join([parsed.from_address.encode(), parsed.subject.encode(), str(parsed.date).encode(), b""]))  # fmt: skip
    with raw.open() as handle:
        head = handle.read(1 << 20)
        body = head.partition(b"\r\n\r\n")[2] or head.partition(b"\n\n")[2] or head
        digest.update(body)
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return f"noid-{digest.hexdigest()[:32]}@samtale.invalid"


def parse_raw(raw: RawEmail) -> ParsedEmail:
    with raw.open() as handle:
        return parse_stream(handle, raw.size)


def source_part(raw: RawEmail) -> Part:
    """The original message as an attachment (for mail that could not be read)."""
    storage = raw_storage()
    if raw.file and isinstance(storage, FileSystemStorage):
        return Part("original.eml", "message/rfc822", b"", path=Path(storage.path(str(raw.file.name))))
    return Part("original.eml", "message/rfc822", raw.read())


def _deliver_to_inbox(
    channel: Channel, raw: RawEmail, parsed: ParsedEmail, inbound: inbox_actions.InboundMessage
) -> Message:
    sender = inbound.sender_address
    inbound.conversation = find_conversation(channel, parsed, sender, raw.envelope_to)
    message = inbox_actions.receive_inbound(channel, inbound)
    refs = [*parsed.in_reply_to, *parsed.references]
    known = _threads(channel.account_id)
    if refs and (inbound.known_new or not message.email_references.exists()):  # known new: stored just now
        EmailReference.objects.bulk_create(
            [EmailReference(account_id=channel.account_id, message=message, ref=r[:998]) for r in dict.fromkeys(refs)]
        )
    if known is not None:  # what later messages of the batch thread by
        if message.external_id:
            known.ids.setdefault(message.external_id, message.conversation_id)
        for r in refs:
            known.children.setdefault(r[:998], message.conversation_id)
    return message


def _channel_addresses(channel: Channel) -> set[str]:
    return {a.lower() for a in Channel.objects.filter(account_id=channel.account_id, kind=ChannelKind.EMAIL).values_list("address", flat=True)}  # fmt: skip


def _is_own_channel(address: str) -> bool:
    return Channel.objects.filter(kind=ChannelKind.EMAIL, address__iexact=base_address(address)).exists()
