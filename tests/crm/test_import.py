"""Contacts imported from CSV: UTF-8 (with a BOM) and Windows-1252, ; or , read from the file,
columns guessed and mapped, a preview, duplicates by email updated or skipped, every bad row
reported (downloadable) without stopping the others, and hostile files refused or imported with
a per-row error: too large, 10,000 columns, binary, a formula cell, bytes of another encoding,
a quote never closed. Resumable after a crash from the last chunk committed."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from samtale.crm import actions, imports
from samtale.crm.models import Contact, ContactImport, ImportStatus
from samtale.crm.tasks import run_contact_import
from tests.conftest import World


def _upload(client: Client, content: bytes, name: str = "kunder.csv") -> Any:
    return client.post("/contacts/import/", {"file": SimpleUploadedFile(name, content, content_type="text/csv")})


def _imported(
    world: World, content: bytes, *, duplicates: str = "update", mapping: dict[str, str] | None = None
) -> ContactImport:
    made = imports.upload(
        world.account, acting_user=world.admin, name="f.csv", stream=io.BytesIO(content), size=len(content)
    )
    imports.start(made, acting_user=world.admin, mapping=mapping or made.mapping, duplicates=duplicates)
    run_contact_import.call(made.pk)
    made.refresh_from_db()
    return made


def test_upload_preview_map_and_import_through_http(
    world: World, client_for: Any, django_capture_on_commit_callbacks: Any
) -> None:
    actions.create_contact(world.account, acting_user=None, name="Kari Gammel", email="kari@fjord.no")
    content = ("Fornavn;Etternavn;E-post;Telefon;Firma;Stilling;Ukjent\n"
               "Kari;Nordmann;KARI@fjord.no;+47 412 34 567;Fjord AS;Sjef;x\n"
               "Øystein;Ås;oystein@fjord.no;ring meg;Fjord AS;;y\n"
               "Ola;Olsen;ola@example.com;;;Selger;z\n").encode("cp1252")  # fmt: skip
    client = client_for(world.admin)
    response = _upload(client, content)
    assert response.status_code == 302
    made = ContactImport.objects.get()
    assert (made.encoding, made.delimiter) == ("cp1252", ";")
    assert made.mapping == {
        "0": "first_name",
        "1": "last_name",
        "2": "email",
        "3": "phone",
        "4": "company",
        "5": "job_title",
    }
    page = client.get(f"/contacts/import/{made.pk}/").content.decode()
    assert "Øystein" in page and 'name="column_6"' in page  # the preview, read right
    with django_capture_on_commit_callbacks(execute=False) as queued:
        started = client.post(
            f"/contacts/import/{made.pk}/start/",
            {**{f"column_{k}": v for k, v in made.mapping.items()}, "duplicates": "update"},
        )
    assert started.status_code == 302 and len(queued) == 1  # the task, once committed
    assert run_contact_import.call(made.pk) == "done"
    made.refresh_from_db()
    assert (made.created, made.updated, made.skipped, made.failed) == (1, 1, 0, 1)
    kari = Contact.objects.get(email="kari@fjord.no")
    assert (kari.name, kari.job_title, kari.company.name, kari.phone) == (
        "Kari Nordmann",
        "Sjef",
        "Fjord AS",
        "+4741234567",
    )  # type: ignore[union-attr]
    ola = Contact.objects.get(email="ola@example.com")
    assert ola.job_title == "Selger"
    assert not Contact.objects.filter(first_name="Øystein").exists()  # its bad number: the row is not imported
    report = client.get(f"/contacts/import/{made.pk}/errors.csv")
    rows = list(csv.reader(io.StringIO(b"".join(report.streaming_content).decode())))
    assert rows[0][:3] == ["Row", "Why", "Fornavn"] and rows[1][0] == "3" and "ring meg" in rows[1][1]
    progress = client.get(f"/contacts/import/{made.pk}/").content.decode()
    assert "1 created, 1 updated, 0 skipped, 1 not imported" in progress and "every 1s" not in progress


def test_duplicates_are_skipped_when_chosen_and_within_the_file(world: World) -> None:
    actions.create_contact(world.account, acting_user=None, name="Kari", email="kari@fjord.no")
    made = _imported(world, b"name,email\nKari N,kari@fjord.no\nOla,ola@x.no\nOla Again,OLA@x.no\n", duplicates="skip")
    assert (made.created, made.skipped) == (1, 2)
    assert Contact.objects.get(email="kari@fjord.no").name == "Kari"


def test_a_bom_and_a_utf8_file_with_a_stray_windows_byte(world: World) -> None:
    content = (
        "\ufeffname,email\nÆsa Ørn,aesa@fjord.no\n".encode()
        + b"Bad \xe6 byte,bad@fjord.no\n"
        + "Åse,ase@fjord.no\n".encode()
    )
    made = _imported(world, content)
    assert made.encoding == "utf-8-sig" and made.header == ["name", "email"]
    assert (made.created, made.failed) == (2, 1)
    assert set(Contact.objects.values_list("name", flat=True)) == {"Æsa Ørn", "Åse"}
    assert "not text in the file's encoding" in made.errors.get().message


def test_a_formula_cell_is_refused_and_exported_cells_stay_text(world: World) -> None:
    made = _imported(world, b'name,email\n"=HYPERLINK(""http://evil.example"",""x"")",evil@example.com\nOla,ola@x.no\n')
    assert (made.created, made.failed) == (1, 1) and "formula" in made.errors.get().message


def test_a_quote_never_closed_stops_with_the_rows_before_it_kept(world: World) -> None:
    content = b'name,email\nOla,ola@x.no\n"Never closed,x@x.no\n' + b"Filler line,f@x.no\n" * 20_000
    made = _imported(world, content)
    assert made.status == ImportStatus.FAILED and "quote is never closed" in made.error
    assert list(Contact.objects.values_list("name", flat=True)) == ["Ola"]


def test_hostile_files_are_refused_with_the_reason(world: World, client_for: Any, settings: Any) -> None:
    client = client_for(world.admin)
    wide = (",".join(f"c{n}" for n in range(10_000)) + "\n" + ",".join("x" for _ in range(10_000)) + "\n").encode()
    response = _upload(client, wide)
    assert response.status_code == 400 and "10000 columns" in json.loads(response["X-Field-Errors"])["file"][0]
    response = _upload(client, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    assert response.status_code == 400 and "not a CSV" in response.content.decode()
    response = _upload(client, b"")
    assert response.status_code == 400
    settings.SAMTALE_IMPORT_MAX_BYTES = 2 * 1024 * 1024
    response = _upload(client, b"name\n" + b"x" * (4 * 1024 * 1024))
    assert response.status_code == 400 and "at most 2 MB" in response.content.decode()
    assert not ContactImport.objects.exists()
    assert (
        client_for(world.agent)
        .post("/contacts/import/", {"file": SimpleUploadedFile("a.csv", b"name\nx\n")})
        .status_code
        == 403
    )


def test_a_bad_mapping_is_named_and_another_accounts_import_is_404(world: World, client_for: Any) -> None:
    made = imports.upload(
        world.account, acting_user=world.admin, name="f.csv", stream=io.BytesIO(b"a,b\n1,2\n"), size=8
    )
    client = client_for(world.admin)
    bad = client.post(
        f"/contacts/import/{made.pk}/start/", {"column_0": "email", "column_1": "email", "duplicates": "skip"}
    )
    assert bad.status_code == 400 and "Two columns" in bad.content.decode()
    bad = client.post(f"/contacts/import/{made.pk}/start/", {"column_0": "nonsense", "duplicates": "skip"})
    assert bad.status_code == 400
    bad = client.post(f"/contacts/import/{made.pk}/start/", {"column_0": "job_title", "duplicates": "skip"})
    assert bad.status_code == 400 and "email, the name or the phone" in bad.content.decode()
    outsider = client_for(world.outsider)
    for url in ("", "start/", "errors.csv"):
        assert outsider.get(f"/contacts/import/{made.pk}/{url}").status_code in (404, 405)
        assert outsider.post(f"/contacts/import/{made.pk}/{url}").status_code in (404, 405)


def test_a_crashed_import_resumes_from_the_last_chunk(world: World, monkeypatch: Any) -> None:
    monkeypatch.setattr(imports, "CHUNK", 10)
    content = b"name,email\n" + b"".join(f"P{n},p{n}@x.no\n".encode() for n in range(35))
    made = imports.upload(
        world.account, acting_user=world.admin, name="f.csv", stream=io.BytesIO(content), size=len(content)
    )
    imports.start(made, acting_user=world.admin, mapping=made.mapping, duplicates="update")
    real = imports._values
    calls = {"n": 0}

    def dies_on_the_25th(*args: Any) -> str:
        calls["n"] += 1
        if calls["n"] == 25:
            raise SystemExit("worker killed")
        return real(*args)

    monkeypatch.setattr(imports, "_values", dies_on_the_25th)
    with pytest.raises(SystemExit):
        run_contact_import.call(made.pk)
    made.refresh_from_db()
    assert made.processed == 20 and Contact.objects.count() == 20  # two chunks committed, the third rolled back
    assert run_contact_import.call(made.pk) == "running"  # another runner holds it (it still beats)
    from datetime import timedelta

    from samtale.core.clock import now

    ContactImport.objects.filter(pk=made.pk).update(heartbeat_at=now() - timedelta(minutes=3))
    monkeypatch.setattr(imports, "_values", real)
    assert imports.resume_stalled() == 1
    assert run_contact_import.call(made.pk) == "done"
    made.refresh_from_db()
    assert (made.processed, made.created) == (35, 35) and Contact.objects.count() == 35


def test_an_address_taken_meanwhile_sends_the_chunk_row_by_row(world: World, monkeypatch: Any) -> None:
    """Another contact took one of the chunk's addresses between the look-up and the write (a
    mail arriving at that moment): the chunk is done again row by row, the rest imported."""
    from django.db import IntegrityError

    real = actions.create_prepared_contacts
    raced = []

    def taken(account: Any, **kw: Any) -> Any:
        monkeypatch.setattr(actions, "create_prepared_contacts", real)
        raced.append(True)
        raise IntegrityError("UNIQUE constraint failed: crm_contactidentity")

    monkeypatch.setattr(actions, "create_prepared_contacts", taken)
    made = _imported(world, b"name,email\nKari,kari@x.no\nOla,ola@x.no\nSiri,siri@x.no\n")
    assert raced and (made.created, made.updated, made.failed, made.status) == (3, 0, 0, "done")
    assert sorted(Contact.objects.values_list("email", flat=True)) == ["kari@x.no", "ola@x.no", "siri@x.no"]
    assert made.errors.count() == 0 and made.processed == 3  # nothing counted twice
