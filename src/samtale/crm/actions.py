"""The CRM's write path: contacts, their identities and their timeline.

Every channel finds or creates its contact through one action, by identity
(`contact_for_identity`: an email address, an E.164 number, a chat visitor, a Messenger id), so one
address always means one person in an account. A contact's `email`/`phone` properties are what is
shown; only identities are trusted to find someone (an address typed into a chat widget is a
property until someone proves it). The timeline is written here by the actions of the apps above
(`add_timeline_entry`), never assembled from them when read."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from samtale.accounts.access import membership_of, require_permission
from samtale.accounts.models import Account, Membership, User
from samtale.core import batching
from samtale.core.audit import audit
from samtale.core.clock import now
from samtale.core.events import publish_on_commit
from samtale.core.hooks import Hook
from samtale.crm import events, identities, properties, search
from samtale.crm.companies import clean_domain, company_domain
from samtale.crm.identities import IdentityKind
from samtale.crm.models import (
    Company,
    Contact,
    ContactIdentity,
    ContactSearchToken,
    CustomRecord,
    Note,
    ObjectType,
    PropertyChange,
    PropertyDefinition,
    PropertyType,
    Task,
    TimelineEntry,
)

# (keep, merged, acting_user) inside the merge's transaction: apps above move what points at the
# merged contact (the inbox its conversations, chat its visitors)
contacts_merged: Hook[[Contact, Contact, User | None], Any] = Hook("contacts_merged")
# (object type, account id, key): a custom property of objects the apps above keep (tickets) is
# deleted, so they drop its values (inside the deleting transaction)
property_deleting: Hook[[str, int, str], Any] = Hook("property_deleting")


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
    email = email.strip().lower()[:254]
    with transaction.atomic():
        first, last = _split_name(name)
        contact = Contact.objects.create(
            account=account, name=name.strip()[:200], first_name=first, last_name=last, email=email,
            phone=phone.strip()[:40], company=_company_of(account.pk, email),
        )  # fmt: skip
        for kind, value in wanted:
            _attach_identity(contact, kind, value)
        _index(contact, fresh=True, known=wanted)
        audit(account, acting_user, "contact.created", contact)
    for kind, value in wanted:
        _remember(account.pk, kind, value, contact)
    return contact


def _split_name(name: str) -> tuple[str, str]:
    """ "Kari Anne Nordmann" → ("Kari Anne", "Nordmann"): the last word is the last name."""
    words = name.split()
    if len(words) < 2:
        return " ".join(words)[:100], ""
    return " ".join(words[:-1])[:100], words[-1][:100]


def _company_of(account_id: int, email: str) -> Company | None:
    """The account's company at this address's domain (none for free mail); once per batch."""
    domain = company_domain(email)
    if not domain:
        return None

    def load() -> Company | None:
        return Company.objects.filter(account_id=account_id, domain=domain).first()

    scope = batching.current()
    if scope is None:
        return load()
    found: Company | None = scope.remember(("company", account_id, domain), load)
    return found


def _index(contact: Contact, *, fresh: bool = False, known: Iterable[tuple[str, str]] | None = None) -> None:
    """The contact's search words (`search.contact_tokens`) rewritten; `known`: its identities,
    when the caller has them. In a batch, new contacts' words are written in one INSERT when it ends."""
    values = (
        list(known)
        if known is not None
        else list(ContactIdentity.objects.filter(contact=contact).values_list("kind", "value"))
    )
    tokens = search.contact_tokens(
        contact,
        emails=[v for k, v in values if k == IdentityKind.EMAIL],
        phones=[v for k, v in values if k == IdentityKind.PHONE],
    )
    rows = [ContactSearchToken(account_id=contact.account_id, contact_id=contact.pk, token=t) for t in sorted(tokens)]
    scope = batching.current()
    if fresh and scope is not None:
        for row in rows:
            scope.add("contact_tokens", row, ContactSearchToken.objects.bulk_create)
        return
    if not fresh:
        ContactSearchToken.objects.filter(contact=contact).delete()
    ContactSearchToken.objects.bulk_create(rows)


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
            first, last = _split_name(name)
            contact = Contact.objects.create(
                account=account, name=name.strip()[:200], first_name=first, last_name=last,
                company=_company_of(account.pk, prop.get("email", "")), **prop,
            )  # fmt: skip
            ContactIdentity.objects.create(account_id=account.pk, contact=contact, kind=kind, value=value)
            _index(contact, fresh=True, known=[(kind, value)])
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
        _index(contact)
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


