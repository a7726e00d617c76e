"""The CRM's reads: a page of contacts (search, filters, sort, a cursor), a contact's record,
a page of its timeline, its property history. Every read is scoped by account first."""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass, field
from typing import Any

from django.db.models import DateTimeField, F, Q, QuerySet, Value
from django.db.models.functions import Coalesce, Lower
from django.http import Http404

from samtale.accounts.models import User
from samtale.core.hooks import Hook
from samtale.crm import search
from samtale.crm.models import Company, Contact, PropertyChange, PropertyDefinition, Task, TimelineEntry

PAGE = 50
TIMELINE_PAGE = 30
NEVER = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)  # where "never contacted" sorts
SORTS: dict[str, tuple[Any, bool]] = {  # name: (key expression, descending)
    "created": (F("created_at"), True),
    "name": (Lower("name"), False),
    "last_contacted": (Coalesce("last_contacted_at", Value(NEVER), output_field=DateTimeField()), True),
}


def contact_or_404(account_id: int, contact_id: int) -> Contact:
    """The account's contact (another account's id is as unknown as a missing one)."""
    found = Contact.objects.filter(account_id=account_id, pk=contact_id).select_related("owner", "company").first()
    if found is None:
        raise Http404("No such contact")
    return found


@dataclass
class ContactFilters:
    q: str = ""
    owner: str = ""  # a user id, "none", or "" (anyone)
    company: str = ""  # a company id, "none", or ""
    created_after: dt.date | None = None
    created_before: dt.date | None = None
    contacted_after: dt.date | None = None
    contacted_before: dt.date | None = None
    stage: str = ""
    properties: dict[str, str] = field(default_factory=dict)  # custom property key: value
    sort: str = "created"

    @classmethod
    def from_query(cls, params: Any, definitions: list[PropertyDefinition]) -> ContactFilters:
        """From a query string, each value bounded; what cannot be read is left out."""

        def day(name: str) -> dt.date | None:
            text = str(params.get(name, ""))[:10]
            try:
                value = dt.date.fromisoformat(text) if len(text) == 10 else None
            except ValueError:
                return None
            return value if value is not None and 1900 <= value.year <= 2100 else None

        def ident(name: str) -> str:
            text = str(params.get(name, ""))[:20]
            return text if text == "none" or (text.isascii() and text.isdigit()) else ""

        sort = str(params.get("sort", "created"))
        wanted = {}
        for definition in definitions:
            value = str(params.get(f"p_{definition.key}", "")).strip()[:200]
            if value:
                wanted[definition.key] = value
        return cls(
            q=str(params.get("q", ""))[:200], owner=ident("owner"), company=ident("company"),
            created_after=day("created_after"), created_before=day("created_before"),
            contacted_after=day("contacted_after"), contacted_before=day("contacted_before"),
            stage=str(params.get("stage", ""))[:16], properties=wanted, sort=sort if sort in SORTS else "created",
        )  # fmt: skip

    @property
    def active(self) -> bool:
        return any(
            [self.q, self.owner, self.company, self.created_after, self.created_before, self.contacted_after,
             self.contacted_before, self.stage, self.properties]
        )  # fmt: skip


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC)


def filtered_contacts(account_id: int, filters: ContactFilters) -> QuerySet[Contact]:
    contacts = Contact.objects.filter(account_id=account_id, merged_into=None)
    if filters.owner:
        contacts = (
            contacts.filter(owner=None) if filters.owner == "none" else contacts.filter(owner_id=int(filters.owner))
        )
    if filters.company:
        contacts = (
            contacts.filter(company=None)
            if filters.company == "none"
            else contacts.filter(company_id=int(filters.company))
        )
    if filters.stage:
        contacts = contacts.filter(lifecycle_stage=filters.stage)
    if filters.created_after:
        contacts = contacts.filter(created_at__gte=_day_start(filters.created_after))
    if filters.created_before:
        contacts = contacts.filter(created_at__lt=_day_start(filters.created_before + dt.timedelta(days=1)))
    if filters.contacted_after:
        contacts = contacts.filter(last_contacted_at__gte=_day_start(filters.contacted_after))
    if filters.contacted_before:
        contacts = contacts.filter(last_contacted_at__lt=_day_start(filters.contacted_before + dt.timedelta(days=1)))
    for key, value in filters.properties.items():
        if value in ("true", "false"):  # a checkbox
            contacts = contacts.filter(**{f"properties__{key}": value == "true"})
        else:
            contacts = contacts.filter(**{f"properties__{key}": value})
    if filters.q:
        contacts = search.search(contacts, account_id, filters.q)
    return contacts


