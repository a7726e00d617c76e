"""Proving an email address before its mail is delivered (address takeover across accounts).

A new email channel is unverified. Samtale mails a confirmation to the address; it is proven
either when someone who reads that mailbox opens the link in it, or when the confirmation
itself comes back through the listener (the address already forwards to Samtale). Until then,
mail to the address is kept but delivered to nobody ("held"); whoever proves the address gets it.
An account that proves an address another account holds takes it over (the other loses it).
"""

from __future__ import annotations

import hashlib
import hmac
from email.parser import BytesHeaderParser
from email.policy import compat32

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.template.loader import render_to_string
from django.urls import reverse

from samtale.channels.email.models import RawEmail
from samtale.inbox.models import Channel

HEADER = "X-Samtale-Verify"


def token(channel: Channel) -> str:
    message = f"verify:{channel.pk}:{channel.address.lower()}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()[:24]


def valid(channel: Channel, given: str) -> bool:
    return hmac.compare_digest(token(channel), given.strip().lower())


def link(channel: Channel) -> str:
    path = reverse("verify_address", args=[channel.pk, token(channel)])
    return settings.SAMTALE_PUBLIC_URL.rstrip("/") + path


def send(channel: Channel) -> None:
    """Mail the confirmation to the address (through the installation's relay)."""
    context = {"channel": channel, "link": link(channel)}
    message = EmailMultiAlternatives(
        subject=render_to_string("mail/verify_subject.txt", context).strip(),
        body=render_to_string("mail/verify.txt", context),
        from_email=settings.SAMTALE_SYSTEM_EMAIL,
        to=[channel.address],
        headers={HEADER: f"{channel.pk}-{token(channel)}", "Auto-Submitted": "auto-generated"},
        connection=get_connection(settings.SAMTALE_EMAIL_BACKEND, fail_silently=False),
    )
    message.send(fail_silently=False)


def proof_in(raw: RawEmail) -> bool:
    """Does this received message carry the confirmation of its own channel's address? (Read from
    the first 64 KB of headers only.)"""
    with raw.open() as handle:
        head = handle.read(65536).partition(b"\r\n\r\n")[0].partition(b"\n\n")[0]
    try:
        value = str(BytesHeaderParser(policy=compat32).parsebytes(head).get(HEADER) or "")
    except Exception:
        return False
    pk, _dash, given = value.strip().partition("-")
    return pk == str(raw.channel_id) and valid(raw.channel, given)
