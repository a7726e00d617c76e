"""REST API: custom objects (D3) — the account's object types with their properties, records of a
type (list by cursor, create, get, change, delete; values by property key, associations with
contacts and companies) — and contact imports by upload (a CSV file, then its columns mapped
and the import started; `GET /contact-imports/{id}` follows it). The same actions as the screens;
another account's ids are 404."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from ninja import Field, File, Query, Router, Schema
from ninja.files import UploadedFile

from samtale.accounts.access import membership_of
from samtale.api.common import _user
from samtale.api.crm_schemas import CustomValues
from samtale.api.schemas import Id, PathId
from samtale.crm import objects
from samtale.crm.models import ContactImport, CustomRecord

router = Router()
PAGE = 50


class PropertyOut(Schema):
    key: str
    label: str
    type: str
    options: list[dict[str, str]]


class ObjectTypeOut(Schema):
    id: int
    singular: str
    plural: str
    label_key: str
    properties: list[PropertyOut]


class RecordOut(Schema):
    id: int
    type_id: int
    label: str
    properties: dict[str, Any]
    contact_ids: list[int]
    company_ids: list[int]
    created_at: datetime
    updated_at: datetime


class RecordPage(Schema):
    items: list[RecordOut]
    next_cursor: str


class RecordIn(Schema):
    properties: CustomValues = {}
    contact_ids: Annotated[list[Id], Field(max_length=100)] | None = None
    company_ids: Annotated[list[Id], Field(max_length=100)] | None = None


class RecordParams(Schema):
    cursor: str = Field("", max_length=100)


def _account_id(request: HttpRequest) -> int:
    return membership_of(_user(request)).account_id


def _type_out(kind: Any, definitions: list[Any]) -> dict[str, Any]:
    return {
        "id": kind.pk, "singular": kind.singular, "plural": kind.plural, "label_key": kind.label_key,
        "properties": [{"key": d.key, "label": d.label, "type": d.type, "options": d.options or []} for d in definitions],
    }  # fmt: skip


def _record_out(record: CustomRecord) -> dict[str, Any]:
    return {
        "id": record.pk, "type_id": record.type_id, "label": str(record), "properties": record.properties,
        "contact_ids": sorted(c.pk for c in record.contacts.all()),
        "company_ids": sorted(c.pk for c in record.companies.all()),
        "created_at": record.created_at, "updated_at": record.updated_at,
    }  # fmt: skip


def _saved(kind: Any, **kwargs: Any) -> CustomRecord:
    """save_record, its errors named as the API's fields are (contact_ids, company_ids)."""
    try:
        return objects.save_record(kind, **kwargs)
    except ValidationError as error:
        if not hasattr(error, "error_dict"):
            raise
        names = {"contacts": "contact_ids", "companies": "company_ids"}
        raise ValidationError({names.get(k, k): v for k, v in error.message_dict.items()}) from None


def _values(given: dict[str, Any]) -> dict[str, object]:
    """JSON values as a form sends them (null clears one)."""
    out: dict[str, object] = {}
    for key, value in given.items():
        out[key] = "" if value is None else ("true" if value is True else "false" if value is False else str(value))
    return out


@router.get("/object-types", response=list[ObjectTypeOut], tags=["custom objects"])
def list_types(request: HttpRequest) -> list[dict[str, Any]]:
    from samtale.crm.models import ObjectType, PropertyDefinition

    account_id = _account_id(request)
    kinds = list(ObjectType.objects.filter(account_id=account_id).order_by("plural", "id"))
    by_scope: dict[str, list[Any]] = {}
    for d in PropertyDefinition.objects.filter(account_id=account_id, object_type__startswith="obj:"):
        by_scope.setdefault(d.object_type, []).append(d)
    return [_type_out(k, by_scope.get(k.property_scope, [])) for k in kinds]


@router.get("/object-types/{type_id}", response=ObjectTypeOut, tags=["custom objects"])
def get_type(request: HttpRequest, type_id: PathId) -> dict[str, Any]:
    kind = objects.type_or_404(_account_id(request), type_id)
    return _type_out(kind, objects.definitions(kind))


