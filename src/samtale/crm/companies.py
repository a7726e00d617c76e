"""Which company an address belongs to: its domain, unless the domain is a free-mail provider's
(everyone's address at gmail.com is not one company). The list is kept here; an installation
adds its own with SAMTALE_FREE_MAIL_DOMAINS (comma-separated)."""

from __future__ import annotations

from django.conf import settings

FREE_MAIL = frozenset(
    """
    gmail.com googlemail.com outlook.com hotmail.com hotmail.no hotmail.co.uk live.com live.no msn.com
    yahoo.com yahoo.no yahoo.co.uk ymail.com icloud.com me.com mac.com aol.com gmx.com gmx.de gmx.net
    proton.me protonmail.com pm.me tutanota.com tuta.io mail.com zoho.com yandex.com yandex.ru fastmail.com
    hey.com online.no start.no broadpark.no frisurf.no c2i.net chello.no getmail.no lyse.net altibox.no
    telia.no netcom.no tele2.no ebnett.no bluezone.no sol.no
    hotmail.se live.se telia.com spray.se bredband.net yahoo.se hotmail.dk live.dk mail.dk jubii.dk
    web.de t-online.de freenet.de orange.fr wanadoo.fr free.fr laposte.net libero.it qq.com 163.com
    """.split()  # noqa: SIM905 (a list to read and extend by eye)
)


def free_mail_domains() -> frozenset[str]:
    extra = getattr(settings, "SAMTALE_FREE_MAIL_DOMAINS", "") or ""
    return FREE_MAIL | {d.strip().lower() for d in extra.split(",") if d.strip()}


def clean_domain(value: str) -> str:
    """A domain as stored: lower case, no scheme, path or "www."."""
    text = value.strip().lower()[:300]
    for prefix in ("https://", "http://"):
        if text.startswith(prefix):
            text = text[len(prefix) :]
    text = text.split("/", 1)[0].split("@")[-1].rstrip(".")
    if text.startswith("www."):
        text = text[4:]
    return text[:253]


def company_domain(email: str) -> str:
    """The domain a company of this address would have, or "" (free mail, no address)."""
    if "@" not in email:
        return ""
    domain = clean_domain(email.rsplit("@", 1)[1])
    return "" if domain in free_mail_domains() else domain
