"""Custom objects' screens (D3): Settings → Custom objects (types, by CRM admins), a type's records
(list and new), a record (edit, its contacts), and their section beside a conversation."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from samtale.accounts.access import membership_of
from samtale.accounts.http import acting, action_view, member_required
from samtale.core.bounds import parse_id
from samtale.crm import objects, queries
from samtale.crm.models import ObjectType, PropertyType
from samtale.crm.properties import as_properties


@member_required
def types_page(request: HttpRequest) -> HttpResponse:
    """GET: the account's object types; POST: a new one (CRM admins) with its properties, one per
    line: `Label: type` or, for a dropdown, `Label: dropdown: a, b, c`."""
    membership = membership_of(acting(request))
    if request.method == "POST":
        return _create_type(request)
    kinds = list(ObjectType.objects.filter(account_id=membership.account_id))
    return render(request, "crm/settings_objects.html", {
        "section": "custom_objects", "kinds": kinds, "types": PropertyType.choices,
        "crm_admin": membership.has_permission("crm_admin"),
    })  # fmt: skip


@action_view
def _create_type(request: HttpRequest) -> HttpResponse:
    user = acting(request)
    fields = []
    for n, line in enumerate(str(request.POST.get("fields", "")).splitlines()[:60], start=1):
        if not line.strip():
            continue
        label, _sep, rest = line.partition(":")
        kind, _sep, options = rest.partition(":")
        kind = kind.strip().lower() or "text"
        if kind not in PropertyType.values:
            raise ValidationError({"fields": [_("Line %(n)s: the type is one of %(types)s.")
                                              % {"n": n, "types": ", ".join(PropertyType.values)}]})  # fmt: skip
        fields.append((label.strip(), kind, "\n".join(o.strip() for o in options.split(",") if o.strip())))
    objects.define_type(membership_of(user).account, acting_user=user, singular=request.POST.get("singular", ""),
                        plural=request.POST.get("plural", ""), fields=fields, label=str(request.POST.get("label", "")))  # fmt: skip
    return HttpResponseRedirect(reverse("custom_object_types"))


def _props(kind: ObjectType) -> list[Any]:
    return as_properties(objects.definitions(kind))


@member_required
def records_page(request: HttpRequest, type_id: int) -> HttpResponse:
    """GET: the type's records, newest first; POST: a new record (its contact from `contact`)."""
    user = acting(request)
    kind = objects.type_or_404(membership_of(user).account_id, type_id)
    if request.method == "POST":
        return _create_record(request, kind)
    rows = list(kind.records.prefetch_related("contacts").order_by("-created_at", "-id")[:200])
    contact = None
    if (contact_id := parse_id(request.GET.get("contact"))) is not None:
        contact = queries.contact_or_404(kind.account_id, contact_id)
    return render(request, "crm/records.html", {"section": "contacts", "kind": kind, "records": rows,
                                                "props": _props(kind), "contact": contact})  # fmt: skip


@action_view
def _create_record(request: HttpRequest, kind: ObjectType) -> HttpResponse:
    values: dict[str, object] = {p.key: request.POST.get(p.key, "") for p in _props(kind) if p.key in request.POST}
    contact = parse_id(str(request.POST.get("contact", "")))
    record = objects.save_record(kind, acting_user=acting(request), values=values,
                                 contact_ids=[contact] if contact else None)  # fmt: skip
    return HttpResponseRedirect(reverse("custom_record", args=[record.pk]))


@require_GET
@member_required
def record_page(request: HttpRequest, record_id: int) -> HttpResponse:
    membership = membership_of(acting(request))
    record = objects.record_or_404(membership.account_id, record_id)
    props = _props(record.type)
    return render(request, "crm/record.html", {
        "section": "contacts", "record": record, "properties": [(p, record.properties.get(p.key)) for p in props],
        "contacts": list(record.contacts.order_by("name", "id")), "crm_admin": membership.has_permission("crm_admin"),
    })  # fmt: skip


