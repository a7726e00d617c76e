"""Chatflows (E3): a bot greets a visitor, asks, branches on the answers, and hands over to the team.

A flow is a list of steps, each a dict:

    {"id": "topic", "type": "question", "text": "What is it about?", "buttons": ["Sales", "Support"],
     "save_to": "", "next": ""}
    {"id": "route", "type": "branch", "on": "topic", "cases": [{"equals": "Sales", "next": "sales"}],
     "else": "support"}
    {"id": "sales", "type": "handover", "text": "Connecting you with sales…"}
    {"id": "bye", "type": "end", "text": "Thanks, goodbye!"}

`message` says its text; `question` says it and waits for the visitor's answer (free text, or one of
its buttons), which may be saved to the contact (`save_to`: name, email or phone); `branch` goes on
by an earlier answer; `handover` sends the conversation to the team (routed by the channel's rule,
B10); `end` says goodbye (the conversation closes itself 30 minutes after the visitor left, C9).
`next` is the step that follows ("" : the one below it). A flow runs at most MAX_RUN steps before it
waits, so a loop in the steps cannot spin.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from samtale.channels.chat import events
from samtale.channels.chat.models import Chatflow, ChatSession, ChatWidget, Visitor
from samtale.core.clock import now
from samtale.core.events import publish_on_commit
from samtale.crm.actions import set_contact_fields
from samtale.inbox import actions as inbox
from samtale.inbox.models import Message

STEP_TYPES = ("message", "question", "branch", "handover", "end")
SAVE_TO = ("", "name", "email", "phone")
STEP_ID = re.compile(r"[A-Za-z0-9_-]{1,40}\Z")
MAX_STEPS = 50
MAX_RUN = 50
MAX_BUTTONS = 10


def _text(value: Any, limit: int, what: str) -> str:
    text = str(value or "").strip()
    if len(text) > limit:
        raise ValidationError(_("%(what)s is too long (at most %(n)s characters).") % {"what": what, "n": limit})
    return text


def validate_steps(raw: Any) -> list[dict[str, Any]]:
    """The steps, checked and normalized; a ValidationError names the first problem."""
    if not isinstance(raw, list) or not raw:
        raise ValidationError(_("A chatflow needs at least one step."))
    if len(raw) > MAX_STEPS:
        raise ValidationError(_("A chatflow has at most %(n)s steps.") % {"n": MAX_STEPS})
    steps: list[dict[str, Any]] = []
    for number, item in enumerate(raw, 1):
        if not isinstance(item, dict):
            raise ValidationError(_("Step %(n)s is not a step.") % {"n": number})
        step_id = str(item.get("id") or f"step{number}").strip()
        if not STEP_ID.match(step_id):
            raise ValidationError(_("Step %(n)s: the id may only have letters, digits, - and _.") % {"n": number})
        kind = str(item.get("type") or "")
        if kind not in STEP_TYPES:
            raise ValidationError(_("Step %(n)s: unknown type %(type)s.") % {"n": number, "type": kind[:20]})
        step: dict[str, Any] = {"id": step_id, "type": kind, "text": _text(item.get("text"), 1000, _("A step's text"))}
        if kind in ("message", "question") and not step["text"]:
            raise ValidationError(_("Step %(n)s needs a text.") % {"n": number})
        if kind == "question":
            buttons = item.get("buttons") or []
            if not isinstance(buttons, list) or len(buttons) > MAX_BUTTONS:
                raise ValidationError(_("Step %(n)s: at most %(m)s buttons.") % {"n": number, "m": MAX_BUTTONS})
            step["buttons"] = [b for b in (_text(b, 60, _("A button")) for b in buttons) if b]
            save_to = str(item.get("save_to") or "")
            if save_to not in SAVE_TO:
                raise ValidationError(_("Step %(n)s: answers can be saved to name, email or phone.") % {"n": number})
            step["save_to"] = save_to
        if kind == "branch":
            step["on"] = str(item.get("on") or "")
            cases = item.get("cases") or []
            if not isinstance(cases, list) or len(cases) > 20:
                raise ValidationError(_("Step %(n)s: at most 20 cases.") % {"n": number})
            step["cases"] = [
                {"equals": _text(c.get("equals"), 60, _("A case")), "next": str(c.get("next") or "")}
                for c in cases
                if isinstance(c, dict)
            ]
            step["else"] = str(item.get("else") or "")
        if kind in ("message", "question"):
            step["next"] = str(item.get("next") or "")
        steps.append(step)
    ids = [s["id"] for s in steps]
    if len(set(ids)) != len(ids):
        raise ValidationError(_("Two steps have the same id."))
    questions = {s["id"] for s in steps if s["type"] == "question"}
    for step in steps:
        targets = [step.get("next", ""), step.get("else", ""), *(c["next"] for c in step.get("cases", []))]
        for target in targets:
            if target and target not in ids:
                raise ValidationError(
                    _("Step %(id)s goes to %(to)s, which is not a step.") % {"id": step["id"], "to": target}
                )
        if step["type"] == "branch" and step["on"] not in questions:
            raise ValidationError(_("Step %(id)s must branch on a question's answer.") % {"id": step["id"]})
    return steps


def pick(widget: ChatWidget, url: str, available: bool) -> Chatflow | None:
    """The chatflow that greets a visitor on `url` now: the first enabled one (in order) whose page
    match and availability condition hold."""
    path = url[:2000]
    try:
        split = urlsplit(path)
        page = (split.netloc + split.path + ("?" + split.query if split.query else "")).lower()
    except ValueError:
        page = path.lower()
    for flow in widget.chatflows.filter(enabled=True):
        if flow.url_contains and flow.url_contains.lower() not in page:
            continue
        if (flow.when == "away" and available) or (flow.when == "online" and not available):
            continue
        return flow
    return None


def chosen(widget: ChatWidget, flow_id: object) -> Chatflow | None:
    """The flow the widget was greeted by (it says which), if it is this widget's and enabled."""
    if not isinstance(flow_id, int) or isinstance(flow_id, bool):
        return None
    return widget.chatflows.filter(pk=flow_id, enabled=True).first()


