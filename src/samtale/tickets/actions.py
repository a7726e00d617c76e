"""The write path of tickets (D2): create (from a conversation, prefilled), change, move through
the pipeline, close together with the conversation, delete. Every change is audited, lands on the
contact's timeline when it is a stage change, and is published (`ticket.changed`, and the
conversation's own event so an open thread redraws its ticket).

Tickets sit above the inbox: the inbox never imports them. What happens to a ticket when its
conversation is reopened, deleted for good or its sender blocked is done here, in the inbox's
hooks (`inbox.hooks`), inside the inbox action's transaction."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from samtale.accounts.models import Account, User
from samtale.core.audit import audit
from samtale.core.clock import now
from samtale.core.events import publish_on_commit
from samtale.crm.actions import (
    add_timeline_entry,
    forget_timeline_subjects,
    require_crm_admin,
    require_member,
    teammate,
)
from samtale.crm.models import Contact, PipelineKind, Stage
from samtale.crm.pipelines import (
    any_stage_of,
    bounded_text,
    choice_of,
    default_pipeline,
    first_closed_stage,
    first_open_stage,
    pipeline_of,
    stage_in,
)
from samtale.inbox import actions as inbox_actions
from samtale.inbox import events as inbox_events
from samtale.inbox.access import access_conversation
from samtale.inbox.models import Conversation
from samtale.tickets import events
from samtale.tickets.models import Category, Priority, Ticket

NAME_LIMIT = 200
DESCRIPTION_LIMIT = 10_000


def _publish(ticket: Ticket, change: str) -> None:
    conversations = [ticket.conversation_id] if ticket.conversation_id else []
    publish_on_commit(events.ticket_changed(ticket.account_id, [ticket.pk], conversations, change))
    if ticket.conversation_id is not None:
        conversation = Conversation.objects.filter(pk=ticket.conversation_id).first()
        if conversation is not None:
            publish_on_commit(inbox_events.conversation_changed(conversation, "ticket"))


def _on_timeline(ticket: Ticket, kind: str, actor: User | None, **data: Any) -> None:
    if ticket.contact_id is None:
        return
    contact = Contact(pk=ticket.contact_id, account_id=ticket.account_id)
    add_timeline_entry(
        contact, kind=kind, actor=actor, subject_type="ticket", subject_id=ticket.pk, title=ticket.name,
        data={"stage": ticket.stage.name, "closed": ticket.is_closed, **data},
    )  # fmt: skip


def create_ticket(
    account: Account,
    *,
    acting_user: User,
    name: str,
    conversation: Conversation | None = None,
    contact: Contact | None = None,
    description: str = "",
    pipeline: object = None,
    stage: object = None,
    priority: object = Priority.MEDIUM,
    category: object = "",
    owner: object = None,
) -> Ticket:
    """A ticket, from a conversation (one per conversation: its contact and owner by default) or
    about a contact. Any teammate with access to the conversation may create it."""
    require_member(acting_user, account.pk)
    if conversation is not None:
        access_conversation(acting_user, conversation.pk)
    if pipeline in (None, "") and stage not in (None, ""):  # a stage names its pipeline
        pipeline = any_stage_of(account.pk, PipelineKind.TICKET, stage).pipeline_id
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    for key, clean in (
        ("name", lambda: bounded_text("name", name, NAME_LIMIT)),
        ("description", lambda: bounded_text("description", description, DESCRIPTION_LIMIT, one_line=False)),
        ("priority", lambda: choice_of("priority", priority or Priority.MEDIUM, Priority)),
        ("category", lambda: choice_of("category", category, Category, blank=True)),
        (
            "pipeline",
            lambda: (
                pipeline_of(account.pk, PipelineKind.TICKET, pipeline) or default_pipeline(account, PipelineKind.TICKET)
            ),
        ),
    ):
        try:
            values[key] = clean()
        except ValidationError as error:
            errors.update(error.message_dict)
    if "name" in values and not values["name"]:
        errors["name"] = [_("A ticket needs a name.")]
    # not given: the conversation's owner, or whoever creates it; "" (or 0): nobody
    default = conversation.owner_id if conversation is not None and conversation.owner_id else acting_user.pk
    owner_value = default if owner is None else owner
    try:
        values["owner"] = teammate(account.pk, owner_value)
    except ValidationError as error:
        errors.update(error.message_dict)
    if "pipeline" in values:
        try:
            values["stage"] = (
                stage_in(values["pipeline"], stage) if stage not in (None, "") else first_open_stage(values["pipeline"])
            )
        except ValidationError as error:
            errors.update(error.message_dict if hasattr(error, "error_dict") else {"stage": error.messages})
    if contact is not None and contact.account_id != account.pk:
        errors["contact"] = [_("That contact is not in this account.")]
    if errors:
        raise ValidationError(errors)
    if contact is None and conversation is not None:
        contact = conversation.contact
    with transaction.atomic():
        if conversation is not None:
            # two teammates creating its ticket at once: the second is told, not given a second one
            Conversation.objects.select_for_update().filter(pk=conversation.pk).first()
            if Ticket.objects.filter(conversation=conversation).exists():
                raise ValidationError(_("This conversation has a ticket already."))
        moment = now()
        try:
            with transaction.atomic():
                ticket = Ticket.objects.create(
                    account=account, conversation=conversation, contact=contact, created_by=acting_user,
                    created_at=moment, updated_at=moment,
                    closed_at=moment if values["stage"].is_closed else None, **values,
                )  # fmt: skip
        except IntegrityError:
            raise ValidationError(_("This conversation has a ticket already.")) from None
        _on_timeline(ticket, "ticket.created", acting_user, pipeline=ticket.pipeline.name)
        audit(account, acting_user, "ticket.created", ticket, conversation_id=conversation.pk if conversation else None)
        _publish(ticket, "created")
    return ticket


EDITABLE = ("name", "description", "priority", "category", "owner", "pipeline", "stage")


def update_ticket(ticket: Ticket, *, acting_user: User, values: dict[str, object]) -> Ticket:
    """Change some of a ticket's fields (any teammate), all or nothing with every wrong field
    named. A new pipeline without a stage puts it in that pipeline's first open stage."""
    require_member(acting_user, ticket.account_id)
    errors: dict[str, list[str]] = {}
    changes: dict[str, Any] = {}
    from samtale.crm import properties

    custom = {k: v for k, v in values.items() if k not in EDITABLE}
    cleaned: dict[str, object] = {}
    if custom:  # the rest are custom properties, by key (Settings → Properties → Tickets)
        cleaned, custom_errors = properties.clean_custom_values(
            properties.definitions_of(ticket.account_id, "ticket"), custom
        )
        errors.update(custom_errors)
        changes["properties"] = properties.with_custom(ticket.properties, cleaned)
    cleaners: dict[str, Any] = {
        "name": lambda v: bounded_text("name", v, NAME_LIMIT),
        "description": lambda v: bounded_text("description", v, DESCRIPTION_LIMIT, one_line=False),
        "priority": lambda v: choice_of("priority", v, Priority),
        "category": lambda v: choice_of("category", v, Category, blank=True),
        "owner": lambda v: teammate(ticket.account_id, v),
        "pipeline": lambda v: pipeline_of(ticket.account_id, PipelineKind.TICKET, v) or ticket.pipeline,
    }
    for key, clean in cleaners.items():
        if key in values:
            try:
                changes[key] = clean(values[key])
            except ValidationError as error:
                errors.update(error.message_dict)
    if changes.get("name") == "":
        errors["name"] = [_("A ticket needs a name.")]
    pipeline = changes.get("pipeline", ticket.pipeline)
    chosen_pipeline = values.get("pipeline") not in (None, "")
    try:
        if values.get("stage") not in (None, "") and not chosen_pipeline:  # a stage names its pipeline
            changes["stage"] = any_stage_of(ticket.account_id, PipelineKind.TICKET, values["stage"])
            changes["pipeline"] = changes["stage"].pipeline
        elif values.get("stage") not in (None, ""):
            changes["stage"] = stage_in(pipeline, values["stage"])
        elif pipeline.pk != ticket.pipeline_id:
            changes["stage"] = first_open_stage(pipeline)
    except ValidationError as error:
        errors.update(error.message_dict if hasattr(error, "error_dict") else {"stage": error.messages})
    if errors:
        raise ValidationError(errors)
    changed = {k: v for k, v in changes.items() if getattr(ticket, k) != v}
    if not changed:
        return ticket
    with transaction.atomic():
        if "properties" in changed:  # merged into what is stored now: a teammate's other values stay
            locked = Ticket.objects.select_for_update().only("properties").get(pk=ticket.pk)
            changed["properties"] = properties.with_custom(locked.properties, cleaned)
        stage = changed.pop("stage", None)
        for key, value in changed.items():
            setattr(ticket, key, value)
        if stage is not None:
            _set_stage(ticket, stage, acting_user)
        ticket.updated_at = now()
        ticket.save()
        fields = sorted([*changed, *(["stage"] if stage is not None else [])])
        audit(ticket.account, acting_user, "ticket.updated", ticket, fields=fields,
              stage=ticket.stage.name if stage is not None else None)  # fmt: skip
        _publish(ticket, "updated")
    return ticket


