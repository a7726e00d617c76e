"""Addresses of a channel with a signed tag: `support+<letter><id>-<mac>@domain`.

Three kinds, one mechanism: `c` a conversation's reply address (threading), `b` a message's return
path (delivery reports), `u` a teammate's secret copy address. The MAC (HMAC of the purpose and the
id with the secret key) makes them unguessable; the purpose keeps one kind from standing in for
another."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:
    from samtale.inbox.models import Channel


@dataclass(frozen=True)
class Tag:
    letter: str
    purpose: str
    length: int  # hex characters of the MAC


REPLY = Tag("c", "reply", 10)  # 10: the length reply addresses already sent out carry
BOUNCE = Tag("b", "bounce", 16)
TEAMMATE = Tag("u", "teammate", 16)


def base_address(address: str) -> str:
    """support+c12-ab34@acme.test -> support@acme.test"""
    local, _at, domain = address.strip().lower().rpartition("@")
    return f"{local.partition('+')[0]}@{domain}" if local else address.strip().lower()


def _mac(tag: Tag, ident: int) -> str:
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, f"{tag.purpose}:{ident}".encode(), hashlib.sha256).hexdigest()[: tag.length]


def tagged(address: str, tag: Tag, ident: int) -> str:
    local, _at, domain = address.partition("@")
    return f"{local}+{tag.letter}{ident}-{_mac(tag, ident)}@{domain}"


def ident_in(addresses: Iterable[str], tag: Tag) -> int | None:
    """The id of the first of `addresses` that carries a valid `tag`."""
    for address in addresses:
        found = address.lower().partition("@")[0].partition("+")[2]
        if not found.startswith(tag.letter) or "-" not in found:
            continue
        ident, _dash, mac = found[1:].partition("-")
        if ident.isdigit() and len(ident) <= 18 and hmac.compare_digest(mac, _mac(tag, int(ident))):
            return int(ident)
    return None


def reply_address(channel: Channel, conversation_id: int) -> str:
    """The conversation's own reply address: `support+c<id>-<mac>@domain` (C3 threading)."""
    return tagged(channel.address, REPLY, conversation_id)


def conversation_from_token(addresses: Iterable[str]) -> int | None:
    return ident_in(addresses, REPLY)


def bounce_address(channel: Channel, message_id: int) -> str:
    """The return path (envelope sender) of one outbound message: `support+b<id>-<mac>@domain`
    (VERP). A delivery report is believed only when it comes back to this address."""
    return tagged(channel.address, BOUNCE, message_id)


def message_from_bounce_address(addresses: Iterable[str]) -> int | None:
    return ident_in(addresses, BOUNCE)
