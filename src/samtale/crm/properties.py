"""A contact's properties: the standard ones (columns of `Contact`) and the custom ones an admin
defines (`PropertyDefinition`, values in `Contact.properties`), each with one way to check what
a person typed. Every value from outside is bounded: lengths, numbers, dates, option values."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from samtale.crm.models import LifecycleStage, PropertyDefinition, PropertyType

TEXT_LIMIT = 1000
MULTILINE_LIMIT = 10_000
NUMBER_LIMIT = Decimal("1e15")
DATE_RANGE = (dt.date(1900, 1, 1), dt.date(2100, 12, 31))
OPTIONS_LIMIT = 200


@dataclass(frozen=True)
class Property:
    key: str
    label: Any
    type: str  # a PropertyType, or "email", "phone", "owner", "company", "choice", "datetime"
    editable: bool = True
    choices: tuple[tuple[str, Any], ...] = ()
    custom: bool = False


STANDARD: tuple[Property, ...] = (
    Property("first_name", gettext_lazy("First name"), "text"),
    Property("last_name", gettext_lazy("Last name"), "text"),
    Property("email", gettext_lazy("Email"), "email"),
    Property("phone", gettext_lazy("Phone"), "phone"),
    Property("company", gettext_lazy("Company"), "company"),
    Property("job_title", gettext_lazy("Job title"), "text"),
    Property("language", gettext_lazy("Language"), "choice", choices=(("en", "English"), ("nb", "Norsk bokmål"))),
    Property("owner", gettext_lazy("Contact owner"), "owner"),
    Property("lifecycle_stage", gettext_lazy("Lifecycle stage"), "choice", choices=tuple(LifecycleStage.choices)),
    Property("created_at", gettext_lazy("Created"), "datetime", editable=False),
    Property("last_contacted_at", gettext_lazy("Last contacted"), "datetime", editable=False),
)
STANDARD_KEYS = {p.key for p in STANDARD}
# the fields of companies and tickets (and words of their forms): never a custom property's key
RESERVED_KEYS = {"id", "name", "domain", "description", "priority", "category", "pipeline", "stage", "properties",
                 "from", "new_company", "csrfmiddlewaretoken", "contact", "conversation"}  # fmt: skip
# shown in the sidebar's "About this contact" until a person chooses
DEFAULT_SHOWN = ("email", "phone", "company", "owner", "lifecycle_stage", "last_contacted_at")


def as_properties(definitions: Iterable[PropertyDefinition]) -> list[Property]:
    """Custom property definitions as the screens draw them."""
    return [
        Property(d.key, d.label, d.type, custom=True, choices=tuple((o["value"], o["label"]) for o in d.options or []))
        for d in definitions
    ]


def all_properties(account_id: int) -> list[Property]:
    return [*STANDARD, *as_properties(PropertyDefinition.objects.filter(account_id=account_id, object_type="contact"))]


def clean_custom(definition: PropertyDefinition, raw: object) -> object:
    """A custom property's value as stored, or None (cleared); a ValidationError naming the
    property and what is expected."""
    text = "" if raw is None else str(raw).strip() if not isinstance(raw, bool) else raw
    if text == "" or text is None:
        return None
    label = definition.label
    kind = definition.type
    if kind == PropertyType.CHECKBOX:
        if isinstance(text, bool):
            return text
        if text.lower() in ("true", "on", "1", "yes", "ja"):
            return True
        if text.lower() in ("false", "off", "0", "no", "nei"):
            return False
        raise ValidationError(_("%(label)s: choose yes or no.") % {"label": label}, code="checkbox")
    text = str(text)
    if kind == PropertyType.TEXT:
        if len(text) > TEXT_LIMIT or "\n" in text:
            raise ValidationError(
                _("%(label)s: one line of at most %(n)s characters.") % {"label": label, "n": TEXT_LIMIT}, code="text"
            )
        return text
    if kind == PropertyType.MULTILINE:
        if len(text) > MULTILINE_LIMIT:
            raise ValidationError(
                _("%(label)s: at most %(n)s characters.") % {"label": label, "n": MULTILINE_LIMIT}, code="text"
            )
        return text
    if kind == PropertyType.NUMBER:
        try:
            number = Decimal(text.replace(" ", "").replace(",", ".")[:40])
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite() or abs(number) >= NUMBER_LIMIT:
            raise ValidationError(_("%(label)s: not a number.") % {"label": label}, code="number")
        return str(number.normalize()) if number != number.to_integral() else str(number.quantize(Decimal(1)))
    if kind == PropertyType.DATE:
        try:
            day = dt.date.fromisoformat(text[:10]) if len(text) == 10 else None
        except ValueError:
            day = None
        if day is None or not DATE_RANGE[0] <= day <= DATE_RANGE[1]:
            raise ValidationError(
                _("%(label)s: a date between 1900 and 2100, as YYYY-MM-DD.") % {"label": label}, code="date"
            )
        return day.isoformat()
    if kind == PropertyType.DROPDOWN:
        values = [o["value"] for o in definition.options or []]
        if text not in values:
            raise ValidationError(_("%(label)s: choose one of the options.") % {"label": label}, code="option")
        return text
    raise ValidationError(_("Unknown kind of property."), code="type")


def clean_options(lines: str) -> list[dict[str, str]]:
    """A dropdown's options from one per line ("value" or "value: label"), bounded."""
    options: list[dict[str, str]] = []
    seen: set[str] = set()
    for line in lines.splitlines()[: OPTIONS_LIMIT + 1]:
        value, _sep, label = line.partition(":")
        value, label = value.strip()[:100], (label.strip() or value.strip())[:100]
        if value and value not in seen:
            seen.add(value)
            options.append({"value": value, "label": label})
    if len(options) > OPTIONS_LIMIT:
        raise ValidationError(_("At most %(n)s options.") % {"n": OPTIONS_LIMIT}, code="options")
    if not options:
        raise ValidationError(_("A dropdown needs at least one option."), code="options")
    return options


