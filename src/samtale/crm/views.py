"""The Contacts screen and a contact's record (D1): thin views over `queries` and `actions`."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from samtale.accounts.access import membership_of
from samtale.accounts.http import acting, action_view, member_required
from samtale.accounts.models import User
from samtale.core.bounds import parse_id
from samtale.core.sidebar import sections_for
from samtale.crm import actions, queries
from samtale.crm.models import CallOutcome, Contact, LifecycleStage, PropertyType
from samtale.crm.properties import OBJECT_TYPES, STANDARD, Property, all_properties, definitions_of, form_fields
from samtale.crm.templatetags.crm_tags import shown


def _members(account_id: int) -> list[User]:
    return queries.active_teammates(account_id)


def _ids(values: list[str]) -> list[int]:
    return [pk for pk in (parse_id(v) for v in values[:1000]) if pk is not None]


@require_GET
@member_required
def contacts_page(request: HttpRequest) -> HttpResponse:
    user = acting(request)
    membership = membership_of(user)
    account_id = membership.account_id
    definitions = queries.custom_properties(account_id)
    filters = queries.ContactFilters.from_query(request.GET, definitions)
    page = queries.contact_page(account_id, filters, str(request.GET.get("after", "")))
    keep = request.GET.copy()
    keep.pop("after", None)
    return render(
        request,
        "crm/contacts.html",
        {
            "section": "contacts",
            "page": page,
            "filters": filters,
            "query": keep.urlencode(),
            "members": _members(account_id),
            "companies": queries.companies_of(account_id),
            "stages": LifecycleStage.choices,
            "filterable": [d for d in definitions if d.type in (PropertyType.DROPDOWN, PropertyType.CHECKBOX)],
            "crm_admin": membership.has_permission("crm_admin"),
            "first_page": not request.GET.get("after"),
        },
    )


@action_view
def contacts_bulk(request: HttpRequest) -> HttpResponse:
    user = acting(request)
    account = membership_of(user).account
    ids = _ids(request.POST.getlist("ids"))
    if not ids:
        raise ValidationError({"__all__": [_("Choose contacts first.")]})
    if request.POST.get("action") == "delete":
        actions.delete_contacts(account, acting_user=user, ids=ids)
    else:
        actions.assign_owner(account, acting_user=user, ids=ids, owner_id=request.POST.get("owner", ""))
    back = str(request.POST.get("next", ""))
    return HttpResponseRedirect(back if _safe(back) else reverse("contacts"))


def _safe(url: object) -> bool:
    return isinstance(url, str) and url.startswith("/contacts/") and "//" not in url and "\\" not in url


def _shown_value(contact: Contact, prop: Property) -> Any:
    if prop.custom:
        return contact.properties.get(prop.key)
    return getattr(contact, prop.key)


@require_GET
@member_required
def contact_record(request: HttpRequest, contact_id: int) -> HttpResponse:
    user = acting(request)
    membership = membership_of(user)
    contact = queries.contact_or_404(membership.account_id, contact_id)
    if contact.merged_into_id is not None:  # what it became
        return HttpResponseRedirect(reverse("contact", args=[contact.merged_into_id]))
    timeline = queries.timeline_page(contact, user, str(request.GET.get("after", "")))
    if request.GET.get("part") == "timeline":
        return render(request, "crm/timeline.html", {"contact": contact, "timeline": timeline})
    props = all_properties(membership.account_id)
    by_key = {p.key: p for p in props}
    history = [
        (change, by_key[change.key].label if change.key in by_key else change.key,
         shown(change.old, by_key.get(change.key)), shown(change.new, by_key.get(change.key)))
        for change in queries.property_history(contact)
    ]  # fmt: skip
    return render(
        request,
        "crm/contact.html",
        {
            "section": "contacts",
            "contact": contact,
            "properties": [(p, _shown_value(contact, p)) for p in props],
            "identities": list(contact.identities.order_by("kind", "id")),
            "timeline": timeline,
            "history": history,
            "members": _members(membership.account_id),
            "crm_admin": membership.has_permission("crm_admin"),
            "extras": sections_for(contact, user, "contact-record"),  # what the apps above show here
            "outcomes": CallOutcome.choices,
        },
    )


@action_view
def contact_update(request: HttpRequest, contact_id: int) -> HttpResponse:
    user = acting(request)
    membership = membership_of(user)
    contact = queries.contact_or_404(membership.account_id, contact_id)
    editable = {p.key: p for p in all_properties(membership.account_id) if p.editable}
    values: dict[str, object] = {key: request.POST.get(key, "") for key in editable if key in request.POST}
    new_company = " ".join(str(request.POST.get("new_company", "")).split())
    with transaction.atomic():  # a company typed is made only if the rest is saved too
        if new_company:  # typed rather than chosen: the account's company of that name, or a new one
            values["company"] = actions.company_named(membership.account, acting_user=user, name=new_company)
        actions.update_contact(contact, acting_user=user, values=values)
    return HttpResponseRedirect(reverse("contact", args=[contact.pk]))


@member_required
def contact_merge(request: HttpRequest, contact_id: int) -> HttpResponse:
    """GET: the preview of merging another contact (`other`) into this one; POST: do it, with the
    properties chosen in the preview where both have one."""
    user = acting(request)
    membership = membership_of(user)
    keep = queries.contact_or_404(membership.account_id, contact_id)
    source = request.POST if request.method == "POST" else request.GET
    other_id = parse_id(str(source.get("other", "")))
    other = queries.contact_or_404(membership.account_id, other_id) if other_id is not None else None
    conflicts = []
    if other is not None:
        for prop in STANDARD:
            if prop.editable:
                mine, theirs = _shown_value(keep, prop), _shown_value(other, prop)
                if mine and theirs and mine != theirs:
                    conflicts.append((prop, mine, theirs))
    if request.method == "POST" and other is not None:
        try:
            chosen = {p.key: request.POST.get(f"take_{p.key}") == "other" for p, _m, _t in conflicts}
            actions.merge_contacts(keep, other, acting_user=user, take_from_other=[k for k, v in chosen.items() if v])
        except ValidationError as error:
            return HttpResponse(" ".join(error.messages), status=400, content_type="text/plain; charset=utf-8")
        return HttpResponseRedirect(reverse("contact", args=[keep.pk]))
    candidates = []
    query = str(source.get("q", ""))[:200]
    if query:
        filters = queries.ContactFilters(q=query)
        candidates = [
            c for c in queries.contact_page(membership.account_id, filters, size=10).contacts if c.pk != keep.pk
        ]
    return render(
        request,
        "crm/merge.html",
        {
            "section": "contacts", "contact": keep, "other": other, "conflicts": conflicts, "query": query,
            "candidates": candidates, "crm_admin": membership.has_permission("crm_admin"),
            "moving": other.timeline.filter(subject_type="conversation").count() if other is not None else 0,
        },
    )  # fmt: skip


def _about(request: HttpRequest, contact: Contact, status: int = 200) -> HttpResponse:
    from samtale.crm.sidebar import ABOUT, about_contact

    data = about_contact(contact.pk, acting(request))
    return render(request, ABOUT.template, {"section": ABOUT, "data": data}, status=status)


@member_required
def contact_about(request: HttpRequest, contact_id: int) -> HttpResponse:
    """The sidebar's "About this contact": GET draws it (a teammate changed the contact); POST
    saves the properties shown there and draws it again. A bad value is a 400 naming the field."""
    user = acting(request)
    membership = membership_of(user)
    contact = queries.contact_or_404(membership.account_id, contact_id)
    if request.method == "POST":
        return _about_update(request, contact)
    return _about(request, contact)


@action_view
def _about_update(request: HttpRequest, contact: Contact) -> HttpResponse:
    user = acting(request)
    editable = {p.key for p in all_properties(contact.account_id) if p.editable}
    values: dict[str, object] = {key: request.POST.get(key, "") for key in editable if key in request.POST}
    new_company = " ".join(str(request.POST.get("new_company", "")).split())
    with transaction.atomic():  # a company typed is made only if the rest is saved too
        if new_company:
            values["company"] = actions.company_named(membership_of(user).account, acting_user=user, name=new_company)
        actions.update_contact(contact, acting_user=user, values=values)
    return _about(request, queries.contact_or_404(contact.account_id, contact.pk))


@action_view
def contact_about_fields(request: HttpRequest, contact_id: int) -> HttpResponse:
    """Which properties this person's "About this contact" shows (remembered for them)."""
    from samtale.accounts.actions import set_preferences
    from samtale.crm.sidebar import PREFERENCE

    user = acting(request)
    contact = queries.contact_or_404(membership_of(user).account_id, contact_id)
    known = [p.key for p in all_properties(contact.account_id)]
    wanted = [k for k in request.POST.getlist("keys")[:200] if k in known]
    set_preferences(user, acting_user=user, **{PREFERENCE: wanted})
    return _about(request, contact)


