"""How a survey reaches the customer: the channel packages (above this app) register a sender
for their kind in their AppConfig.ready, so feedback names none of them. A kind without one
cannot carry surveys (its conversations' surveys are skipped, saying so)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Outgoing:
    """What a channel needs to put the survey in front of the customer."""

    survey: Any  # feedback.models.Survey (with conversation, inbox, contact loaded)
    token: str  # the signed token of the survey's link
    page_url: str  # the comment page (no score chosen)
    score_urls: list[tuple[int, str]]  # 1..5, each the page with that score chosen
    question: str
    second_question: str
    language: str


class NotDeliverable(Exception):
    """The survey cannot go on this conversation now (nowhere to send it): skipped, not failed."""


_senders: dict[str, Callable[[Outgoing], None]] = {}
_languages: dict[str, Callable[[Any], str]] = {}


def register_sender(kind: str, send: Callable[[Outgoing], None], language: Callable[[Any], str] | None = None) -> None:
    """`send(outgoing)` delivers it or raises: NotDeliverable (skipped) or anything else (failed,
    the worker's log says why). `language(conversation)`: the language the customer uses on this
    channel when the channel knows better than the contact's record (a chat visitor's browser)."""
    _senders[kind] = send
    if language is not None:
        _languages[kind] = language


def sender_for(kind: str) -> Callable[[Outgoing], None] | None:
    return _senders.get(kind)


def channel_language(kind: str, conversation: Any) -> str:
    found = _languages.get(kind)
    return found(conversation) if found is not None else ""