@dataclass
class ContactPage:
    contacts: list[Contact]
    next_cursor: str


def _encode(value: Any, pk: int) -> str:
    text = value.isoformat() if isinstance(value, dt.datetime) else str(value)
    return base64.urlsafe_b64encode(json.dumps([text, pk]).encode()).decode().rstrip("=")


def _decode(cursor: str, sort: str) -> tuple[Any, int] | None:
    """(key, id) from a cursor, or None when it is not one of ours (it is the client's to keep)."""
    try:
        raw = base64.urlsafe_b64decode(cursor[:400] + "=" * (-len(cursor[:400]) % 4))
        text, pk = json.loads(raw)
        if not isinstance(text, str) or not isinstance(pk, int) or isinstance(pk, bool):
            return None
        value: Any = dt.datetime.fromisoformat(text) if sort != "name" else text[:200]
        if isinstance(value, dt.datetime) and value.tzinfo is None:
            return None
        return value, pk
    except (ValueError, TypeError, UnicodeDecodeError, json.JSONDecodeError):
        return None


def contact_page(account_id: int, filters: ContactFilters, cursor: str = "", size: int = PAGE) -> ContactPage:
    """One page of the filtered contacts in the chosen order, after `cursor` (keyset: the same
    speed on the 1000th page as on the first, and nothing skipped or doubled by new contacts)."""
    expression, descending = SORTS[filters.sort]
    rows = filtered_contacts(account_id, filters).annotate(sort_key=expression)
    after = _decode(cursor, filters.sort) if cursor else None
    if after is not None:
        value, pk = after
        if descending:
            rows = rows.filter(Q(sort_key__lt=value) | Q(sort_key=value, pk__lt=pk))
        else:
            rows = rows.filter(Q(sort_key__gt=value) | Q(sort_key=value, pk__gt=pk))
    order = ["-sort_key", "-pk"] if descending else ["sort_key", "pk"]
    found: list[Contact] = list(rows.select_related("owner", "company").order_by(*order)[: size + 1])
    more = len(found) > size
    found = found[:size]
    last = found[-1] if found else None
    key = last.sort_key if last is not None else None  # type: ignore[attr-defined]  # (annotated)
    return ContactPage(found, _encode(key, last.pk) if more and last is not None else "")


@dataclass
class TimelinePage:
    entries: list[TimelineEntry]
    next_cursor: str


# (user) → the inbox ids whose conversation-bound lines this user may see, or None for all; the
# inbox registers it (crm knows no inboxes). Without it nobody sees conversation-bound lines.
visible_inboxes: Hook[[User], list[int] | None] = Hook("visible_inboxes")
# (user id) → that person's time zone name, or None; availability registers it (it keeps the zone)
user_zone: Hook[[int], str | None] = Hook("user_zone")


def zone_of(user_id: int) -> dt.tzinfo:
    """A teammate's time zone (where a task of theirs is due), else the installation's."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from django.conf import settings

    answers = user_zone(user_id)
    for name in [*(a for a in answers if a), settings.TIME_ZONE]:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return dt.UTC


def timeline_page(contact: Contact, user: User, cursor: str = "", size: int = TIMELINE_PAGE) -> TimelinePage:
    """Newest first, one indexed query (contact, -at, -id) per page. A line about a conversation
    (it names the inbox in `data`) shows only to those with access to that inbox."""
    rows = TimelineEntry.objects.filter(contact=contact)
    answers = visible_inboxes(user)
    allowed = answers[0] if answers else []
    if allowed is not None:
        rows = rows.filter(~Q(data__has_key="inbox_id") | Q(data__inbox_id__in=allowed))
    after = _decode(cursor, "at") if cursor else None
    if after is not None:
        at, pk = after
        rows = rows.filter(Q(at__lt=at) | Q(at=at, pk__lt=pk))
    found = list(rows.select_related("actor").order_by("-at", "-id")[: size + 1])
    more = len(found) > size
    found = found[:size]
    return TimelinePage(found, _encode(found[-1].at, found[-1].pk) if more and found else "")


def property_history(contact: Contact, limit: int = 50) -> list[PropertyChange]:
    return list(contact.property_changes.select_related("actor").order_by("-at", "-id")[:limit])


def companies_of(account_id: int, limit: int = 500) -> list[Company]:
    return list(Company.objects.filter(account_id=account_id).order_by("name", "id")[:limit])


def custom_properties(account_id: int) -> list[PropertyDefinition]:
    return list(PropertyDefinition.objects.filter(account_id=account_id, object_type="contact"))


def active_teammates(account_id: int) -> list[User]:
    """The account's teammates who can own something (not deactivated or removed), by name."""
    return list(
        User.objects.filter(
            membership__account_id=account_id, membership__deactivated_at=None, membership__removed_at=None
        ).order_by("name", "id")
    )