MERGED_FIELDS = (
    "first_name", "last_name", "email", "phone", "company_id", "job_title", "language", "owner_id", "lifecycle_stage",
)  # fmt: skip


def merge_contacts(
    keep: Contact, other: Contact, *, acting_user: User | None, take_from_other: Iterable[str] = ()
) -> Contact:
    """`other` becomes part of `keep` (CRM admins; the system too, acting_user None): its
    identities and timeline move, properties `keep` lacks are taken from it, and those named in
    `take_from_other` (chosen in the preview) too; the apps above move what points at it
    (`contacts_merged`), and `other` stays only as a pointer to `keep` (old links lead there)."""
    if acting_user is not None:
        _require_crm_admin(acting_user, keep.account_id)
    if keep.pk == other.pk:
        raise ValidationError(_("A contact cannot be merged with itself."))
    if keep.account_id != other.account_id:
        raise ValidationError(_("That contact is not in this account."))
    chosen = {f"{key}_id" if key in ("company", "owner") else key for key in take_from_other}
    with transaction.atomic():
        locked = {c.pk: c for c in Contact.objects.select_for_update().filter(pk__in=[keep.pk, other.pk])}
        if len(locked) != 2 or any(c.merged_into_id is not None for c in locked.values()):
            raise ValidationError(_("One of these contacts was merged already."))
        keep, other = locked[keep.pk], locked[other.pk]
        ContactIdentity.objects.filter(contact=other).update(contact=keep)
        TimelineEntry.objects.filter(contact=other).update(contact=keep)
        PropertyChange.objects.filter(contact=other).update(contact=keep)
        taken = [
            f for f in MERGED_FIELDS if getattr(other, f) and (not getattr(keep, f) or f in chosen)
            and getattr(keep, f) != getattr(other, f)
        ]  # fmt: skip
        changes: list[tuple[str, object, object]] = [
            (
                f.removesuffix("_id"),
                _shown(getattr(keep, f.removesuffix("_id"))),
                _shown(getattr(other, f.removesuffix("_id"))),
            )
            for f in taken
        ]
        for field in taken:
            setattr(keep, field, getattr(other, field))
        for key, value in other.properties.items():  # custom properties: what `keep` lacks
            if key not in keep.properties:
                keep.properties[key] = value
                changes.append((key, None, value))
        if {"first_name", "last_name"} & set(taken) or not keep.name:
            keep.name = f"{keep.first_name} {keep.last_name}".strip()[:200] or other.name
        keep.save()
        PropertyChange.objects.bulk_create(
            PropertyChange(account_id=keep.account_id, contact=keep, key=key, old=old, new=new, actor=acting_user)
            for key, old, new in changes
        )
        other.merged_into = keep
        other.save(update_fields=["merged_into"])
        Contact.objects.filter(merged_into=other).update(merged_into=keep)  # (links to earlier merges too)
        ContactSearchToken.objects.filter(contact=other).delete()  # found as `keep` from now on
        _index(keep)
        contacts_merged(keep, other, acting_user)
        audit(keep.account, acting_user, "contact.merged", keep, merged_id=other.pk, fields=[c[0] for c in changes])
        add_timeline_entry(keep, kind="contact.merged", actor=acting_user, subject_type="contact", subject_id=other.pk,
                           title=other.display_name)  # fmt: skip
        publish_on_commit(events.contact_changed(keep.account_id, [keep.pk, other.pk], "merged"))
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


def require_member(acting_user: User, account_id: int) -> Membership:
    """The acting user is a member of the account the CRM object is in (the apps above use it too)."""
    membership = membership_of(acting_user)
    if membership.account_id != account_id:
        raise PermissionDenied(_("That contact is not in this account."))
    return membership


def require_crm_admin(acting_user: User, account_id: int) -> None:
    """Deleting, merging, importing, exporting and defining properties, pipelines and objects."""
    require_member(acting_user, account_id)
    require_permission(acting_user, "crm_admin")


_require_member, _require_crm_admin = require_member, require_crm_admin


def teammate(account_id: int, value: object) -> User | None:
    """The active teammate of the account with this id (a form's or the API's value), or None for
    none; a ValidationError on "owner" for anyone else."""
    return _owner(account_id, value)


