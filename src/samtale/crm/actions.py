"""The CRM's write path: contacts, their identities and their timeline.

Every channel finds or creates its contact through one action, by identity
(`contact_for_identity`: an email address, an E.164 number, a chat visitor, a Messenger id), so one
address always means one person in an account. A contact's `email`/`phone` properties are what is
shown; only identities are trusted to find someone (an address typed into a chat widget is a
property until someone proves it). The timeline is written here by the actions of the apps above
(`add_timeline_entry`), never assembled from them when read."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from samtale.accounts.models import Account, User
from samtale.core import batching
from samtale.core.audit import audit
from samtale.core.clock import now
from samtale.core.hooks import Hook
from samtale.crm import identities
from samtale.crm.identities import IdentityKind
from samtale.crm.models import Contact, ContactIdentity, TimelineEntry

# (keep, merged, acting_user) inside the merge's transaction: apps above move what points at the
# merged contact (the inbox its conversations, chat its visitors)
contacts_merged: Hook[[Contact, Contact, User | None], Any] = Hook("contacts_merged")


def _remember(account_id: int, kind: str, value: str, contact: Contact | None) -> None:
    scope = batching.current()
    if scope is not None:
        scope.memo[("identity", account_id, kind, value)] = contact


def create_contact(
    account: Account,
    *,
    acting_user: User | None,
    name: str = "",
    email: str = "",
    phone: str = "",
    identities_: Iterable[tuple[str, str]] = (),
) -> Contact:
    """A new contact. `email` and `phone` are its shown properties; `identities_` (kind, value) are
    what finds it (each normalized, and refused when another contact of the account has it)."""
    wanted = [(kind, identities.normalize(kind, value)) for kind, value in identities_]
    with transaction.atomic():
        contact = Contact.objects.create(
            account=account, name=name.strip()[:200], email=email.strip().lower()[:254], phone=phone.strip()[:40]
        )
        for kind, value in wanted:
            _attach_identity(contact, kind, value)
        audit(account, acting_user, "contact.created", contact)
    for kind, value in wanted:
        _remember(account.pk, kind, value, contact)
    return contact


def _attach_identity(contact: Contact, kind: str, value: str) -> ContactIdentity:
    try:
        with transaction.atomic():
            return ContactIdentity.objects.create(
                account_id=contact.account_id, contact=contact, kind=kind, value=value
            )
    except IntegrityError:
        raise ValidationError(
            _("%(value)s already belongs to another contact: merge the two instead.") % {"value": value},
            code="identity_taken",
        ) from None


def find_contact(account_id: int, kind: str, value: str) -> Contact | None:
    """The contact with this (normalized) identity. In a batch, each is looked up once."""

    def load() -> Contact | None:
        found = (
            ContactIdentity.objects.filter(account_id=account_id, kind=kind, value=value)
            .select_related("contact")
            .first()
        )
        return found.contact if found is not None else None

    scope = batching.current()
    if scope is None:
        return load()
    contact: Contact | None = scope.remember(("identity", account_id, kind, value), load)
    return contact


def contact_for_identity(
    account: Account, kind: str, value: str, *, name: str = "", acting_user: User | None = None
) -> Contact:
    """The contact of this identity, created (with it, and the value as its property) when there
    is none: the one way every channel finds its contact. A ValidationError when the value is not
    one (an address that is not an address)."""
    value = identities.normalize(kind, value)
    found = find_contact(account.pk, kind, value)
    if found is not None:
        return found
    prop = {"email": value} if kind == IdentityKind.EMAIL else {"phone": value} if kind == IdentityKind.PHONE else {}
    # One savepoint: a lost race undoes the new contact too. Inside a batch (the mail ingest's one
    # transaction, no savepoints) a lost race fails the batch, which is then done message by message.
    scope = batching.current()
    try:
        with transaction.atomic(savepoint=scope is None):
            contact = Contact.objects.create(account=account, name=name.strip()[:200], **prop)
            ContactIdentity.objects.create(account_id=account.pk, contact=contact, kind=kind, value=value)
            audit(account, acting_user, "contact.created", contact)
    except IntegrityError:  # created by someone else since the lookup (another process): theirs is it
        if scope is not None:
            raise
        again = find_contact(account.pk, kind, value)
        if again is None:
            raise
        return again
    _remember(account.pk, kind, value, contact)
    return contact


def find_contact_by_email(account_id: int, email: str) -> Contact | None:
    try:
        address = identities.normalize(IdentityKind.EMAIL, email)
    except ValidationError:
        return None
    return find_contact(account_id, IdentityKind.EMAIL, address)


def get_or_create_contact_by_email(
    account: Account, email: str, name: str = "", *, acting_user: User | None = None
) -> Contact:
    return contact_for_identity(account, IdentityKind.EMAIL, email, name=name, acting_user=acting_user)


def prefetch_contacts(account_id: int, emails: Iterable[str]) -> None:
    """Inside a batch: the contacts of these addresses in one query per 500 (and that the others have none)."""
    scope = batching.current()
    if scope is None:
        return
    wanted = sorted({e.strip().lower()[:254] for e in emails if e and "@" in e})
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        rows = ContactIdentity.objects.filter(account_id=account_id, kind=IdentityKind.EMAIL, value__in=chunk)
        found = {row.value: row.contact for row in rows.select_related("contact")}
        for email in chunk:
            scope.memo.setdefault(("identity", account_id, IdentityKind.EMAIL.value, email), found.get(email))


def add_identity(contact: Contact, *, kind: str, value: str, acting_user: User | None) -> ContactIdentity:
    """Another address or number is this contact's (a teammate knows it, or it was proven)."""
    value = identities.normalize(kind, value)
    with transaction.atomic():
        identity = _attach_identity(contact, kind, value)
        audit(contact.account, acting_user, "contact.identity_added", contact, kind=kind)
    _remember(contact.account_id, kind, value, contact)
    return identity


