"""The conversation screen's pieces the apps register (the way channel packages register
theirs), so the screen names none of them: sections of the right sidebar (the CRM's "About this
contact", tickets, deals, feedback …), a line under the conversation's title ("head": the
ticket's name) and what the Close button offers ("close": close the ticket too). Each loads
what it shows with a fixed number of queries, whatever is associated (a test counts them)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Section:
    key: str  # unique; also the id of its element ("sidebar-<key>") and its remembered state
    label: Any  # translated when shown
    template: str  # rendered with `section` (this) and `data` (what `load` returned)
    # (conversation, user) → the template's data, or None when the section has nothing to show
    load: Callable[[Any, Any], dict[str, Any] | None]
    order: int = 100
    # "sidebar", "head" (under the title), "close" (the Close control); and the CRM's records:
    # "contact-record", "company-record" (loaded with the contact or company instead)
    place: str = "sidebar"


PLACES = ("sidebar", "head", "close", "contact-record", "company-record")
_sections: dict[str, Section] = {}


def register(section: Section) -> Section:
    if section.place not in PLACES:
        raise ValueError(f"unknown place {section.place!r}")
    _sections[section.key] = section
    return section


@dataclass(frozen=True)
class Shown:
    section: Section
    data: dict[str, Any]


def sections_for(conversation: Any, user: Any, place: str = "sidebar") -> list[Shown]:
    """The pieces of this place with something to show for this conversation, in their order."""
    shown = []
    for section in sorted((s for s in _sections.values() if s.place == place), key=lambda s: (s.order, s.key)):
        data = section.load(conversation, user)
        if data is not None:
            shown.append(Shown(section, data))
    return shown
