"""Is mail that claims to come from a teammate really theirs?

Mail from a teammate's own mail client (with the inbox in Cc or Bcc) is stored as their sent reply.
Anyone can write a teammate's address into From, so it counts as theirs only when one of these
proves it:

1. It was sent to the teammate's **secret address** (`support+u<id>-<mac>@…`, shown to them
   under Settings → My account), which only they know;
2. a **DKIM signature** that verifies (dkimpy) was made by the domain of the From address;
3. the topmost **Authentication-Results** header was added by an MTA the administrator trusts
   (`SAMTALE_TRUSTED_AUTHSERV_IDS`: its authserv-id) and says DKIM or DMARC passed for the From
   domain (an MTA removes such headers from incoming mail, so a forged one sits below it).

Otherwise the message is an ordinary inbound message, flagged "sender not verified".
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from django.conf import settings

from samtale.accounts.models import User
from samtale.channels.email.addresses import TEAMMATE, ident_in, tagged
from samtale.channels.email.parse import ParsedEmail

log = logging.getLogger(__name__)

DNS_TIMEOUT = 3.0  # seconds per DKIM key lookup: ingest must not wait long on a slow DNS
MAX_SIGNED_BYTES = 10 * 1024 * 1024  # larger messages are not DKIM-checked (hashing cost)


def secret_address(channel_address: str, user: User) -> str:
    """The address a teammate puts in Cc/Bcc so mail they send from their own client is theirs."""
    return tagged(channel_address, TEAMMATE, user.pk)


def user_from_secret_address(addresses: Iterable[str]) -> int | None:
    return ident_in(addresses, TEAMMATE)


def _aligned(domain: str, from_domain: str) -> bool:
    domain, from_domain = domain.lower().strip(". "), from_domain.lower().strip(". ")
    return bool(domain) and (from_domain == domain or from_domain.endswith("." + domain))


def _txt(name: bytes, timeout: float = DNS_TIMEOUT) -> bytes | None:
    import dkim.dnsplug

    return dkim.dnsplug.get_txt(name, timeout=min(timeout, DNS_TIMEOUT))  # type: ignore[no-any-return]


TXT_LOOKUP: Callable[..., bytes | None] = _txt  # tests serve their own key here


def dkim_verified_domains(raw: bytes) -> list[str]:
    """Domains (d=) of the DKIM signatures of `raw` that verify."""
    import dkim

    if len(raw) > MAX_SIGNED_BYTES or b"dkim-signature" not in raw[:262144].lower():
        return []
    verified = []
    try:
        checker = dkim.DKIM(raw, minkey=1024, timeout=DNS_TIMEOUT)
        signatures = sum(1 for name, _value in checker.headers if name.lower() == b"dkim-signature")
        for index in range(min(signatures, 5)):  # a sender may sign several times; an attacker many
            try:
                if checker.verify(idx=index, dnsfunc=TXT_LOOKUP):
                    verified.append(bytes(checker.domain).decode("ascii", "replace"))
            except dkim.DKIMException:
                continue
    except Exception:  # a malformed signature or message: not verified
        log.debug("DKIM check failed", exc_info=True)
    return verified


def authentication_results_pass(raw_header: str, from_domain: str) -> bool:
    """The topmost Authentication-Results header, from a trusted authserv-id, says DKIM or DMARC
    passed for `from_domain`."""
    trusted = {a.lower() for a in settings.SAMTALE_TRUSTED_AUTHSERV_IDS}
    if not raw_header or not trusted:
        return False
    authserv, _sep, results = raw_header[:8192].partition(";")
    if authserv.strip().split()[0:1] and authserv.strip().split()[0].lower() not in trusted:
        return False
    for result in results.split(";"):
        words = result.split()
        if not words:
            continue
        method, _eq, outcome = words[0].partition("=")
        if outcome.lower() != "pass" or method.lower() not in ("dkim", "dmarc"):
            continue
        props = dict(w.partition("=")[::2] for w in words[1:] if "=" in w)
        domain = props.get("header.d") or props.get("header.i", "").rpartition("@")[2] or props.get("header.from", "")
        if _aligned(domain, from_domain):
            return True
    return False


def proven_teammate(parsed: ParsedEmail, raw: bytes, envelope_to: Iterable[str], user: User) -> bool:
    """Is this message, whose From is `user`'s address, provably theirs?"""
    if user_from_secret_address([*envelope_to, *parsed.to, *parsed.cc, *parsed.delivered_to]) == user.pk:
        return True
    from_domain = parsed.from_address.rpartition("@")[2]
    if authentication_results_pass(parsed.authentication_results, from_domain):
        return True
    return any(_aligned(domain, from_domain) for domain in dkim_verified_domains(raw))