def _owner(account_id: int, value: object) -> User | None:
    if value in (None, "", 0, "0"):
        return None
    try:
        pk = int(str(value))
    except ValueError:
        pk = 0
    owner = User.objects.filter(
        pk=pk, membership__account_id=account_id, membership__deactivated_at=None, membership__removed_at=None
    ).first()
    if owner is None:
        raise ValidationError({"owner": [_("Choose a teammate of this account.")]})
    return owner


def _company(account_id: int, value: object) -> Company | None:
    if value in (None, "", 0, "0"):
        return None
    if isinstance(value, Company):
        found: Company | None = value if value.account_id == account_id else None
    else:
        try:
            found = Company.objects.filter(account_id=account_id, pk=int(str(value))).first()
        except ValueError:
            found = None
    if found is None:
        raise ValidationError({"company": [_("No such company.")]})
    return found


def _one_line(key: str, value: object, limit: int) -> str:
    text = " ".join(str(value or "").split())
    if len(text) > limit:
        raise ValidationError({key: [_("At most %(n)s characters.") % {"n": limit}]})
    return text


def _shown(value: object) -> object:
    """A value as property history keeps it (JSON): a teammate or a company by id and name."""
    if isinstance(value, User):
        return {"id": value.pk, "name": value.name}
    if isinstance(value, Company):
        return {"id": value.pk, "name": value.name}
    return value if value != "" else None


def update_contact(contact: Contact, *, acting_user: User, values: dict[str, object]) -> Contact:
    """Change some of a contact's properties (standard and custom, by key), each checked by its
    type; all or nothing, with one ValidationError naming every field that is wrong. An email or
    phone set here is a teammate's word: it becomes one of the contact's identities (refused when
    it is another contact's: merge them). Every change is kept in the property history."""
    _require_member(acting_user, contact.account_id)
    if contact.merged_into_id is not None:
        raise ValidationError(_("This contact was merged into another one."))
    definitions = {
        d.key: d for d in PropertyDefinition.objects.filter(account_id=contact.account_id, object_type="contact")
    }
    errors: dict[str, list[str]] = {}
    new: dict[str, object] = {}
    for key, raw in values.items():
        try:
            new[key] = _clean(contact, key, raw, definitions)
        except ValidationError as error:
            errors[key] = error.messages
    if errors:
        raise ValidationError(errors)
    changes: list[tuple[str, object, object]] = []
    for key, value in new.items():
        old = contact.properties.get(key) if key in definitions else getattr(contact, key)
        if old != value:
            changes.append((key, old, value))
    if not changes:
        return contact
    with transaction.atomic():
        new_identities = []
        for key, _old, value in changes:
            if key in definitions:
                if value is None:
                    contact.properties.pop(key, None)
                else:
                    contact.properties[key] = value
            else:
                setattr(contact, key, value)
            if key in ("email", "phone") and value:
                kind = IdentityKind.EMAIL if key == "email" else IdentityKind.PHONE
                if not ContactIdentity.objects.filter(contact=contact, kind=kind, value=value).exists():
                    new_identities.append((kind, str(value)))
        if {"first_name", "last_name"} & {k for k, _o, _n in changes}:
            contact.name = f"{contact.first_name} {contact.last_name}".strip()[:200]
        contact.save()
        for kind, value in new_identities:
            _attach_identity(contact, kind, value)
        _index(contact)
        at = now()
        PropertyChange.objects.bulk_create(
            PropertyChange(
                account_id=contact.account_id,
                contact=contact,
                key=key,
                old=_shown(old),
                new=_shown(value),
                actor=acting_user,
                at=at,
            )
            for key, old, value in changes
        )
        audit(contact.account, acting_user, "contact.updated", contact, fields=sorted(k for k, _o, _n in changes))
        publish_on_commit(events.contact_changed(contact.account_id, [contact.pk], "updated"))
    return contact