def company_or_404(account_id: int, company_id: int) -> Company:
    company = Company.objects.select_related("owner").filter(account_id=account_id, pk=company_id).first()
    if company is None:
        raise Http404("No such company")
    return company


@dataclass
class CompanyPage:
    companies: list[Company]
    next_cursor: str


def company_page(account_id: int, q: str = "", owner: str = "", cursor: str = "", size: int = PAGE) -> CompanyPage:
    """By name (then id), a page after a cursor; `q` a prefix of the name or the domain (any case),
    `owner` a teammate's id or "none". Each row carries its number of contacts."""
    from django.db.models import Count

    rows = Company.objects.filter(account_id=account_id).select_related("owner")
    q = " ".join(q.split())[:100]
    if q:
        rows = rows.filter(Q(name__istartswith=q) | Q(domain__istartswith=q.lower()) | Q(name__icontains=f" {q}"))
    if owner == "none":
        rows = rows.filter(owner__isnull=True)
    elif owner.isascii() and owner.isdigit():
        rows = rows.filter(owner_id=int(owner))
    after = _decode(cursor, "name") if cursor else None
    if after is not None:
        name, pk = after
        rows = rows.filter(Q(name__gt=name) | Q(name=name, pk__gt=pk))
    found: list[Company] = list(rows.annotate(contact_count=Count("contacts")).order_by("name", "id")[: size + 1])
    more = len(found) > size
    found = found[:size]
    return CompanyPage(found, _encode(found[-1].name, found[-1].pk) if more and found else "")


def company_suggestions(account_id: int, typed: str, limit: int = 10) -> list[dict[str, str]]:
    """Names and domains of companies whose name or domain starts with what is typed (or a word of
    the name does): a datalist's options, one indexed query."""
    q = " ".join(typed.split())[:100]
    if not q:
        return []
    rows = Company.objects.filter(account_id=account_id).filter(
        Q(name__istartswith=q) | Q(domain__istartswith=q.lower()) | Q(name__icontains=f" {q}")
    )
    return [
        {"name": r["name"], "domain": r["domain"]} for r in rows.order_by("name", "id").values("name", "domain")[:limit]
    ]


def company_contacts(company: Company, limit: int = 100) -> list[Contact]:
    return list(
        Contact.objects.filter(company=company, merged_into__isnull=True)
        .select_related("owner")
        .order_by("name", "id")[:limit]
    )


def company_conversations(company: Company, user: User, limit: int = 20) -> list[TimelineEntry]:
    """The newest conversations of its contacts this person may see (their timelines' lines)."""
    rows = TimelineEntry.objects.filter(contact__company=company, subject_type="conversation")
    answers = visible_inboxes(user)
    allowed = answers[0] if answers else []
    if allowed is not None:
        rows = rows.filter(data__inbox_id__in=allowed)
    return list(rows.select_related("contact").order_by("-at", "-id")[:limit])


def _end_of_today() -> dt.datetime:
    """Midnight after today, in the reader's zone (the page's)."""
    from django.utils import timezone

    local = timezone.localtime()
    return (local + dt.timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)


def tasks_due_today(user: User, limit: int = 5) -> tuple[list[Task], int]:
    """The person's open tasks due by the end of today (overdue too), soonest first, and how many
    there are (one query for the page, one for the count only when there are more)."""
    rows = Task.objects.filter(owner=user, done_at__isnull=True, due_at__lt=_end_of_today()).select_related("contact")
    found = list(rows.order_by("due_at", "id")[: limit + 1])
    total = len(found) if len(found) <= limit else rows.count()
    return found[:limit], total


def my_tasks(user: User, limit: int = 200) -> dict[str, list[Task]]:
    """The person's open tasks: overdue, today, later and without a date (one query)."""
    end = _end_of_today()
    start = end - dt.timedelta(days=1)
    groups: dict[str, list[Task]] = {"overdue": [], "today": [], "later": [], "undated": []}
    rows = (
        Task.objects.filter(owner=user, done_at__isnull=True)
        .select_related("contact")
        .order_by(F("due_at").asc(nulls_last=True), "id")[:limit]
    )
    for task in rows:
        if task.due_at is None:
            groups["undated"].append(task)
        elif task.due_at < start:
            groups["overdue"].append(task)
        elif task.due_at < end:
            groups["today"].append(task)
        else:
            groups["later"].append(task)
    return groups
