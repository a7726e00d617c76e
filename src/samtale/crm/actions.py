from __future__ import annotations

from django.db import transaction

from samtale.accounts.models import Account, User
from samtale.core.audit import audit
from samtale.crm.models import Contact


def create_contact(
    account: Account, *, acting_user: User | None, name: str = "", email: str = "", phone: str = ""
) -> Contact:
    with transaction.atomic():
        contact = Contact.objects.create(
            account=account, name=name.strip(), email=email.strip().lower(), phone=phone.strip()
        )
        audit(account, acting_user, "contact.created", contact)
    return contact


def find_contact_by_email(account_id: int, email: str) -> Contact | None:
    """Case-insensitive, through the lower(email) index (an `iexact` lookup cannot use it)."""
    from django.db.models.functions import Lower

    return (
        Contact.objects.alias(email_lower=Lower("email"))
        .filter(account_id=account_id, email_lower=email.strip().lower())
        .order_by("id")
        .first()
    )


def get_or_create_contact_by_email(
    account: Account, email: str, name: str = "", *, acting_user: User | None = None
) -> Contact:
    email = email.strip().lower()
    existing = find_contact_by_email(account.pk, email)
    if existing is not None:
        return existing
    return create_contact(account, acting_user=acting_user, name=name, email=email)