def _clean(contact: Contact, key: str, raw: object, definitions: dict[str, PropertyDefinition]) -> object:
    if key in definitions:
        return properties.clean_custom(definitions[key], raw)
    if key in ("first_name", "last_name"):
        return _one_line(key, raw, 100)
    if key == "job_title":
        return _one_line(key, raw, 200)
    if key == "email":
        text = str(raw or "").strip()
        return identities.normalize(IdentityKind.EMAIL, text) if text else ""
    if key == "phone":
        text = str(raw or "").strip()
        return identities.normalize_phone(text) if text else ""
    if key == "language":
        text = str(raw or "")
        if text not in ("", "en", "nb"):
            raise ValidationError(_("Choose one of the options."))
        return text
    if key == "lifecycle_stage":
        from samtale.crm.models import LifecycleStage

        text = str(raw or "")
        if text and text not in LifecycleStage.values:
            raise ValidationError(_("Choose one of the options."))
        return text
    if key == "owner":
        return _owner(contact.account_id, raw)
    if key == "company":
        return _company(contact.account_id, raw)
    raise ValidationError(_("Unknown property."))


def assign_owner(account: Account, *, acting_user: User, ids: Iterable[int], owner_id: object) -> int:
    """The contacts (of this account; others are ignored) get this owner (or none)."""
    _require_member(acting_user, account.pk)
    owner = _owner(account.pk, owner_id)
    wanted = list(dict.fromkeys(int(i) for i in ids))[:1000]
    with transaction.atomic():
        contacts = list(Contact.objects.select_for_update().filter(account=account, pk__in=wanted, merged_into=None))
        changed = [c for c in contacts if c.owner_id != (owner.pk if owner else None)]
        at = now()
        PropertyChange.objects.bulk_create(
            PropertyChange(
                account_id=account.pk,
                contact=c,
                key="owner",
                old=_shown(c.owner),
                new=_shown(owner),
                actor=acting_user,
                at=at,
            )
            for c in changed
        )
        Contact.objects.filter(pk__in=[c.pk for c in changed]).update(owner=owner)
        if changed:
            audit(account, acting_user, "contact.bulk_owner", None, ids=[c.pk for c in changed])
            publish_on_commit(events.contact_changed(account.pk, [c.pk for c in changed], "updated"))
    return len(changed)


def delete_contacts(account: Account, *, acting_user: User, ids: Iterable[int]) -> int:
    """The contacts are gone (CRM admins): identities, timeline, history with them; their
    conversations stay in the inbox without a contact. The audit row keeps ids only."""
    _require_crm_admin(acting_user, account.pk)
    wanted = list(dict.fromkeys(int(i) for i in ids))[:1000]
    with transaction.atomic():
        pks = list(Contact.objects.filter(account=account, pk__in=wanted).values_list("pk", flat=True))
        if not pks:
            return 0
        Contact.objects.filter(merged_into_id__in=pks).update(merged_into=None)
        Contact.objects.filter(pk__in=pks).delete()
        audit(account, acting_user, "contact.deleted", None, ids=pks)
        publish_on_commit(events.contact_changed(account.pk, pks, "deleted"))
    return len(pks)


def create_company(account: Account, *, acting_user: User, name: str, domain: str = "") -> Company:
    _require_member(acting_user, account.pk)
    name = _one_line("name", name, 200)
    if not name:
        raise ValidationError({"name": [_("A company needs a name.")]})
    domain = clean_domain(domain) if domain else ""
    if domain and ("." not in domain or " " in domain):
        raise ValidationError({"domain": [_("%(value)s is not a domain.") % {"value": domain}]})
    with transaction.atomic():
        if domain and Company.objects.filter(account=account, domain=domain).exists():
            raise ValidationError({"domain": [_("Another company has this domain.")]})
        company = Company.objects.create(account=account, name=name, domain=domain)
        audit(account, acting_user, "company.created", company)
    return company


