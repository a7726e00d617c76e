from __future__ import annotations

import re
from pathlib import Path

from django.test import Client
from django.utils import translation

from tests.conftest import World

PO = Path(__file__).resolve().parents[1] / "src/samtale/locale/nb/LC_MESSAGES/django.po"


def _entries() -> list[tuple[str, str]]:
    text = PO.read_text()
    out = []
    for block in text.split("\n\n")[1:]:
        msgid = "".join(re.findall(r'"(.*)"', block.split("msgstr")[0]))
        msgstrs = re.findall(r'msgstr(?:\[\d\])? ((?:".*"\n?)+)', block)
        for raw in msgstrs:
            out.append((msgid, "".join(re.findall(r'"(.*)"', raw))))
    return out


def test_every_string_has_a_norwegian_translation() -> None:
    entries = _entries()
    assert len(entries) > 150
    untranslated = [msgid for msgid, msgstr in entries if msgid and not msgstr]
    assert untranslated == []


def test_the_compiled_catalogue_is_used() -> None:
    with translation.override("nb"):
        assert translation.gettext("Unassigned") == "Ikke tildelt"
        assert (
            translation.ngettext("%(counter)s conversation", "%(counter)s conversations", 3) == "%(counter)s samtaler"
        )


def test_language_is_chosen_per_user(world: World, client_for) -> None:  # type: ignore[no-untyped-def]
    client: Client = client_for(world.agent)
    response = client.post("/language/", {"language": "nb", "next": f"/inbox/{world.support.pk}/v/all_open/"})
    assert response.status_code == 302
    world.agent.refresh_from_db()
    assert world.agent.language == "nb"
    page = client.get(f"/inbox/{world.support.pk}/v/all_open/")
    assert "Ikke tildelt" in page.content.decode() and page["Content-Language"] == "nb"
    assert client.post("/language/", {"language": "xx"}).status_code == 400
    assert client.post("/language/", {"language": "en", "next": "//evil.example/"})["Location"] == "/"
