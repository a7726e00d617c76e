"""The write path of deals (D3): create (from a conversation, prefilled: its contact, their
company, its owner), change (amount, currency, close date, stage, owner, contacts, company),
delete (CRM admins). A deal's lines are on the timeline of each of its contacts; changes are
audited and published (`deal.changed` to the account)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from samtale.accounts.models import Account, User
from samtale.core.audit import audit
from samtale.core.clock import now
from samtale.core.events import Event, account_group, publish_on_commit
from samtale.crm.actions import (
    add_timeline_entry,
    forget_timeline_subjects,
    require_crm_admin,
    require_member,
    teammate,
)
from samtale.crm.models import Company, Contact, PipelineKind, Stage, TimelineEntry
from samtale.crm.pipelines import any_stage_of, bounded_text, default_pipeline, first_open_stage, pipeline_of, stage_in
from samtale.deals.models import CURRENCIES, Deal
from samtale.inbox.access import access_conversation
from samtale.inbox.models import Conversation

DEAL_CHANGED = "deal.changed"
MAX_AMOUNT = Decimal("999999999999.99")
MAX_CONTACTS = 50


def deal_changed(account_id: int, deal_ids: list[int], contact_ids: list[int], change: str) -> Event:
    return Event(type=DEAL_CHANGED, groups=(account_group(account_id),),
                 data={"deal_ids": deal_ids[:500], "contact_ids": contact_ids[:500], "change": change})  # fmt: skip


def _amount(value: object) -> Decimal | None:
    text = str(value if value is not None else "").strip().replace(" ", "").replace("\u00a0", "")
    if not text:
        return None
    if "," in text and "." not in text:  # 12 500,50 as written in Norway
        text = text.replace(",", ".")
    try:
        amount = Decimal(text[:30])
    except InvalidOperation:
        raise ValidationError({"amount": [_("%(value)s is not an amount.") % {"value": str(value)[:30]}]}) from None
    if not amount.is_finite() or amount < 0 or amount > MAX_AMOUNT:
        raise ValidationError({"amount": [_("An amount from 0 up to 999 999 999 999.")]})
    return amount.quantize(Decimal("0.01"))


def _currency(value: object) -> str:
    text = str(value or "NOK").strip().upper()
    if text not in CURRENCIES:
        raise ValidationError({"currency": [_("Choose one of the currencies.")]})
    return text


def _close_date(value: object) -> dt.date | None:
    if value in (None, ""):
        return None
    if isinstance(value, dt.date):
        day = value
    else:
        try:
            day = dt.date.fromisoformat(str(value)[:10])
        except ValueError:
            raise ValidationError({"close_date": [_("A date such as 2027-03-31.")]}) from None
    today = now().date()
    if not (today - dt.timedelta(days=3653) <= day <= today + dt.timedelta(days=3653)):
        raise ValidationError({"close_date": [_("A date within ten years of today.")]})
    return day


def _contacts(account_id: int, values: Iterable[object]) -> list[Contact]:
    ids = []
    for value in list(values)[: MAX_CONTACTS + 1]:
        try:
            ids.append(int(str(value)))
        except ValueError:
            raise ValidationError({"contacts": [_("No such contact.")]}) from None
    if len(ids) > MAX_CONTACTS:
        raise ValidationError({"contacts": [_("At most %(n)s contacts.") % {"n": MAX_CONTACTS}]})
    found = list(Contact.objects.filter(account_id=account_id, pk__in=ids, merged_into=None))
    if len(found) != len(set(ids)):
        raise ValidationError({"contacts": [_("No such contact.")]})
    return found


def _company(account_id: int, value: object) -> Company | None:
    if value in (None, ""):
        return None
    if isinstance(value, Company):
        return value if value.account_id == account_id else None
    try:
        found = Company.objects.filter(account_id=account_id, pk=int(str(value))).first()
    except ValueError:
        found = None
    if found is None:
        raise ValidationError({"company": [_("No such company.")]})
    return found


def _clean(account: Account, values: dict[str, Any], current: Deal | None) -> dict[str, Any]:
    """Every given field checked, all errors together."""
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}
    cleaners: dict[str, Any] = {
        "name": lambda v: bounded_text("name", v, 200),
        "amount": _amount,
        "currency": _currency,
        "close_date": _close_date,
        "owner": lambda v: teammate(account.pk, v),
        "company": lambda v: _company(account.pk, v),
        "contacts": lambda v: _contacts(account.pk, v),
        "pipeline": lambda v: pipeline_of(account.pk, PipelineKind.DEAL, v),
    }
    unknown = set(values) - set(cleaners) - {"stage"}
    if unknown:
        errors["__all__"] = [_("Unknown field: %(name)s.") % {"name": sorted(unknown)[0]}]
    for key, clean in cleaners.items():
        if key in values:
            try:
                out[key] = clean(values[key])
            except ValidationError as error:
                errors.update(error.message_dict)
    if "name" in out and not out["name"]:
        errors["name"] = [_("A deal needs a name.")]
    try:
        chosen = out.get("pipeline")
        if values.get("stage") not in (None, ""):
            out["stage"] = (
                stage_in(chosen, values["stage"])
                if chosen is not None
                else any_stage_of(account.pk, PipelineKind.DEAL, values["stage"])
            )
        elif out.get("pipeline") and (current is None or out["pipeline"].pk != current.pipeline_id):
            out["stage"] = first_open_stage(out["pipeline"])
    except ValidationError as error:
        errors.update(error.message_dict if hasattr(error, "error_dict") else {"stage": error.messages})
    if errors:
        raise ValidationError(errors)
    out.pop("pipeline", None)
    return out


def _on_timelines(deal: Deal, kind: str, actor: User | None, contacts: list[Contact]) -> None:
    for contact in contacts:
        add_timeline_entry(
            contact, kind=kind, actor=actor, subject_type="deal", subject_id=deal.pk, title=deal.name,
            data={"stage": deal.stage.name, "amount": str(deal.amount) if deal.amount is not None else None,
                  "currency": deal.currency, "closed": deal.closed_at is not None},
        )  # fmt: skip


def _set_stage(deal: Deal, stage: Stage) -> None:
    deal.stage, deal.pipeline_id = stage, stage.pipeline_id
    deal.closed_at = (deal.closed_at or now()) if stage.is_closed else None


def create_deal(
    account: Account, *, acting_user: User, conversation: Conversation | None = None, **values: Any
) -> Deal:
    """A deal (any teammate), from a conversation or not. Not given: the conversation's contact
    and their company, its owner (or whoever creates it), the default Sales pipeline's first stage."""
    require_member(acting_user, account.pk)
    if conversation is not None:
        access_conversation(acting_user, conversation.pk)
    if conversation is not None and "contacts" not in values and conversation.contact_id:
        values["contacts"] = [conversation.contact_id]
    if "owner" not in values:
        values["owner"] = (
            conversation.owner_id if conversation is not None and conversation.owner_id else acting_user.pk
        )
    cleaned = _clean(account, values, None)
    if not cleaned.get("name"):
        raise ValidationError({"name": [_("A deal needs a name.")]})
    contacts = cleaned.pop("contacts", [])
    if "company" not in values and contacts and contacts[0].company_id:
        cleaned["company"] = contacts[0].company
    with transaction.atomic():
        stage = cleaned.pop("stage", None) or first_open_stage(default_pipeline(account, PipelineKind.DEAL))
        deal = Deal(account=account, conversation=conversation, created_by=acting_user, **cleaned)
        _set_stage(deal, stage)
        deal.save()
        deal.contacts.set(contacts)
        _on_timelines(deal, "deal.created", acting_user, contacts)
        audit(account, acting_user, "deal.created", deal, conversation_id=conversation.pk if conversation else None)
        publish_on_commit(deal_changed(account.pk, [deal.pk], [c.pk for c in contacts], "created"))
    return deal