@member_required
def properties_page(request: HttpRequest) -> HttpResponse:
    """Settings → Properties: the custom ones of contacts, companies or tickets (`?object=`),
    defined and deleted by CRM admins."""
    membership = membership_of(acting(request))
    object_type = _object_type(request.GET.get("object"))
    return render(
        request,
        "crm/settings_properties.html",
        {
            "section": "contact_properties",
            "object_type": object_type,
            "object_types": OBJECT_TYPES,
            "definitions": list(definitions_of(membership.account_id, object_type).values()),
            "types": PropertyType.choices,
            "standard": [p for p in STANDARD] if object_type == "contact" else [],
            "crm_admin": membership.has_permission("crm_admin"),
        },
    )


def _object_type(value: object) -> str:
    return value if value in dict(OBJECT_TYPES) else "contact"


@action_view
def property_create(request: HttpRequest) -> HttpResponse:
    user = acting(request)
    object_type = _object_type(request.POST.get("object"))
    actions.define_property(
        membership_of(user).account, acting_user=user, label=str(request.POST.get("label", ""))[:200],
        type=str(request.POST.get("type", "")), options=str(request.POST.get("options", ""))[:20_000],
        object_type=object_type,
    )  # fmt: skip
    return HttpResponseRedirect(reverse("contact_properties") + f"?object={object_type}")