@action_view
def record_update(request: HttpRequest, record_id: int) -> HttpResponse:
    """Its values (the form), or its contacts: `add_contact` or `remove_contact`."""
    user = acting(request)
    record = objects.record_or_404(membership_of(user).account_id, record_id)
    contacts = list(record.contacts.values_list("pk", flat=True))
    if (add := parse_id(str(request.POST.get("add_contact", "")))) is not None:
        objects.save_record(record.type, acting_user=user, values={}, record=record, contact_ids=[*contacts, add])
    elif (remove := parse_id(str(request.POST.get("remove_contact", "")))) is not None:
        objects.save_record(record.type, acting_user=user, values={}, record=record,
                            contact_ids=[c for c in contacts if c != remove])  # fmt: skip
    else:
        values: dict[str, object] = {
            p.key: request.POST.get(p.key, "") for p in _props(record.type) if p.key in request.POST
        }
        objects.save_record(record.type, acting_user=user, values=values, record=record)
    return HttpResponseRedirect(reverse("custom_record", args=[record.pk]))


@action_view
def record_delete(request: HttpRequest, record_id: int) -> HttpResponse:
    user = acting(request)
    record = objects.record_or_404(membership_of(user).account_id, record_id)
    type_id = record.type_id
    objects.delete_record(record, acting_user=user)
    return HttpResponseRedirect(reverse("custom_records", args=[type_id]))


def _stage_lines(text: str) -> list[tuple[str, bool, int | None]]:
    """ "Won: closed: 100" → ("Won", True, 100); "Qualified: 20" → ("Qualified", False, 20)."""
    stages = []
    for n, line in enumerate(str(text).splitlines()[:40], start=1):
        parts = [p.strip() for p in line.split(":")]
        if not parts[0]:
            continue
        closed, probability = False, None
        for part in parts[1:]:
            if part.casefold() in ("closed", "lukket"):
                closed = True
            elif part.rstrip("% ").isdigit():
                probability = int(part.rstrip("% "))
            elif part:
                raise ValidationError({"stages": [_("Line %(n)s: after the name, “closed” or a probability in per cent.")
                                                  % {"n": n}]})  # fmt: skip
        stages.append((parts[0], closed, probability))
    return stages


@member_required
def pipelines_page(request: HttpRequest) -> HttpResponse:
    """Settings → Pipelines: the ticket and deal pipelines with their stages; CRM admins add a
    pipeline (its stages one per line) or a stage at the end of one."""
    from samtale.crm.models import Pipeline, PipelineKind
    from samtale.crm.pipelines import default_pipeline, pipelines_of

    user = acting(request)
    membership = membership_of(user)
    if request.method == "POST":
        return _pipeline_post(request)
    for kind in PipelineKind.values:  # the defaults exist once someone looks
        if not Pipeline.objects.filter(account_id=membership.account_id, kind=kind).exists():
            default_pipeline(membership.account, kind)
    return render(request, "crm/settings_pipelines.html", {
        "section": "pipelines", "kinds": [(k, label, pipelines_of(membership.account_id, k)) for k, label in PipelineKind.choices],
        "crm_admin": membership.has_permission("crm_admin"),
    })  # fmt: skip


@action_view
def _pipeline_post(request: HttpRequest) -> HttpResponse:
    from samtale.crm.models import Pipeline
    from samtale.crm.pipelines import add_stage, create_pipeline

    user = acting(request)
    membership = membership_of(user)
    if (pipeline_id := parse_id(str(request.POST.get("pipeline", "")))) is not None:
        pipeline = Pipeline.objects.filter(account_id=membership.account_id, pk=pipeline_id).first()
        if pipeline is None:
            from django.http import Http404

            raise Http404("No such pipeline")
        ((name, closed, probability),) = _stage_lines(str(request.POST.get("stage", ""))[:200]) or [("", False, None)]
        add_stage(pipeline, acting_user=user, name=name, is_closed=closed, probability=probability)
    else:
        create_pipeline(membership.account, acting_user=user, kind=str(request.POST.get("kind", "")),
                        name=str(request.POST.get("name", "")), stages=_stage_lines(str(request.POST.get("stages", ""))))  # fmt: skip
    return HttpResponseRedirect(reverse("pipelines"))