def _by_id(flow: Chatflow) -> dict[str, dict[str, Any]]:
    return {s["id"]: s for s in flow.steps}


def _after(flow: Chatflow, step: dict[str, Any], target: str = "") -> str:
    if target:
        return target
    ids = [s["id"] for s in flow.steps]
    index = ids.index(step["id"])
    return ids[index + 1] if index + 1 < len(ids) else ""


def run(flow: Chatflow, start: str, answers: dict[str, str]) -> tuple[list[dict[str, Any]], str, str]:
    """Say what the flow says from step `start` until it waits: (what it says, the step now waiting
    for an answer or "", and "handover"/"end"/"" for how it stopped)."""
    steps = _by_id(flow)
    said: list[dict[str, Any]] = []
    current = start
    for _i in range(MAX_RUN):
        step = steps.get(current)
        if step is None:
            return said, "", "end"
        kind = step["type"]
        if kind == "message":
            said.append({"text": step["text"], "buttons": []})
            current = _after(flow, step, step.get("next", ""))
        elif kind == "question":
            said.append({"text": step["text"], "buttons": step.get("buttons", [])})
            return said, step["id"], ""
        elif kind == "branch":
            answer = answers.get(step["on"], "").strip().lower()
            target = next((c["next"] for c in step["cases"] if c["equals"].strip().lower() == answer), step["else"])
            current = target or _after(flow, step)
        else:  # handover, end
            if step["text"]:
                said.append({"text": step["text"], "buttons": []})
            return said, "", kind
    return said, "", "end"


