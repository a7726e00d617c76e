"""F2: with Norwegian chosen, no screen shows English. Every screen is rendered for a Norwegian
super admin (so every settings page opens) and its visible text — text nodes and the attributes a
person sees or hears (title, placeholder, aria-label, alt, button values) — is checked against the
catalogue: no English msgid that has a Norwegian translation may appear, nor raw values that were
never meant to be read ("None", permission keys, "localtime")."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import polib
import pytest
from django.test import Client

from samtale.accounts.models import PERMISSIONS
from samtale.inbox import actions
from tests.conftest import World

PO = Path(__file__).resolve().parents[1] / "src/samtale/locale/nb/LC_MESSAGES/django.po"
SHOWN_ATTRIBUTES = {"title", "placeholder", "aria-label", "alt", "label"}
# words that are the same in both languages, or names
SAME_IN_BOTH = {
    "Email",
    "E-post",
    "Chat",
    "Messenger",
    "Samtale",
    "Status",
    "Admin",
    "Service",
    "Bot",
    "OK",
    "Support",
    "English",
}  # the language chooser names each language in itself
NEVER_SHOWN = {"None", "True", "False", "localtime", "posixrules", "Factory", *PERMISSIONS}


class VisibleText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.skip = 0
        self.texts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "style", "template"}:
            self.skip += 1
        shown = dict(attrs)
        for name in SHOWN_ATTRIBUTES:
            if shown.get(name):
                self.texts.append(str(shown[name]))
        if tag == "input" and shown.get("type") in {"submit", "button"} and shown.get("value"):
            self.texts.append(str(shown["value"]))

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style", "template"} and self.skip:
            self.skip -= 1

    def handle_data(self, data: str) -> None:
        if not self.skip and data.strip():
            self.texts.append(" ".join(data.split()))


def visible(html: str) -> list[str]:
    parser = VisibleText()
    parser.feed(html)
    return parser.texts


def english_strings() -> set[str]:
    """Msgids whose Norwegian differs, as they would read on a page (placeholders cut out)."""
    out = set()
    for entry in polib.pofile(str(PO)):
        for msgid, msgstr in [(entry.msgid, entry.msgstr), (entry.msgid_plural, entry.msgstr_plural.get(1, ""))]:
            if not msgid or msgid == msgstr or msgid in SAME_IN_BOTH:
                continue
            for part in re.split(r"%\(\w+\)[sd]|\{\{.*?\}\}|%s", msgid):
                part = " ".join(part.split()).strip(" .,:;…()—-")
                if len(re.sub(r"\W", "", part)) >= 3:
                    out.add(part)
    return out


@pytest.fixture
def norwegian(world: World) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="nb")
    client.force_login(world.admin)
    assert client.post("/language/", {"language": "nb"}).status_code == 302
    return client


def screens(world: World) -> list[str]:
    c = world.inbound("Hjelp med faktura", text="Hei, fakturaen er feil.", sender="kari@example.com", name="Kari")
    actions.add_comment(c, acting_user=world.agent, text="@Alice Admin se på denne")
    chat = world.inbound("", text="Hei fra chatten", sender="", channel=world.chat)
    from samtale.inbox.models import CustomView

    actions.create_custom_view(
        world.support, acting_user=world.admin, name="Fakturaer", filters=_filters("faktura"), shared=True
    )
    view = CustomView.objects.get(name="Fakturaer")
    inbox = f"/inbox/{world.support.pk}"
    from samtale.inbox.queries import VIEW_KEYS

    urls = [f"{inbox}/v/{key}/" for key in VIEW_KEYS]
    urls += [
        f"{inbox}/v/all_open/c/{c.pk}/", f"{inbox}/v/all_open/c/{chat.pk}/", f"{inbox}/v/{view.key}/",
        f"{inbox}/v/all_open/?q=faktura&status=open&assignee=me&date_from=2026-01-01",
        f"{inbox}/views/edit/", "/notifications/", "/me/status/", f"/c/{c.pk}/owner/",
        "/settings/", "/settings/teams/", "/settings/inboxes/", "/settings/availability/",
        "/settings/availability-management/", f"/settings/users/{world.agent.pk}/availability/",
        "/settings/password/", "/settings/tokens/", "/settings/mail-intake/",
        f"/settings/channels/{world.chat.pk}/chat/", f"/settings/channels/{world.chat.pk}/chat/flows/new/",
    ]  # fmt: skip
    return urls


def _filters(q: str):  # type: ignore[no-untyped-def]
    from samtale.inbox.queries import Filters

    return Filters.from_mapping({"q": q})


def test_no_screen_shows_english_when_norwegian_is_chosen(world: World, norwegian: Client) -> None:
    english = english_strings()
    assert len(english) > 300  # the catalogue was read
    found: dict[str, list[str]] = {}
    for url in screens(world):
        response = norwegian.get(url, HTTP_HX_REQUEST="true" if "/owner/" in url else "")
        assert response.status_code == 200, url
        assert response["Content-Language"] == "nb", url
        for text in visible(response.content.decode()):
            wrong = [e for e in english if e == text or (" " in e and len(e) > 12 and e in text)]
            wrong += [w for w in NEVER_SHOWN if re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", text)]
            if wrong:
                found.setdefault(url, []).append(f"{text!r} ({', '.join(sorted(wrong))})")
    assert found == {}, "\n".join(f"{url}: {texts}" for url, texts in found.items())


def test_the_login_page_follows_the_browsers_language(world: World) -> None:
    english = english_strings()
    page = Client(HTTP_ACCEPT_LANGUAGE="nb-NO,nb;q=0.9").get("/login/").content.decode()
    texts = visible(page)
    assert [t for t in texts if t in english] == []
    assert any("Logg inn" in t for t in texts)


ROOT = Path(__file__).resolve().parents[1] / "src/samtale"
# what templates may say as it is in both languages: the product, language names, key caps, protocols
AS_IS = {"Samtale", "English", "Norsk bokmål", "IMAP", "Ctrl", "Enter", "Esc", "login-page"}


def untranslated_template_text(source: str) -> list[str]:
    """Literal words in a template that no translate tag covers (code samples and example values
    in placeholders excepted)."""
    s = re.sub(r"\{#.*?#\}|\{%\s*comment\s*%\}.*?\{%\s*endcomment\s*%\}", " ", source, flags=re.S)
    s = re.sub(r"\{%\s*blocktranslate.*?\{%\s*endblocktranslate\s*%\}", " ", s, flags=re.S)
    s = re.sub(r"<(script|style|pre|code)\b.*?</\1>", " ", s, flags=re.S)
    s = re.sub(r"\{%.*?%\}|\{\{.*?\}\}", " ", s, flags=re.S)
    found = []
    for name, value in re.findall(r'\b(title|placeholder|aria-label|alt)="([^"]*)"', s):
        if re.search(r"[A-Za-z]{2,}", value) and not re.fullmatch(r"[\w.:/…-]+\.(com|ics)", value):
            found.append(f'{name}="{value}"')
    for line in re.sub(r"<[^>]*>", "\n", s).split("\n"):
        words = set(re.findall(r"[A-Za-zæøåÆØÅ][\w-]+(?: bokmål)?", re.sub(r"&#?\w+;", " ", line)))
        if words - AS_IS:
            found.append(line.strip())
    return found


def test_templates_have_no_text_outside_translation_tags() -> None:
    templates = list(ROOT.rglob("*.html"))
    assert len(templates) > 20
    found = {str(p.relative_to(ROOT)): untranslated_template_text(p.read_text()) for p in templates}
    assert {path: lines for path, lines in found.items() if lines} == {}
    # the check itself finds what it is for
    assert untranslated_template_text('<button title="Close">Save</button>') == ['title="Close"', "Save"]
    assert untranslated_template_text('{% translate "Save" %} <b>{{ name }}</b> · Samtale') == []


def test_errors_are_norwegian_and_name_permissions_by_their_label(world: World) -> None:
    message = world.first_message(world.inbound("Skjul meg"))
    client = Client()
    client.force_login(world.noperm)
    client.post("/language/", {"language": "nb"})
    r = client.post(f"/m/{message.pk}/hide/", HTTP_HX_REQUEST="true")
    assert r.status_code == 403
    assert r.content.decode() == "Du trenger tillatelsen «skjule meldinger»."
    r = client.post(
        f"/settings/users/{world.agent.pk}/availability/hours/", {"weekday": "1", "start": "8:00", "end": "8:00"}
    )
    assert (
        r.status_code == 403 and r.content.decode() == "Bare brukeren selv eller en superadministrator kan endre dette."
    )


def test_no_translation_call_hides_inside_an_f_string() -> None:
    """makemessages (xgettext) does not look inside f-string expressions: a `_("…")` there is never
    put in the catalogue, so it shows in English in Norwegian (three did, in the Python-written
    thread entries and list rows)."""
    import io
    import tokenize

    source = Path(__file__).resolve().parents[1] / "src" / "samtale"
    call = re.compile(r"\{[^{}]*\b(?:_|gettext|ngettext|pgettext|gettext_lazy)\(")
    found = []
    for path in source.rglob("*.py"):
        tokens = tokenize.generate_tokens(io.StringIO(path.read_text()).readline)
        for token in tokens:
            f_string = token.type == tokenize.STRING and token.string.lstrip("rRbB").lower().startswith("f")
            if f_string and call.search(token.string):
                found.append(f"{path.relative_to(source)}:{token.start[0]}")
    assert found == [], found
