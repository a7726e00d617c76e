"""Icons are inline SVG drawn by the app, never glyphs from whatever fonts a machine has (an emoji
paperclip was an empty box where no emoji font is installed)."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from pathlib import Path

from django.test import Client

from samtale.accounts.models import User
from samtale.channels.email.parse import Part
from samtale.inbox import actions
from tests.conftest import World

ROOT = Path(__file__).resolve().parents[1] / "src" / "samtale"
# select options hold text only: an owner's availability dot there is a character (and is read out
# with the option's text); these two are in every font the browsers ship with
IN_OPTIONS = {"●", "○"}


def _drawn_glyph(ch: str) -> bool:
    """A pictograph or an arrow (used as an icon), not a letter, a digit or ≤."""
    code = ord(ch)
    arrow = 0x2190 <= code <= 0x21FF or 0x27F0 <= code <= 0x297F
    return code > 0x2000 and (unicodedata.category(ch) == "So" or arrow)


def test_templates_and_scripts_draw_no_symbol_glyphs() -> None:
    found = []
    for path in [*ROOT.rglob("*.html"), *ROOT.rglob("*.js"), *ROOT.rglob("*.css")]:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for ch in line:
                if _drawn_glyph(ch) and ch not in IN_OPTIONS:
                    found.append(f"{path.relative_to(ROOT)}:{number}: {ch} ({unicodedata.name(ch, '?')})")
    assert not found, "use {% icon %} (inline SVG) instead:\n" + "\n".join(found)


def test_an_attachment_is_shown_with_the_paperclip_icon(world: World, client_for: Callable[[User], Client]) -> None:
    inbound = actions.InboundMessage(
        sender_address="kunde@example.com", subject="Files", text="See attached",
        attachments=[Part("report.pdf", "application/pdf", b"%PDF-1.4 report")],
    )  # fmt: skip
    conversation = actions.receive_inbound(world.email, inbound).conversation
    page = client_for(world.agent).get(f"/inbox/{world.support.pk}/v/all_open/c/{conversation.pk}/")
    html = page.content.decode()
    assert page.status_code == 200
    link = html[html.index('download="report.pdf"') :][:400]
    assert '<svg class="icon"' in link and "report.pdf</a>" in link
    assert "📎" not in html