@action_view
def property_delete(request: HttpRequest, property_id: int) -> HttpResponse:
    from django.http import Http404

    from samtale.crm.models import PropertyDefinition

    user = acting(request)
    definition = PropertyDefinition.objects.filter(pk=property_id, account_id=membership_of(user).account_id).first()
    if definition is None:
        raise Http404("No such property")
    actions.delete_property(definition, acting_user=user)
    return HttpResponseRedirect(reverse("contact_properties") + f"?object={_object_type(definition.object_type)}")


@action_view
def contact_note(request: HttpRequest, contact_id: int) -> HttpResponse:
    user = acting(request)
    contact = queries.contact_or_404(membership_of(user).account_id, contact_id)
    actions.add_note(contact, acting_user=user, text=str(request.POST.get("text", ""))[: actions.NOTE_LIMIT + 1])
    return HttpResponseRedirect(reverse("contact", args=[contact.pk]))


@action_view
def contact_task(request: HttpRequest, contact_id: int) -> HttpResponse:
    """A task; its due moment is typed as a time in the owner's time zone."""
    user = acting(request)
    contact = queries.contact_or_404(membership_of(user).account_id, contact_id)
    actions.add_task(contact, acting_user=user, title=str(request.POST.get("title", ""))[:300],
                     due_local=str(request.POST.get("due_at", "")).strip()[:16], owner_id=request.POST.get("owner", ""))  # fmt: skip
    return HttpResponseRedirect(reverse("contact", args=[contact.pk]))


@action_view
def task_done(request: HttpRequest, task_id: int) -> HttpResponse:
    from django.http import Http404

    from samtale.crm.models import Task

    user = acting(request)
    task = (
        Task.objects.select_related("contact__account")
        .filter(pk=task_id, account_id=membership_of(user).account_id)
        .first()
    )
    if task is None:
        raise Http404("No such task")
    actions.set_task_done(task, acting_user=user, done=request.POST.get("done", "1") == "1")
    if request.POST.get("next") == "tasks":
        return HttpResponseRedirect(reverse("my_tasks"))
    return HttpResponseRedirect(reverse("contact", args=[task.contact_id]))


