"""The conversation screen's right sidebar, made of sections the apps register (the way channel
packages register their pieces), so the screen names none of them: the CRM's "About this
contact", and next tickets, deals, feedback … Each section loads what it shows with a fixed
number of queries, whatever is associated (a test counts them)."""

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


_sections: dict[str, Section] = {}


def register(section: Section) -> Section:
    _sections[section.key] = section
    return section


@dataclass(frozen=True)
class Shown:
    section: Section
    data: dict[str, Any]


def sections_for(conversation: Any, user: Any) -> list[Shown]:
    """The sections with something to show for this conversation, in their order."""
    shown = []
    for section in sorted(_sections.values(), key=lambda s: (s.order, s.key)):
        data = section.load(conversation, user)
        if data is not None:
            shown.append(Shown(section, data))
    return shown
