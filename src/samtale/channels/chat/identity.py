"""Who a widget is talking to: the visitor's signed token, and the identity a site vouches for.

A visitor is known by a token the widget keeps in the site's storage (signed with the server's
secret, salted with the widget's key: one widget's token means nothing to another). A site that
knows who its signed-in customer is passes their id and/or email with
`HMAC-SHA256(widget secret, "<id>|<email>")` in hex; only then is the visitor merged with that
customer's contact (an email typed into the widget is kept, never trusted for a merge).
"""

from __future__ import annotations

import hashlib
import hmac
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


def identity_hash(secret: str, user_id: str, email: str) -> str:
    """What the site computes on its server (never in the browser: the secret stays there)."""
    return hmac.new(secret.encode(), f"{user_id}|{email}".encode(), hashlib.sha256).hexdigest()


def verified_identity(secret: str, identity: object) -> tuple[str, str, str] | None:
    """(id, email, name) when the site's signature over id and email is right, else None."""
    if not isinstance(identity, dict):
        return None
    user_id, email, name, given = (str(identity.get(k) or "")[:254] for k in ("id", "email", "name", "hash"))
    user_id, email = user_id.strip(), email.strip()
    if not (user_id or email) or not given:
        return None
    if not hmac.compare_digest(identity_hash(secret, user_id, email), given.strip().lower()):
        return None
    return user_id[:200], email, name.strip()[:200]