@require_GET
@member_required
def companies_page(request: HttpRequest) -> HttpResponse:
    """The account's companies by name: search by name or domain, filter by owner, keyset paging."""
    membership = membership_of(acting(request))
    q, owner = str(request.GET.get("q", ""))[:100], str(request.GET.get("owner", ""))[:20]
    page = queries.company_page(membership.account_id, q, owner, str(request.GET.get("after", "")), size=queries.PAGE)
    keep = request.GET.copy()
    keep.pop("after", None)
    return render(
        request,
        "crm/companies.html",
        {
            "section": "contacts", "page": page, "q": q, "owner": owner, "query": keep.urlencode(),
            "members": _members(membership.account_id), "first_page": not request.GET.get("after"),
        },
    )  # fmt: skip


@action_view
def company_create(request: HttpRequest) -> HttpResponse:
    user = acting(request)
    company = actions.create_company(
        membership_of(user).account, acting_user=user, name=request.POST.get("name", ""),
        domain=request.POST.get("domain", ""),
    )  # fmt: skip
    return HttpResponseRedirect(reverse("company", args=[company.pk]))


@require_GET
@member_required
def company_record(request: HttpRequest, company_id: int) -> HttpResponse:
    """A company: its properties, its contacts, the conversations with them (those this person
    may see) and the way to add a contact."""
    user = acting(request)
    membership = membership_of(user)
    company = queries.company_or_404(membership.account_id, company_id)
    return render(
        request,
        "crm/company.html",
        {
            "section": "contacts", "company": company, "contacts": queries.company_contacts(company),
            "conversations": queries.company_conversations(company, user), "members": _members(membership.account_id),
            "extras": sections_for(company, user, "company-record"),
            "crm_admin": membership.has_permission("crm_admin"),
            "custom_fields": form_fields(definitions_of(membership.account_id, "company"), company.properties),
        },
    )  # fmt: skip


@require_GET
@member_required
def company_suggest(request: HttpRequest) -> HttpResponse:
    """Companies whose name (or domain) starts with what a person is typing: a datalist's options."""
    typed = str(request.GET.get("new_company") or request.GET.get("q") or "")[:100]
    found = queries.company_suggestions(membership_of(acting(request)).account_id, typed)
    return render(request, "crm/company_options.html", {"companies": found})


@action_view
def company_update(request: HttpRequest, company_id: int) -> HttpResponse:
    user = acting(request)
    company = queries.company_or_404(membership_of(user).account_id, company_id)
    fields = ["name", "domain", "owner", *definitions_of(company.account_id, "company")]  # and its custom properties
    values: dict[str, object] = {k: request.POST.get(k, "") for k in fields if k in request.POST}
    actions.update_company(company, acting_user=user, values=values)
    return HttpResponseRedirect(reverse("company", args=[company.pk]))


@action_view
def company_delete(request: HttpRequest, company_id: int) -> HttpResponse:
    user = acting(request)
    membership = membership_of(user)
    company = queries.company_or_404(membership.account_id, company_id)
    actions.delete_companies(membership.account, acting_user=user, ids=[company.pk])
    return HttpResponseRedirect(reverse("companies"))


@member_required
def company_contacts(request: HttpRequest, company_id: int) -> HttpResponse:
    """GET: contacts to add to the company (a search as the teammate types); POST: add one
    (`contact`), or take one out (`remove`)."""
    user = acting(request)
    membership = membership_of(user)
    company = queries.company_or_404(membership.account_id, company_id)
    if request.method == "POST":
        return _company_contact_change(request, company)
    query = str(request.GET.get("q", ""))[:200]
    found = []
    if query.strip():
        page = queries.contact_page(membership.account_id, queries.ContactFilters(q=query), size=8)
        found = [c for c in page.contacts if c.company_id != company.pk]
    return render(request, "crm/company_choices.html", {"company": company, "found": found, "query": query})