def opening(flow: Chatflow) -> tuple[list[dict[str, Any]], str, str]:
    return run(flow, flow.steps[0]["id"] if flow.steps else "", {})


def buttons_now(chat: ChatSession | None) -> list[str]:
    """The buttons of the question the chat's flow is waiting on (shown again after a reload)."""
    if chat is None or chat.flow is None or not chat.flow_step or not chat.conversation.bot:
        return []
    step = _by_id(chat.flow).get(chat.flow_step)
    return list(step.get("buttons", [])) if step and step["type"] == "question" else []


def on_visitor_message(
    chat: ChatSession, visitor: Visitor, message: Message, starting: Chatflow | None
) -> list[dict[str, Any]]:
    """The flow's turn after the visitor's message (inside its transaction). A new chat greeted by
    a flow first stores what the flow had said in the widget before the visitor answered."""
    conversation = chat.conversation
    if starting is not None:
        said, waiting, stop = opening(starting)
        earlier = message.created_at - timedelta(milliseconds=len(said) + 1)
        for number, line in enumerate(said):
            inbox.send_automated(
                conversation, text=line["text"], sender_name=starting.name,
                at=earlier + timedelta(milliseconds=number),
            )  # fmt: skip
        chat.flow, chat.flow_step, chat.flow_answers = starting, waiting, {}
        if stop:  # the flow had nothing to ask: it handed over or ended before the visitor wrote
            _stopped(chat, stop)
            _save_state(chat)
            return said
        _save_state(chat)
    flow = chat.flow
    if flow is None or not chat.flow_step or not conversation.bot:
        return []
    step = _by_id(flow).get(chat.flow_step)
    if step is None or step["type"] != "question":
        chat.flow_step = ""
        _save_state(chat)
        return []
    answer = message.text.strip()[:500]
    if step.get("save_to"):
        problem = _save_answer(visitor, step["save_to"], answer)
        if problem:
            _say(chat, [{"text": problem, "buttons": []}, {"text": step["text"], "buttons": step.get("buttons", [])}])
            return []
    chat.flow_answers = {**chat.flow_answers, step["id"]: answer}
    said, waiting, stop = run(flow, _after(flow, step, step.get("next", "")), chat.flow_answers)
    _say(chat, said)
    chat.flow_step = waiting
    if stop:
        _stopped(chat, stop)
    _save_state(chat)
    return said


def _save_answer(visitor: Visitor, field: str, answer: str) -> str:
    """Save an answer to the visitor's contact; the problem with it ("" when saved)."""
    if field == "email":
        try:
            validate_email(answer)
        except ValidationError:
            return _("That does not look like an email address.")
        Visitor.objects.filter(pk=visitor.pk).update(email=answer.lower())
        visitor.email = answer.lower()
    if not answer:
        return _("Please answer the question.")
    if visitor.contact is not None and not (visitor.verified and field == "email"):
        set_contact_fields(visitor.contact, acting_user=None, **{field: answer})
    if field == "name":
        Visitor.objects.filter(pk=visitor.pk).update(name=answer[:200])
    return ""


def _say(chat: ChatSession, said: list[dict[str, Any]]) -> None:
    for line in said:
        inbox.send_automated(chat.conversation, text=line["text"], sender_name=chat.flow.name if chat.flow else "")
    if said and said[-1]["buttons"]:
        publish_on_commit(events.to_visitor(chat.visitor.group, events.BUTTONS, buttons=said[-1]["buttons"]))


def _stopped(chat: ChatSession, how: str) -> None:
    chat.flow_step = ""
    if how == "handover":
        chat.handed_over_at = now()
        inbox.hand_over_from_bot(chat.conversation)


def _save_state(chat: ChatSession) -> None:
    ChatSession.objects.filter(pk=chat.pk).update(
        flow=chat.flow, flow_step=chat.flow_step, flow_answers=chat.flow_answers, handed_over_at=chat.handed_over_at
    )