@router.get("/object-types/{type_id}/records", response=RecordPage, tags=["custom objects"])
def list_records(request: HttpRequest, type_id: PathId, params: Query[RecordParams]) -> dict[str, Any]:
    """Newest first, by cursor (the last id of the page before)."""
    kind = objects.type_or_404(_account_id(request), type_id)
    rows = CustomRecord.objects.filter(type=kind).select_related("type").prefetch_related("contacts", "companies")
    from samtale.crm.queries import _decode, _encode

    if params.cursor:
        after = _decode(params.cursor, "name")
        if after is None:
            raise ValidationError({"cursor": ["The cursor is not one this API gave."]})
        rows = rows.filter(pk__lt=after[1])
    page = list(rows.order_by("-id")[: PAGE + 1])
    more = len(page) > PAGE
    page = page[:PAGE]
    return {"items": [_record_out(r) for r in page], "next_cursor": _encode("", page[-1].pk) if more else ""}


@router.post("/object-types/{type_id}/records", response={201: RecordOut}, tags=["custom objects"])
def create_record(request: HttpRequest, type_id: PathId, payload: RecordIn) -> tuple[int, dict[str, Any]]:
    kind = objects.type_or_404(_account_id(request), type_id)
    record = _saved(kind, acting_user=_user(request), values=_values(payload.properties),
                                 contact_ids=payload.contact_ids, company_ids=payload.company_ids)  # fmt: skip
    return 201, _record_out(objects.record_or_404(kind.account_id, record.pk))


@router.get("/records/{record_id}", response=RecordOut, tags=["custom objects"])
def get_record(request: HttpRequest, record_id: PathId) -> dict[str, Any]:
    return _record_out(objects.record_or_404(_account_id(request), record_id))


@router.patch("/records/{record_id}", response=RecordOut, tags=["custom objects"])
def update_record(request: HttpRequest, record_id: PathId, payload: RecordIn) -> dict[str, Any]:
    record = objects.record_or_404(_account_id(request), record_id)
    _saved(record.type, acting_user=_user(request), values=_values(payload.properties), record=record,
                        contact_ids=payload.contact_ids, company_ids=payload.company_ids)  # fmt: skip
    return _record_out(objects.record_or_404(record.account_id, record.pk))


@router.delete("/records/{record_id}", response={204: None}, tags=["custom objects"])
def delete_record(request: HttpRequest, record_id: PathId) -> tuple[int, None]:
    objects.delete_record(objects.record_or_404(_account_id(request), record_id), acting_user=_user(request))
    return 204, None


# ---------------------------------------------------------------------------- contact imports
class UploadOut(Schema):
    id: int
    filename: str
    status: str
    header: list[str]
    mapping: dict[str, str]
    preview: list[list[str]]
    estimated_rows: int


class StartIn(Schema):
    mapping: Annotated[dict[Annotated[str, Field(max_length=6)], Annotated[str, Field(max_length=60)]],
                       Field(max_length=10_000, description="column index → property key (\"\": not imported)")]  # fmt: skip
    duplicates: str = Field("update", pattern="^(update|skip)$")


def _upload_out(found: ContactImport) -> dict[str, Any]:
    from samtale.crm import imports

    return {
        "id": found.pk, "filename": found.filename, "status": found.status, "header": found.header,
        "mapping": found.mapping, "preview": imports.preview(found), "estimated_rows": found.estimated_rows,
    }  # fmt: skip


@router.post("/contact-imports", response={201: UploadOut}, tags=["contacts"])
def upload_import(request: HttpRequest, file: File[UploadedFile]) -> tuple[int, dict[str, Any]]:
    """A CSV file of contacts (multipart, field `file`; CRM admins): stored and its header read;
    the guessed mapping and the first rows come back to check before starting."""
    from samtale.crm import imports

    user = _user(request)
    found = imports.upload(membership_of(user).account, acting_user=user, name=file.name or "contacts.csv",
                           stream=file, size=file.size or 0)  # fmt: skip
    return 201, _upload_out(found)


@router.post("/contact-imports/{import_id}/start", response=UploadOut, tags=["contacts"])
def start_import(request: HttpRequest, import_id: PathId, payload: StartIn) -> dict[str, Any]:
    from django.http import Http404

    from samtale.crm import imports

    found = ContactImport.objects.filter(account_id=_account_id(request), pk=import_id).first()
    if found is None:
        raise Http404("No such import")
    imports.start(found, acting_user=_user(request), mapping=payload.mapping, duplicates=payload.duplicates)
    return _upload_out(found)