def update_company(company: Company, *, acting_user: User, values: dict[str, object]) -> Company:
    """Change a company's name, domain, owner or custom properties (by key; any teammate): all or
    nothing, every wrong field named. Contacts already associated stay; new contacts at the
    domain join it."""
    _require_member(acting_user, company.account_id)
    errors: dict[str, list[str]] = {}
    changes: dict[str, Any] = {}
    custom = {k: v for k, v in values.items() if k not in ("name", "domain", "owner")}
    cleaned: dict[str, object] = {}
    if custom:
        cleaned, custom_errors = properties.clean_custom_values(
            properties.definitions_of(company.account_id, "company"), custom
        )
        errors.update(custom_errors)
        changes["properties"] = properties.with_custom(company.properties, cleaned)
    if "name" in values:
        try:
            changes["name"] = _one_line("name", values["name"], 200)
            if not changes["name"]:
                errors["name"] = [_("A company needs a name.")]
        except ValidationError as error:
            errors.update(error.message_dict)
    if "domain" in values:
        domain = clean_domain(str(values["domain"] or ""))
        if domain and ("." not in domain or " " in domain):
            errors["domain"] = [_("%(value)s is not a domain.") % {"value": domain}]
        elif (
            domain
            and Company.objects.filter(account_id=company.account_id, domain=domain).exclude(pk=company.pk).exists()
        ):
            errors["domain"] = [_("Another company has this domain.")]
        changes["domain"] = domain
    if "owner" in values:
        try:
            changes["owner"] = _owner(company.account_id, values["owner"])
        except ValidationError as error:
            errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    changed = {k: v for k, v in changes.items() if getattr(company, k) != v}
    if not changed:
        return company
    with transaction.atomic():
        if "properties" in changed:  # merged into what is stored now: a teammate's other values stay
            locked = Company.objects.select_for_update().only("properties").get(pk=company.pk)
            changed["properties"] = properties.with_custom(locked.properties, cleaned)
        for key, value in changed.items():
            setattr(company, key, value)
        company.save(update_fields=list(changed))
        audit(company.account, acting_user, "company.updated", company, fields=sorted(changed))
        ids = list(Contact.objects.filter(company=company).values_list("pk", flat=True)[:500])
        if "name" in changed:  # its contacts are found by its name
            for contact in Contact.objects.filter(company=company)[:5000]:
                _index(contact)
        publish_on_commit(events.contact_changed(company.account_id, ids, "company"))
    return company


def delete_companies(account: Account, *, acting_user: User, ids: Iterable[int]) -> int:
    """The companies are gone (CRM admins); their contacts stay, without a company."""
    _require_crm_admin(acting_user, account.pk)
    wanted = list(dict.fromkeys(int(i) for i in ids))[:1000]
    with transaction.atomic():
        pks = list(Company.objects.filter(account=account, pk__in=wanted).values_list("pk", flat=True))
        if not pks:
            return 0
        Company.objects.filter(pk__in=pks).delete()
        audit(account, acting_user, "company.deleted", None, ids=pks)
    return len(pks)


def company_named(account: Account, *, acting_user: User, name: str) -> Company:
    """The account's company of this name (any case), created when there is none. "Name (domain)",
    as the suggestions offer a company, is that one (two companies may share a name)."""
    name = _one_line("company", name, 200)
    if name.endswith(")") and " (" in name:
        bare, _sep, domain = name[:-1].rpartition(" (")
        exact = Company.objects.filter(
            account=account, name__iexact=bare.strip(), domain=domain.strip().lower()
        ).first()
        if exact is not None:
            return exact
    found = Company.objects.filter(account=account, name__iexact=name).order_by("id").first()
    return found or create_company(account, acting_user=acting_user, name=name)


def define_property(
    account: Account, *, acting_user: User, label: str, type: str, options: str = "", object_type: str = "contact"
) -> PropertyDefinition:
    """A custom property (CRM admins): its key comes from the label, unique in the account."""
    from django.utils.text import slugify

    _require_crm_admin(acting_user, account.pk)
    label = _one_line("label", label, 100)
    if not label:
        raise ValidationError({"label": [_("A property needs a name.")]})
    if type not in PropertyType.values:
        raise ValidationError({"type": [_("Choose one of the options.")]})
    if object_type not in ("contact", "company", "ticket") and not (
        object_type.startswith("obj:") and object_type[4:].isdigit() and len(object_type) <= 16
    ):
        raise ValidationError({"object_type": [_("Choose one of the options.")]})
    cleaned = properties.clean_options(options) if type == PropertyType.DROPDOWN else []
    base = slugify(label).replace("-", "_")[:40] or "property"
    with transaction.atomic():
        taken = (
            set(
                PropertyDefinition.objects.filter(account=account, object_type=object_type).values_list(
                    "key", flat=True
                )
            )
            | properties.STANDARD_KEYS
            | properties.RESERVED_KEYS
        )
        key, n = base, 1
        while key in taken:
            n += 1
            key = f"{base}_{n}"
        definition = PropertyDefinition.objects.create(
            account=account, object_type=object_type, key=key, label=label, type=type, options=cleaned,
            position=len(taken),
        )  # fmt: skip
        audit(account, acting_user, "property.defined", definition, key=key, type=type)
    return definition