def _set_stage(ticket: Ticket, stage: Stage, actor: User | None) -> None:
    """The stage, closed or open with it, and a line on the contact's timeline (saved by the caller)."""
    was_closed = ticket.is_closed
    if stage.is_closed and not was_closed:
        ticket.reopen_stage_id = ticket.stage_id
        ticket.closed_at = now()
    elif not stage.is_closed:
        ticket.closed_at = None
    ticket.stage = stage
    ticket.pipeline_id = stage.pipeline_id
    _on_timeline(ticket, "ticket.stage", actor)


def move_ticket(ticket: Ticket, *, acting_user: User, stage: object) -> Ticket:
    """To another stage of its pipeline (the board's drag, or its keyboard move)."""
    return update_ticket(ticket, acting_user=acting_user, values={"stage": stage})


def close_conversation(conversation: Conversation, *, acting_user: User, close_ticket: bool) -> Conversation:
    """Close the conversation, and its ticket too when asked: one action, both or neither."""
    with transaction.atomic():
        conversation = inbox_actions.close_conversation(conversation, acting_user=acting_user)
        ticket = Ticket.objects.select_related("stage", "pipeline").filter(conversation=conversation).first()
        if close_ticket and ticket is not None and not ticket.is_closed:
            stage = first_closed_stage(ticket.pipeline)
            if stage is None:
                raise ValidationError(_("The ticket's pipeline has no closed stage."))
            update_ticket(ticket, acting_user=acting_user, values={"stage": stage.pk})
    return conversation