def update_deal(deal: Deal, *, acting_user: User, values: dict[str, Any]) -> Deal:
    """Change some fields (any teammate): all or nothing, every wrong field named."""
    require_member(acting_user, deal.account_id)
    cleaned = _clean(deal.account, values, deal)
    contacts = cleaned.pop("contacts", None)
    stage = cleaned.pop("stage", None)
    changed = sorted(k for k, v in cleaned.items() if getattr(deal, k) != v)
    with transaction.atomic():
        for key in changed:
            setattr(deal, key, cleaned[key])
        if stage is not None and stage.pk != deal.stage_id:
            _set_stage(deal, stage)
            changed.append("stage")
        before = set(deal.contacts.values_list("pk", flat=True))
        if contacts is not None and {c.pk for c in contacts} != before:
            deal.contacts.set(contacts)
            gone = before - {c.pk for c in contacts}
            TimelineEntry.objects.filter(subject_type="deal", subject_id=deal.pk, contact_id__in=gone).delete()
            _on_timelines(deal, "deal.created", acting_user, [c for c in contacts if c.pk not in before])
            changed.append("contacts")
        if not changed:
            return deal
        deal.updated_at = now()
        deal.save()
        if "stage" in changed:
            _on_timelines(deal, "deal.stage", acting_user, list(deal.contacts.all()))
        audit(deal.account, acting_user, "deal.updated", deal, fields=sorted(changed),
              stage=deal.stage.name if "stage" in changed else None)  # fmt: skip
        ids = list(deal.contacts.values_list("pk", flat=True))
        publish_on_commit(deal_changed(deal.account_id, [deal.pk], ids, "updated"))
    return deal


def delete_deals(deals: Iterable[Deal], *, acting_user: User) -> int:
    doomed = list(deals)
    if not doomed:
        return 0
    require_crm_admin(acting_user, doomed[0].account_id)
    with transaction.atomic():
        ids = [d.pk for d in doomed]
        forget_timeline_subjects("deal", ids)
        Deal.objects.filter(pk__in=ids).delete()
        audit(doomed[0].account, acting_user, "deal.deleted", doomed[0].account, ids=ids)
        publish_on_commit(deal_changed(doomed[0].account_id, ids, [], "deleted"))
    return len(ids)


# --- the CRM's hooks ------------------------------------------------------------------------------


def contacts_merged(keep: Contact, merged: Contact, acting_user: User | None) -> None:
    """The merged contact's deals are the kept one's."""
    for deal in Deal.objects.filter(contacts=merged):
        deal.contacts.remove(merged)
        deal.contacts.add(keep)


def contact_data(contact: Contact) -> tuple[str, Any, list[tuple[str, str]]]:
    rows = Deal.objects.filter(contacts=contact).select_related("stage", "pipeline").order_by("created_at", "id")
    return "deals", [
        {"id": d.pk, "name": d.name, "pipeline": d.pipeline.name, "stage": d.stage.name,
         "amount": str(d.amount) if d.amount is not None else None, "currency": d.currency,
         "close_date": d.close_date.isoformat() if d.close_date else None, "created": d.created_at.isoformat()}
        for d in rows
    ], []  # fmt: skip


def forget_contact(contact: Contact, acting_user: User | None) -> tuple[str, int]:
    """Erasing a person takes them off their deals; the deals (the company's business) stay."""
    deals = list(Deal.objects.filter(contacts=contact))
    for deal in deals:
        deal.contacts.remove(contact)
    return "deals", len(deals)
