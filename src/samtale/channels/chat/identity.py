"""Who a widget is talking to: the visitor's signed token, and the identity a site vouches for.

A visitor is known by a token the widget keeps in the site's storage (signed with the server's
secret, salted with the widget's key: one widget's token means nothing to another). A site that
knows who its signed-in customer is passes their id and/or email with a hash its server computes,
`hex(HMAC-SHA256(widget secret, identity_message(id, email, expires)))`; only then is the visitor
merged with that customer's contact (an email typed into the widget is kept, never trusted for a
merge). The message gives each value with its length in UTF-8 bytes first, so no two identities
sign the same bytes (with a plain `"<id>|<email>"`, id "4|x" with email "y" and id "4" with email
"x|y" shared one hash). A hash without `expires` (Unix seconds) holds until the widget's secret is
rotated, which revokes every hash at once.
"""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid

from django.core import signing

TOKEN_MAX_AGE = 400 * 24 * 3600  # a returning visitor is recognised for a bit over a year


def _salt(widget_key: str) -> str:
    return f"samtale.chat.visitor:{widget_key}"


def visitor_token(widget_key: str, uid: uuid.UUID) -> str:
    return signing.dumps(uid.hex, salt=_salt(widget_key), compress=False)


def uid_from_token(widget_key: str, token: object) -> uuid.UUID | None:
    if not isinstance(token, str) or not token or len(token) > 200:
        return None
    try:
        value = signing.loads(token, salt=_salt(widget_key), max_age=TOKEN_MAX_AGE)
        return uuid.UUID(hex=str(value))
    except (signing.BadSignature, ValueError, TypeError):
        return None


def identity_message(user_id: str, email: str, expires: str = "") -> bytes:
    """`<bytes of id>:<id>|<bytes of email>:<email>|<expires or nothing>`, in UTF-8."""
    uid, address = user_id.encode(), email.encode()
    return b"%d:%s|%d:%s|%s" % (len(uid), uid, len(address), address, expires.encode())


def identity_hash(secret: str, user_id: str, email: str, expires: int | None = None) -> str:
    """What the site computes on its server (never in the browser: the secret stays there)."""
    message = identity_message(user_id, email, "" if expires is None else str(expires))
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


MAX_VALUE = 254  # characters of an id, an email or a name


def verified_identity(secret: str, identity: object, at: float | None = None) -> tuple[str, str, str] | None:
    """(id, email, name) when the site's signature over id, email (and expiry) is right and has not
    expired, else None. Longer values than MAX_VALUE are refused, never cut (the site signed them whole)."""
    if not isinstance(identity, dict):
        return None
    values = [identity.get(k) for k in ("id", "email", "name", "hash")]
    if any((v is not None and not isinstance(v, str | int)) or isinstance(v, bool) for v in values):
        return None
    user_id, email, name, given = (str(v if v is not None else "") for v in values)
    if any(len(v) > MAX_VALUE for v in (user_id, email, name, given)):
        return None
    try:  # (JSON may carry lone surrogates, "\udcff": no site could have signed those)
        for value in (user_id, email, name, given):
            value.encode()
    except UnicodeEncodeError:
        return None
    user_id, email = user_id.strip(), email.strip()
    if not (user_id or email) or not given:
        return None
    expires = identity.get("expires")
    stamp = ""
    if expires is not None:
        text = str(expires)
        if isinstance(expires, bool) or not (text.isascii() and text.isdigit() and len(text) <= 12):
            return None
        if int(text) <= (time.time() if at is None else at):
            return None  # expired
        stamp = text
    expected = hmac.new(secret.encode(), identity_message(user_id, email, stamp), hashlib.sha256).hexdigest()
    # (bytes: compare_digest refuses str that is not ASCII with a TypeError)
    if not hmac.compare_digest(expected.encode(), given.strip().lower().encode("utf-8", "replace")):
        return None
    return user_id[:200], email, name.strip()[:200]