def delete_tickets(tickets: Iterable[Ticket], *, acting_user: User | None, why: str = "") -> int:
    """Gone, with their lines on timelines; the audit row keeps ids only. By hand it needs CRM
    admin; the inbox's hooks call it for a conversation deleted for good or a blocked sender."""
    doomed = list(tickets)
    if not doomed:
        return 0
    account_id = doomed[0].account_id
    if acting_user is not None and not why:
        require_crm_admin(acting_user, account_id)
    with transaction.atomic():
        ids = [t.pk for t in doomed]
        conversations = [t.conversation_id for t in doomed if t.conversation_id]
        forget_timeline_subjects("ticket", ids)
        Ticket.objects.filter(pk__in=ids).delete()
        account = doomed[0].account
        audit(account, acting_user, "ticket.deleted", account, ids=ids, why=why or "by hand")
        publish_on_commit(events.ticket_changed(account_id, ids, conversations, "deleted"))
    return len(ids)


# --- the inbox's hooks -------------------------------------------------------------------------


def property_deleting(object_type: str, account_id: int, key: str) -> None:
    """A custom ticket property is deleted: its values go from every ticket."""
    from samtale.crm.actions import drop_property_values

    if object_type == "ticket":
        drop_property_values(Ticket.objects.filter(account_id=account_id), key)


def conversations_reopened(conversations: list[Conversation], acting_user: User | None) -> None:
    """A reopened conversation takes its closed ticket back out of closed: to the stage it was in
    before, or the pipeline's first open stage."""
    closed = Ticket.objects.select_related("pipeline", "reopen_stage", "stage").filter(
        conversation__in=[c.pk for c in conversations], closed_at__isnull=False
    )
    for ticket in closed:
        back = ticket.reopen_stage
        if back is None or back.pipeline_id != ticket.pipeline_id or back.is_closed:
            back = first_open_stage(ticket.pipeline)
        _set_stage(ticket, back, acting_user)
        ticket.updated_at = now()
        ticket.save()
        audit(ticket.account, acting_user, "ticket.reopened", ticket, stage_id=back.pk)
        _publish(ticket, "updated")


def conversations_deleting(conversations: list[Conversation], acting_user: User | None) -> None:
    """Deleting a conversation forever deletes its ticket (C1)."""
    tickets = list(Ticket.objects.select_related("account").filter(conversation__in=[c.pk for c in conversations]))
    delete_tickets(tickets, acting_user=acting_user, why="conversation deleted")


def sender_blocked(conversation: Conversation, acting_user: User | None) -> None:
    """Blocking a sender deletes the ticket of the conversation (C8)."""
    tickets = list(Ticket.objects.select_related("account").filter(conversation=conversation))
    delete_tickets(tickets, acting_user=acting_user, why="sender blocked")


def contacts_merged(keep: Contact, merged: Contact, acting_user: User | None) -> None:
    """The merged contact's tickets are the kept one's (their timeline lines move with the rest)."""
    ids = list(Ticket.objects.filter(contact=merged).values_list("pk", flat=True))
    if ids:
        Ticket.objects.filter(pk__in=ids).update(contact=keep)
        publish_on_commit(events.ticket_changed(keep.account_id, ids, [], "contact"))


def contact_data(contact: Contact) -> tuple[str, Any, list[tuple[str, str]]]:
    """The contact's tickets, for the export of what is held about them (crm.privacy)."""
    rows = Ticket.objects.filter(contact=contact).select_related("stage", "pipeline").order_by("created_at", "id")
    return "tickets", [
        {"id": t.pk, "name": t.name, "description": t.description, "pipeline": t.pipeline.name, "stage": t.stage.name,
         "priority": t.priority, "category": t.category, "created": t.created_at.isoformat(),
         "closed": t.closed_at.isoformat() if t.closed_at else None}
        for t in rows
    ], []  # fmt: skip


def forget_contact(contact: Contact, acting_user: User | None) -> tuple[str, int]:
    """Erasing the contact deletes their tickets (those of their conversations go with them)."""
    tickets = list(Ticket.objects.select_related("account").filter(contact=contact))
    return "tickets", delete_tickets(tickets, acting_user=acting_user, why="contact erased")
