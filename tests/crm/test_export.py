"""Contacts exported as CSV: the filtered list only, every property, formula cells neutralised,
UTF-8 with a BOM, streamed in chunks; CRM admins only, with an audit row that keeps no data."""

from __future__ import annotations

import csv
import io
from typing import Any

from samtale.core.models import AuditLog
from samtale.crm import actions, exports
from tests.conftest import World


def _rows(response: Any) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")
    return list(csv.reader(io.StringIO(body[1:])))


def test_the_export_is_the_filtered_list_with_formulas_neutralised(
    world: World, client_for: Any, monkeypatch: Any
) -> None:
    monkeypatch.setattr(exports, "CHUNK", 3)  # several chunks: nothing lost or doubled between them
    plan = actions.define_property(world.account, acting_user=world.admin, label="Plan", type="dropdown",
                                   options="basic: Basic\npro: Pro")  # fmt: skip
    vip = actions.define_property(world.account, acting_user=world.admin, label="VIP", type="checkbox")
    evil = actions.create_contact(world.account, acting_user=None, name="Ærlig Øystein", email="oystein@fjord.no")
    actions.update_contact(evil, acting_user=world.admin, values={
        "job_title": '=HYPERLINK("http://evil.example","click")', "owner": world.agent.pk,
        plan.key: "pro", vip.key: "true",
    })  # fmt: skip
    for n in range(7):
        actions.create_contact(world.account, acting_user=None, name=f"Person {n}", email=f"p{n}@example.com")
    actions.create_contact(world.other_account, acting_user=None, name="Not ours", email="x@evil.test")
    response = client_for(world.admin).get("/contacts/export.csv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = _rows(response)
    header, body = rows[0], rows[1:]
    assert header[:5] == ["id", "name", "first_name", "last_name", "email"] and header[-2:] == [plan.key, vip.key]
    assert len(body) == 8 and "Not ours" not in str(body)
    line = next(r for r in body if r[1] == "Ærlig Øystein")
    record = dict(zip(header, line, strict=True))
    assert record["job_title"].startswith("'=HYPERLINK")  # shown as text, never run
    assert (record["owner"], record[plan.key], record[vip.key]) == ("bob@acme.test", "pro", "true")
    # filtered: only what the list shows
    rows = _rows(client_for(world.admin).get(f"/contacts/export.csv?owner={world.agent.pk}"))
    assert [r[1] for r in rows[1:]] == ["Ærlig Øystein"]
    entry = AuditLog.objects.filter(verb="contact.exported").last()
    assert entry is not None and entry.data["filters"] == {"owner": str(world.agent.pk), "sort": "created"}
    assert "Øystein" not in str(entry.data)


def test_only_crm_admins_export(world: World, client_for: Any) -> None:
    actions.create_contact(world.account, acting_user=None, name="Kari", email="kari@fjord.no")
    assert client_for(world.agent).get("/contacts/export.csv").status_code == 403
    assert not AuditLog.objects.filter(verb="contact.exported").exists()


def test_neutralise_covers_every_formula_start() -> None:
    for start in ("=", "+", "-", "@", "\t", "\r"):
        assert exports.neutralise(f"{start}1+1") == f"'{start}1+1"
    assert exports.neutralise("Kari") == "Kari" and exports.neutralise(None) == ""