CONTACT_FIELDS = ("name", "email", "phone")


def set_contact_fields(contact: Contact, *, acting_user: User | None, **values: str) -> Contact:
    """Set some of a contact's properties (a chatflow's saved answer, an email a visitor left).
    Values are checked: an email must be one, a name or phone fits its column. Properties only:
    an address set here finds nobody until it is an identity (`add_identity`)."""
    from django.core.validators import validate_email

    changed: dict[str, str] = {}
    for name, value in values.items():
        if name not in CONTACT_FIELDS:
            raise ValidationError(f"Unknown contact property {name!r}.")
        value = " ".join(str(value).split())
        if name == "email":
            value = value.lower()
            validate_email(value)
        limit = getattr(Contact._meta.get_field(name), "max_length", None) or 200
        value = value[:limit]
        if getattr(contact, name) != value:
            changed[name] = value
    if not changed:
        return contact
    with transaction.atomic():
        for name, value in changed.items():
            setattr(contact, name, value)
        contact.save(update_fields=list(changed))
        audit(contact.account, acting_user, "contact.updated", contact, fields=sorted(changed))
    return contact


def merge_contacts(keep: Contact, other: Contact, *, acting_user: User | None) -> Contact:
    """`other` becomes part of `keep`: its identities and timeline move, properties `keep` lacks
    are taken from it, the apps above move what points at it (`contacts_merged`), and `other`
    stays only as a pointer to `keep` (old links lead there)."""
    if keep.pk == other.pk:
        raise ValidationError(_("A contact cannot be merged with itself."))
    if keep.account_id != other.account_id:
        raise ValidationError(_("That contact is not in this account."))
    with transaction.atomic():
        locked = {c.pk: c for c in Contact.objects.select_for_update().filter(pk__in=[keep.pk, other.pk])}
        if any(c.merged_into_id is not None for c in locked.values()):
            raise ValidationError(_("One of these contacts was merged already."))
        ContactIdentity.objects.filter(contact=other).update(contact=keep)
        TimelineEntry.objects.filter(contact=other).update(contact=keep)
        taken = [f for f in CONTACT_FIELDS if not getattr(keep, f) and getattr(other, f)]
        for field in taken:
            setattr(keep, field, getattr(other, field))
        if taken:
            keep.save(update_fields=taken)
        other.merged_into = keep
        other.save(update_fields=["merged_into"])
        contacts_merged(keep, other, acting_user)
        audit(keep.account, acting_user, "contact.merged", keep, merged_id=other.pk, fields=taken)
        add_timeline_entry(keep, kind="contact.merged", actor=acting_user, subject_type="contact", subject_id=other.pk,
                           title=other.display_name)  # fmt: skip
    scope = batching.current()
    if scope is not None:  # what the batch remembered of `other`'s identities now finds `keep`
        for key, value in list(scope.memo.items()):
            if isinstance(value, Contact) and value.pk == other.pk:
                scope.memo[key] = keep
    return keep


def add_timeline_entry(
    contact: Contact,
    *,
    kind: str,
    at: datetime | None = None,
    actor: User | None = None,
    subject_type: str = "",
    subject_id: int | None = None,
    title: str = "",
    data: dict[str, Any] | None = None,
) -> TimelineEntry:
    """One row on the contact's timeline. Called by the action that did the thing, inside its
    transaction, after its own permission check (this checks none)."""
    return TimelineEntry.objects.create(
        account_id=contact.account_id, contact=contact, kind=kind[:40], at=at or now(), actor=actor,
        subject_type=subject_type[:40], subject_id=subject_id, title=title[:300], data=data or {},
    )  # fmt: skip


def forget_timeline_subjects(subject_type: str, ids: Iterable[int]) -> int:
    """Things deleted for good (conversations from Trash) leave no line on anyone's timeline."""
    wanted = list(ids)
    total = 0
    for start in range(0, len(wanted), 500):
        total += TimelineEntry.objects.filter(
            subject_type=subject_type, subject_id__in=wanted[start : start + 500]
        ).delete()[0]
    return total