@action_view
def _company_contact_change(request: HttpRequest, company: Any) -> HttpResponse:
    user = acting(request)
    remove = parse_id(str(request.POST.get("remove", "")))
    wanted = remove or parse_id(str(request.POST.get("contact", "")))
    if wanted is None:
        raise ValidationError({"contact": [_("Choose a contact.")]})
    contact = queries.contact_or_404(company.account_id, wanted)
    if remove is not None and contact.company_id != company.pk:
        raise ValidationError({"contact": [_("That contact is not at this company.")]})
    actions.update_contact(contact, acting_user=user, values={"company": None if remove else company})
    return HttpResponseRedirect(reverse("company", args=[company.pk]))


@require_GET
@member_required
def contacts_export(request: HttpRequest) -> HttpResponse:
    """The filtered list as CSV (CRM admins), streamed; UTF-8 with a BOM (spreadsheets then read
    æøå right)."""
    from itertools import chain

    from django.http import StreamingHttpResponse

    from samtale.core.clock import now
    from samtale.crm.exports import export_contacts

    user = acting(request)
    membership = membership_of(user)
    filters = queries.ContactFilters.from_query(request.GET, queries.custom_properties(membership.account_id))
    lines = export_contacts(membership.account, acting_user=user, filters=filters)
    response = StreamingHttpResponse(chain(["\ufeff"], lines), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="contacts-{now():%Y-%m-%d}.csv"'
    return response  # type: ignore[return-value]


@require_GET
@member_required
def contact_data_export(request: HttpRequest, contact_id: int) -> HttpResponse:
    """Everything held about the contact, one zip archive (CRM admins)."""
    from django.http import FileResponse

    from samtale.crm.privacy import export_contact

    user = acting(request)
    contact = queries.contact_or_404(membership_of(user).account_id, contact_id)
    archive = export_contact(contact, acting_user=user)
    return FileResponse(archive, as_attachment=True, filename=f"contact-{contact.pk}.zip",  # type: ignore[return-value]
                        content_type="application/zip")  # fmt: skip


@action_view
def contact_erase(request: HttpRequest, contact_id: int) -> HttpResponse:
    """The contact deleted for good with their conversations (CRM admins; the page asks first)."""
    from samtale.crm.privacy import erase_contact

    user = acting(request)
    contact = queries.contact_or_404(membership_of(user).account_id, contact_id)
    erase_contact(contact, acting_user=user)
    return HttpResponseRedirect(reverse("contacts"))


@member_required
def contact_imports(request: HttpRequest) -> HttpResponse:
    """GET: upload a CSV file, and the account's recent imports; POST: the upload (CRM admins),
    then its columns are mapped."""
    from samtale.crm import imports
    from samtale.crm.models import ContactImport

    user = acting(request)
    membership = membership_of(user)
    if request.method == "POST":
        return _import_upload(request)
    recent = ContactImport.objects.filter(account_id=membership.account_id).order_by("-created_at", "-id")[:10]
    return render(request, "crm/import.html", {
        "section": "contacts", "recent": list(recent), "crm_admin": membership.has_permission("crm_admin"),
        "max_mb": imports.max_bytes() // (1024 * 1024),
    })  # fmt: skip


@action_view
def _import_upload(request: HttpRequest) -> HttpResponse:
    from samtale.crm import imports

    user = acting(request)
    membership = membership_of(user)
    declared = parse_id(str(request.META.get("CONTENT_LENGTH", ""))) or 0
    if declared > imports.max_bytes() + 1024 * 1024:  # refused before the body is read
        raise ValidationError({"file": [_("The file is %(size)s MB; at most %(limit)s MB.")
                                        % {"size": declared // (1024 * 1024), "limit": imports.max_bytes() // (1024 * 1024)}]})  # fmt: skip
    upload = request.FILES.get("file")
    if upload is None:
        raise ValidationError({"file": [_("Choose a CSV file.")]})
    contact_import = imports.upload(membership.account, acting_user=user, name=upload.name or "contacts.csv",
                                    stream=upload, size=upload.size or 0)  # fmt: skip
    return HttpResponseRedirect(reverse("contact_import", args=[contact_import.pk]))


def _import_or_404(request: HttpRequest, import_id: int) -> Any:
    from django.http import Http404

    from samtale.crm.models import ContactImport

    found = ContactImport.objects.filter(account_id=membership_of(acting(request)).account_id, pk=import_id).first()
    if found is None:
        raise Http404("No such import")
    return found


@require_GET
@member_required
def contact_import(request: HttpRequest, import_id: int) -> HttpResponse:
    """An import: its columns to map with a preview of the first rows, or its progress."""
    from samtale.crm import imports

    contact_import = _import_or_404(request, import_id)
    membership = membership_of(acting(request))
    context: dict[str, Any] = {"section": "contacts", "imp": contact_import,
                               "crm_admin": membership.has_permission("crm_admin")}  # fmt: skip
    if contact_import.status == "uploaded":
        preview = imports.preview(contact_import)
        context.update({
            "columns": [(str(i), name, [row[i] if i < len(row) else "" for row in preview])
                        for i, name in enumerate(contact_import.header)],
            "choices": imports.importable(membership.account_id),
        })  # fmt: skip
    return render(request, "crm/import_job.html", context)


@action_view
def contact_import_start(request: HttpRequest, import_id: int) -> HttpResponse:
    from samtale.crm import imports

    contact_import = _import_or_404(request, import_id)
    mapping = {str(i): str(request.POST.get(f"column_{i}", "")) for i in range(len(contact_import.header))}
    imports.start(contact_import, acting_user=acting(request), mapping=mapping,
                  duplicates=str(request.POST.get("duplicates", "")))  # fmt: skip
    return HttpResponseRedirect(reverse("contact_import", args=[contact_import.pk]))


@require_GET
@member_required
def contact_import_errors(request: HttpRequest, import_id: int) -> HttpResponse:
    """The rows not imported, as CSV (CRM admins)."""
    from django.http import StreamingHttpResponse

    from samtale.crm import imports

    contact_import = _import_or_404(request, import_id)
    actions.require_crm_admin(acting(request), contact_import.account_id)
    response = StreamingHttpResponse(imports.error_report(contact_import), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="import-{contact_import.pk}-errors.csv"'
    return response  # type: ignore[return-value]


@require_GET
@member_required
def my_tasks(request: HttpRequest) -> HttpResponse:
    """The person's open tasks about contacts: overdue, today, later, without a date."""
    groups = queries.my_tasks(acting(request))
    titled = [
        ("overdue", _("Overdue"), groups["overdue"]), ("today", _("Today"), groups["today"]),
        ("later", _("Later"), groups["later"]), ("undated", _("Without a date"), groups["undated"]),
    ]  # fmt: skip
    return render(request, "crm/tasks.html", {"section": "contacts", "groups": titled,
                                              "empty": not any(rows for _k, _t, rows in titled)})  # fmt: skip


@action_view
def contact_activity(request: HttpRequest, contact_id: int) -> HttpResponse:
    """Log a call or a meeting; its moment is typed in the teammate's own time zone (the page's)."""
    import datetime as dt

    from django.utils import timezone

    user = acting(request)
    contact = queries.contact_or_404(membership_of(user).account_id, contact_id)
    text = str(request.POST.get("at", "")).strip()[:16]
    try:
        at = dt.datetime.strptime(text, "%Y-%m-%dT%H:%M").replace(tzinfo=timezone.get_current_timezone())
    except ValueError:
        raise ValidationError({"at": [_("Not a date and time.")]}) from None
    actions.log_activity(
        contact, acting_user=user, kind=str(request.POST.get("kind", ""))[:10], at=at,
        title=str(request.POST.get("title", ""))[:300], outcome=str(request.POST.get("outcome", ""))[:20],
        duration_minutes=str(request.POST.get("duration_minutes", ""))[:6], notes=str(request.POST.get("notes", ""))[:20_000],
    )  # fmt: skip
    return HttpResponseRedirect(reverse("contact", args=[contact.pk]))
