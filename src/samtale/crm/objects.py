"""Custom objects (D3): an admin defines a type (singular, plural, its properties, which one names
a record); teammates keep records of it, associated with contacts and companies, shown beside a
conversation when its contact has any. Values are checked by the same rules as contacts' custom
properties (`properties.clean_custom`)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.utils.translation import gettext as _

from samtale.accounts.models import Account, User
from samtale.core.audit import audit
from samtale.core.clock import now
from samtale.core.events import publish_on_commit
from samtale.crm import events, properties
from samtale.crm.actions import define_property, require_crm_admin, require_member
from samtale.crm.models import Company, Contact, CustomRecord, ObjectType, PropertyDefinition

MAX_TYPES = 50
MAX_PROPERTIES = 50
MAX_ASSOCIATIONS = 100


def _name(key: str, value: object) -> str:
    text = " ".join(str(value or "").split())
    if not text or len(text) > 60:
        raise ValidationError({key: [_("A name of 1 to 60 characters.")]})
    return text


def define_type(
    account: Account,
    *,
    acting_user: User,
    singular: str,
    plural: str,
    fields: Iterable[tuple[str, str, str]] = (),
    label: str = "",
) -> ObjectType:
    """A new object type (CRM admins) with its properties (label, type, dropdown options); the
    property whose label is `label` (else the first) names its records."""
    require_crm_admin(acting_user, account.pk)
    errors: dict[str, list[str]] = {}
    names = {}
    for key, value in (("singular", singular), ("plural", plural)):
        try:
            names[key] = _name(key, value)
        except ValidationError as error:
            errors.update(error.message_dict)
    wanted = list(fields)[: MAX_PROPERTIES + 1]
    if len(wanted) > MAX_PROPERTIES:
        errors["fields"] = [_("At most %(n)s properties.") % {"n": MAX_PROPERTIES}]
    if errors:
        raise ValidationError(errors)
    with transaction.atomic():
        if ObjectType.objects.filter(account=account).count() >= MAX_TYPES:
            raise ValidationError({"singular": [_("At most %(n)s object types.") % {"n": MAX_TYPES}]})
        kind = ObjectType.objects.create(account=account, **names)
        made = [define_property(account, acting_user=acting_user, label=f_label, type=f_type, options=f_options,
                                object_type=kind.property_scope) for f_label, f_type, f_options in wanted]  # fmt: skip
        chosen = next((d for d in made if d.label.casefold() == label.strip().casefold()), made[0] if made else None)
        kind.label_key = chosen.key if chosen else ""
        kind.save(update_fields=["label_key"])
        audit(account, acting_user, "object_type.created", kind, properties=[d.key for d in made])
    return kind


def definitions(kind: ObjectType) -> list[PropertyDefinition]:
    return list(PropertyDefinition.objects.filter(account_id=kind.account_id, object_type=kind.property_scope))


def type_or_404(account_id: int, type_id: int) -> ObjectType:
    found = ObjectType.objects.filter(account_id=account_id, pk=type_id).first()
    if found is None:
        raise Http404("No such object type")
    return found


def record_or_404(account_id: int, record_id: int) -> CustomRecord:
    found = CustomRecord.objects.select_related("type").filter(account_id=account_id, pk=record_id).first()
    if found is None:
        raise Http404("No such record")
    return found


def _clean(kind: ObjectType, values: dict[str, object]) -> dict[str, Any]:
    by_key = {d.key: d for d in definitions(kind)}
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    for key, raw in values.items():
        if key not in by_key:
            errors[key] = [_("There is no property %(key)s.") % {"key": str(key)[:60]}]
            continue
        try:
            out[key] = properties.clean_custom(by_key[key], raw)
        except ValidationError as error:
            errors[key] = error.messages
    if errors:
        raise ValidationError(errors)
    return out


def _associated(model: Any, account_id: int, ids: Iterable[object], key: str) -> list[Any]:
    wanted = []
    for value in list(ids)[: MAX_ASSOCIATIONS + 1]:
        try:
            wanted.append(int(str(value)))
        except ValueError:
            raise ValidationError({key: [_("No such record.")]}) from None
    if len(wanted) > MAX_ASSOCIATIONS:
        raise ValidationError({key: [_("At most %(n)s.") % {"n": MAX_ASSOCIATIONS}]})
    found = list(model.objects.filter(account_id=account_id, pk__in=wanted))
    if len(found) != len(set(wanted)):
        raise ValidationError({key: [_("No such record.")]})
    return found


def save_record(
    kind: ObjectType,
    *,
    acting_user: User,
    values: dict[str, object],
    record: CustomRecord | None = None,
    contact_ids: Iterable[object] | None = None,
    company_ids: Iterable[object] | None = None,
) -> CustomRecord:
    """A new record of the type, or changes to one (any teammate): values checked by type, all
    errors together; associations replaced when given."""
    require_member(acting_user, kind.account_id)
    clean = _clean(kind, values)
    contacts = _associated(Contact, kind.account_id, contact_ids, "contacts") if contact_ids is not None else None
    companies = _associated(Company, kind.account_id, company_ids, "companies") if company_ids is not None else None
    with transaction.atomic():
        if record is None:
            record = CustomRecord.objects.create(account_id=kind.account_id, type=kind, created_by=acting_user)
            verb = "record.created"
        else:
            verb = "record.updated"
        for key, value in clean.items():
            if value is None:
                record.properties.pop(key, None)
            else:
                record.properties[key] = value
        record.updated_at = now()
        record.save()
        touched = set(record.contacts.values_list("pk", flat=True))
        if contacts is not None:
            record.contacts.set(contacts)
            touched |= {c.pk for c in contacts}
        if companies is not None:
            record.companies.set(companies)
        audit(kind.account, acting_user, verb, record, type_id=kind.pk, fields=sorted(clean))
        if touched:
            publish_on_commit(events.contact_changed(kind.account_id, sorted(touched), "records"))
    return record


def delete_record(record: CustomRecord, *, acting_user: User) -> None:
    require_crm_admin(acting_user, record.account_id)
    with transaction.atomic():
        audit(record.type.account, acting_user, "record.deleted", record, type_id=record.type_id)
        record.delete()


def records_of_contact(contact_id: int, limit: int = 20) -> list[CustomRecord]:
    """The contact's records of every type (one query)."""
    return list(
        CustomRecord.objects.filter(contacts__id=contact_id)
        .select_related("type")
        .order_by("type__plural", "-created_at")[:limit]
    )