def delete_property(definition: PropertyDefinition, *, acting_user: User) -> None:
    """The property is gone, and its values with it (in chunks; other keys untouched)."""
    _require_crm_admin(acting_user, definition.account_id)
    with transaction.atomic():
        key = definition.key
        if definition.object_type in ("contact", "company"):
            model: Any = Contact if definition.object_type == "contact" else Company
            drop_property_values(model.objects.filter(account_id=definition.account_id), key)
        if definition.object_type.startswith("obj:"):  # a custom object's: its records', and their name
            type_id = int(definition.object_type[4:])
            drop_property_values(CustomRecord.objects.filter(account_id=definition.account_id, type_id=type_id), key)
            ObjectType.objects.filter(pk=type_id, label_key=key).update(label_key="")
        property_deleting(definition.object_type, definition.account_id, key)
        audit(definition.account, acting_user, "property.deleted", definition, key=key)
        definition.delete()


def drop_property_values(rows: Any, key: str) -> None:
    """Take `key` out of the `properties` of these rows (in chunks; other keys untouched)."""
    for row in rows.filter(properties__has_key=key).iterator(chunk_size=1000):
        row.properties.pop(key, None)
        type(row).objects.filter(pk=row.pk).update(properties=row.properties)


def note_contacted(contact_id: int, at: datetime) -> None:
    """A message went either way: the contact's "last contacted" moves forward (never back). In a
    batch, once per contact when it ends."""

    def write(rows: list[tuple[int, datetime]]) -> None:
        newest: dict[int, datetime] = {}
        for pk, when in rows:
            newest[pk] = max(when, newest.get(pk, when))
        for pk, when in newest.items():
            _contacted(pk, when)

    scope = batching.current()
    if scope is not None:
        scope.add("contacted", (contact_id, at), write)
    else:
        _contacted(contact_id, at)


def _contacted(contact_id: int, at: datetime) -> None:
    from django.db.models import Q

    Contact.objects.filter(Q(last_contacted_at=None) | Q(last_contacted_at__lt=at), pk=contact_id).update(
        last_contacted_at=at
    )


def move_timeline_subject(subject_type: str, subject_id: int, contact: Contact | None) -> int:
    """What a line is about now belongs to another contact (or to none: its lines go)."""
    lines = TimelineEntry.objects.filter(subject_type=subject_type, subject_id=subject_id)
    if contact is None:
        return lines.delete()[0]
    return lines.update(contact=contact)


NOTE_LIMIT = 10_000
TASK_AHEAD = 3653  # days: a task is due at most about ten years ahead


def add_note(contact: Contact, *, acting_user: User, text: str) -> Note:
    """A note on the contact's timeline (any teammate)."""
    _require_member(acting_user, contact.account_id)
    text = str(text or "").strip()
    if not text:
        raise ValidationError({"text": [_("Write the note first.")]})
    if len(text) > NOTE_LIMIT:
        raise ValidationError({"text": [_("At most %(n)s characters.") % {"n": NOTE_LIMIT}]})
    with transaction.atomic():
        note = Note.objects.create(account_id=contact.account_id, contact=contact, author=acting_user, text=text)
        add_timeline_entry(contact, kind="note", at=note.created_at, actor=acting_user, subject_type="note",
                           subject_id=note.pk, title=text[:300], data={"text": text})  # fmt: skip
        audit(contact.account, acting_user, "note.created", note, contact_id=contact.pk)
        publish_on_commit(events.contact_changed(contact.account_id, [contact.pk], "timeline"))
    return note


