"""Stored XSS and the Content-Security-Policy: user-controlled text is data, never markup, and
every page forbids inline script (the browser tests fail on any policy violation)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from samtale.accounts import actions as account_actions
from samtale.inbox import actions
from tests.conftest import PASSWORD, World

NASTY = '</script><script>window.__x=1</script><img src=x onerror="alert(1)">'
SRC = Path(__file__).resolve().parent.parent / "src" / "samtale"


def test_a_name_with_a_script_tag_is_data_in_the_mention_list(world: World, client_for: Any) -> None:
    mallory = account_actions.create_user(
        world.account, acting_user=world.admin, email="mallory@acme.test", name=NASTY, password=PASSWORD
    )
    actions.add_inbox_member(world.support, acting_user=world.admin, user=mallory)
    page = client_for(world.agent).get(f"/inbox/{world.support.pk}/").content.decode()
    assert NASTY not in page and "<script>window.__x" not in page
    data = re.search(r'<script id="mention-members" type="application/json">(.*?)</script>', page, re.S)
    assert data is not None
    assert NASTY in [m["name"] for m in json.loads(data.group(1))]


def test_every_page_carries_a_policy_without_inline_script(world: World, client_for: Any) -> None:
    client = client_for(world.admin)
    for url in (
        "/login/",
        f"/inbox/{world.support.pk}/",
        "/settings/",
        "/settings/availability/",
        "/settings/mail-intake/",
    ):
        policy = client.get(url)["Content-Security-Policy"]
        directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
        assert directives["script-src"] == "'self'", url
        assert directives["object-src"] == "'none'" and directives["frame-ancestors"] == "'none'"


def test_no_template_has_an_inline_script_or_event_handler() -> None:
    offenders = []
    for template in SRC.rglob("templates/**/*.html"):
        text = template.read_text()
        for match in re.finditer(r"<script\b[^>]*>", text):
            if "src=" not in match.group(0) and 'type="application/json"' not in match.group(0):
                offenders.append(f"{template.name}: {match.group(0)}")
        offenders += [f"{template.name}: {m.group(0)}" for m in re.finditer(r"\son[a-z]+\s*=\s*[\"']", text)]
    assert not offenders, offenders


def test_no_template_marks_user_text_safe() -> None:
    allowed = {
        "transcript.html": "m.html|safe",  # stored sanitized (core.html.sanitize)
        "attached_message.html": "body|safe",  # sanitized in the view (channels/email/views.attached_message)
    }
    for template in SRC.rglob("templates/**/*.html"):
        for match in re.finditer(r"\{\{\s*([^}]*?)\|safe\s*\}\}", template.read_text()):
            assert allowed.get(template.name) == f"{match.group(1).strip()}|safe", f"{template.name}: {match.group(0)}"