# the objects whose custom properties are defined in Settings (custom objects' are `obj:<id>`)
OBJECT_TYPES: tuple[tuple[str, Any], ...] = (
    ("contact", gettext_lazy("Contacts")),
    ("company", gettext_lazy("Companies")),
    ("ticket", gettext_lazy("Tickets")),
)


def definitions_of(account_id: int, object_type: str) -> dict[str, PropertyDefinition]:
    """The custom properties of that kind of object, by key, in their order (one query)."""
    return {d.key: d for d in PropertyDefinition.objects.filter(account_id=account_id, object_type=object_type)}


def clean_custom_values(
    definitions: dict[str, PropertyDefinition], values: dict[str, object]
) -> tuple[dict[str, object], dict[str, list[str]]]:
    """Custom values typed for an object (companies, tickets), by key: the cleaned ones (None:
    cleared) and the errors by key (an unknown key is one)."""
    cleaned: dict[str, object] = {}
    errors: dict[str, list[str]] = {}
    for key, raw in values.items():
        definition = definitions.get(key)
        if definition is None:
            errors[key] = [_("There is no property %(key)s.") % {"key": str(key)[:60]}]
            continue
        try:
            cleaned[key] = clean_custom(definition, raw)
        except ValidationError as error:
            errors[key] = error.messages
    return cleaned, errors


def with_custom(properties: dict[str, object], cleaned: dict[str, object]) -> dict[str, object]:
    """`properties` with the cleaned values set (None removes one)."""
    result = dict(properties or {})
    for key, value in cleaned.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = value
    return result


def form_fields(definitions: dict[str, PropertyDefinition], values: dict[str, object]) -> list[tuple[Property, object]]:
    """(property, value) of each custom property, in order, for a record's form
    (crm/property_input.html draws each)."""
    return [(prop, (values or {}).get(prop.key)) for prop in as_properties(definitions.values())]


def display_custom(definition: PropertyDefinition, value: object) -> str:
    """A custom value as a person reads it ("" when empty): a dropdown's label, Yes/No."""
    if value is None or value == "":
        return ""
    if definition.type == PropertyType.CHECKBOX:
        return str(_("Yes") if value is True else _("No"))
    if definition.type == PropertyType.DROPDOWN:
        for option in definition.options or []:
            if option.get("value") == value:
                return str(option.get("label") or value)
    return str(value)