def add_task(
    contact: Contact,
    *,
    acting_user: User,
    title: str,
    due_at: datetime | None = None,
    owner_id: object = None,
    due_local: str = "",
) -> Task:
    """A task about the contact, owned by a teammate (the creator unless another is chosen), due
    at a moment from now up to ten years ahead, or whenever. `due_local` ("YYYY-MM-DDTHH:MM", a
    form's) is a time in the owner's zone: "9:00" is nine where the owner works."""
    from datetime import datetime as moment
    from datetime import timedelta

    from samtale.crm.queries import zone_of

    _require_member(acting_user, contact.account_id)
    title = _one_line("title", title, 200)
    if not title:
        raise ValidationError({"title": [_("A task needs a title.")]})
    owner = _owner(contact.account_id, owner_id) if owner_id not in (None, "") else acting_user
    zone = zone_of(owner.pk if owner else acting_user.pk)
    if due_local:
        try:
            wall = moment.strptime(str(due_local).strip()[:16], "%Y-%m-%dT%H:%M")  # noqa: DTZ007  (a wall time: its zone is the owner's, below)
        except ValueError:
            raise ValidationError({"due_at": [_("Not a date and time.")]}) from None
        due_at = wall.replace(tzinfo=zone)
        if due_at.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != wall:  # skipped by a clock change
            raise ValidationError({"due_at": [_("That time does not exist where the owner is (the clocks change).")]})
    if due_at is not None and not (now() - timedelta(days=1) <= due_at <= now() + timedelta(days=TASK_AHEAD)):
        raise ValidationError({"due_at": [_("A due date from today up to ten years ahead.")]})
    local = due_at.astimezone(zone) if due_at is not None else None
    with transaction.atomic():
        task = Task.objects.create(account_id=contact.account_id, contact=contact, title=title, due_at=due_at,
                                   owner=owner, created_by=acting_user)  # fmt: skip
        add_timeline_entry(
            contact, kind="task", at=task.created_at, actor=acting_user, subject_type="task", subject_id=task.pk,
            title=title,
            data={"due_at": due_at.isoformat() if due_at else None, "owner": owner.name if owner else "", "done": False,
                  "zone": str(zone), "due_local": local.strftime("%Y-%m-%d %H:%M") if local else None},
        )  # fmt: skip
        audit(contact.account, acting_user, "task.created", task, contact_id=contact.pk)
        publish_on_commit(events.contact_changed(contact.account_id, [contact.pk], "timeline"))
    return task


def set_task_done(task: Task, *, acting_user: User, done: bool = True) -> Task:
    _require_member(acting_user, task.account_id)
    with transaction.atomic():
        task.done_at = now() if done else None
        task.save(update_fields=["done_at"])
        for line in TimelineEntry.objects.filter(subject_type="task", subject_id=task.pk):
            line.data = {**line.data, "done": done}
            line.save(update_fields=["data"])
        audit(task.contact.account, acting_user, "task.done" if done else "task.reopened", task)
        publish_on_commit(events.contact_changed(task.account_id, [task.contact_id], "timeline"))
    return task


def log_activity(
    contact: Contact,
    *,
    acting_user: User,
    kind: str,
    at: datetime,
    title: str = "",
    outcome: str = "",
    duration_minutes: object = None,
    notes: str = "",
) -> Any:
    """A call or meeting that happened (any teammate): when (from ten years ago up to a day
    ahead), how long (up to a day), a call's outcome, notes; on the contact's timeline."""
    from datetime import timedelta

    from samtale.crm.models import ActivityKind, CallOutcome, LoggedActivity

    _require_member(acting_user, contact.account_id)
    errors: dict[str, list[str]] = {}
    if kind not in ActivityKind.values:
        errors["kind"] = [_("Choose one of the options.")]
    if not (now() - timedelta(days=3653) <= at <= now() + timedelta(days=1)):
        errors["at"] = [_("When it happened: within the last ten years.")]
    if outcome and (kind != ActivityKind.CALL or outcome not in CallOutcome.values):
        errors["outcome"] = [_("Choose one of the options.")]
    minutes = None
    if duration_minutes not in (None, ""):
        try:
            minutes = int(str(duration_minutes))
        except ValueError:
            minutes = -1
        if not 0 <= minutes <= 1440:
            errors["duration_minutes"] = [_("A duration from 0 to 1440 minutes.")]
    try:
        title = _one_line("title", title, 200)
    except ValidationError as error:
        errors.update(error.message_dict)
    notes = str(notes or "").strip()
    if len(notes) > NOTE_LIMIT:
        errors["notes"] = [_("At most %(n)s characters.") % {"n": NOTE_LIMIT}]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        activity = LoggedActivity.objects.create(
            account_id=contact.account_id, contact=contact, kind=kind, title=title, outcome=outcome, at=at,
            duration_minutes=minutes, notes=notes, author=acting_user,
        )  # fmt: skip
        add_timeline_entry(
            contact, kind=f"{kind}.logged", at=at, actor=acting_user, subject_type="activity", subject_id=activity.pk,
            title=title, data={"outcome": outcome, "minutes": minutes, "notes": notes[:2000]},
        )  # fmt: skip
        audit(contact.account, acting_user, f"{kind}.logged", activity, contact_id=contact.pk)
        publish_on_commit(events.contact_changed(contact.account_id, [contact.pk], "timeline"))
    return activity


def prepare_contact(account: Account, *, name: str, values: dict[str, object]) -> tuple[Contact, list[tuple[str, str]]]:
    """An unsaved contact with these properties from the start, and the identities it will have
    (its email and phone): each value checked as `update_contact` checks it, every wrong one named
    at once. In a batch the property definitions (and companies by domain) are read once."""

    def load() -> dict[str, PropertyDefinition]:
        return {d.key: d for d in PropertyDefinition.objects.filter(account_id=account.pk, object_type="contact")}

    scope = batching.current()
    definitions: dict[str, PropertyDefinition] = scope.remember(("definitions", account.pk), load) if scope else load()
    probe = Contact(account=account)
    errors: dict[str, list[str]] = {}
    clean: dict[str, object] = {}
    for key, raw in values.items():
        try:
            clean[key] = _clean(probe, key, raw, definitions)
        except ValidationError as error:
            errors[key] = error.messages
    try:
        name = _one_line("name", name, 200)
    except ValidationError as error:
        errors.update(error.message_dict)
    if errors:
        raise ValidationError(errors)
    first, last = str(clean.pop("first_name", "") or ""), str(clean.pop("last_name", "") or "")
    if not (first or last):
        first, last = _split_name(name)
    custom = {k: v for k, v in clean.items() if k in definitions and v is not None}
    standard = {k: v for k, v in clean.items() if k not in definitions}
    email, phone = str(standard.get("email", "") or ""), str(standard.get("phone", "") or "")
    chosen = standard.get("company")
    company = chosen if isinstance(chosen, Company) else _company_of(account.pk, email)
    contact = Contact(
        account=account, name=(name or f"{first} {last}").strip()[:200], first_name=first, last_name=last,
        properties=custom, company=company,
        **{k: v for k, v in standard.items() if k != "company"},
    )  # fmt: skip
    known = [
        (kind, value) for kind, value in ((IdentityKind.EMAIL.value, email), (IdentityKind.PHONE.value, phone)) if value
    ]
    return contact, known


def create_prepared_contacts(
    account: Account, *, acting_user: User, prepared: list[tuple[Contact, list[tuple[str, str]]]], why: str = "import"
) -> list[Contact]:
    """Contacts made by `prepare_contact`, written together: one INSERT per kind of row (contacts,
    identities, search words, audit). An identity another contact took meanwhile fails it all
    (IntegrityError): the caller goes row by row then."""
    _require_member(acting_user, account.pk)
    if not prepared:
        return []
    contacts = Contact.objects.bulk_create([c for c, _k in prepared], batch_size=500)
    ContactIdentity.objects.bulk_create(
        [ContactIdentity(account_id=account.pk, contact=c, kind=kind, value=value)
         for c, (_u, known) in zip(contacts, prepared, strict=True) for kind, value in known],
        batch_size=1000,
    )  # fmt: skip
    tokens = []
    for contact, (_u, known) in zip(contacts, prepared, strict=True):
        words = search.contact_tokens(contact, emails=[v for k, v in known if k == IdentityKind.EMAIL],
                                      phones=[v for k, v in known if k == IdentityKind.PHONE])  # fmt: skip
        tokens += [ContactSearchToken(account_id=account.pk, contact_id=contact.pk, token=t) for t in sorted(words)]
    ContactSearchToken.objects.bulk_create(tokens, batch_size=2000)
    from samtale.core.models import AuditLog

    AuditLog.objects.bulk_create(
        [AuditLog(account=account, actor=acting_user, verb="contact.created", object_type="contact", object_id=c.pk,
                  data={"by": why}) for c in contacts],
        batch_size=1000,
    )  # fmt: skip
    for contact, (_u, known) in zip(contacts, prepared, strict=True):
        for kind, value in known:
            _remember(account.pk, kind, value, contact)
    return contacts


def new_contact(account: Account, *, acting_user: User, name: str, values: dict[str, object]) -> Contact:
    """One contact with these properties from the start (`prepare_contact`), written now."""
    _require_member(acting_user, account.pk)
    contact, known = prepare_contact(account, name=name, values=values)
    contact.save()
    for kind, value in known:
        _attach_identity(contact, kind, value)
    _index(contact, fresh=True, known=known)
    audit(account, acting_user, "contact.created", contact, by="import")
    for kind, value in known:
        _remember(account.pk, kind, value, contact)
    return contact
