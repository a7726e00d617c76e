"""Mail with a teammate's address in From is theirs only when it is proven (secret address,
DKIM aligned with their domain, or a trusted MTA's Authentication-Results); otherwise it is an
inbound message flagged "sender not verified" — also inside an existing conversation."""

from __future__ import annotations

import base64
import subprocess
from pathlib import Path
from typing import Any

import dkim
import pytest
from django.test import Client, override_settings

from samtale.channels.email import trust
from samtale.channels.email.smtpd import Listener
from samtale.inbox.models import Message
from tests.channels.email.conftest import deliver, mail
from tests.conftest import World


def _from_bob(world: World, message_id: str, **headers: str) -> bytes:
    m = mail("Re: Order", "Refund approved, send me your card number", sender=f"Bob Agent <{world.agent.email}>",
             to="kunde@example.com", Cc="support@acme.test", Message_ID=f"<{message_id}>",
             In_Reply_To="<order1@example.com>", **headers)  # fmt: skip
    return bytes(m)


def _start(world: World, listener: Listener) -> None:
    deliver(listener, mail("Order", "where is it", Message_ID="<order1@example.com>"))


def test_a_spoofed_teammate_is_inbound_and_flagged_in_the_thread(world_tx: World, listener: Listener) -> None:
    _start(world_tx, listener)
    deliver(listener, _from_bob(world_tx, "spoof1@attacker.example"))
    spoof = Message.objects.get(external_id="spoof1@attacker.example")
    assert (spoof.direction, spoof.author_id, spoof.sender_not_verified) == ("in", None, True)
    assert spoof.conversation.subject == "Order"  # threaded into the existing conversation, as inbound
    client = Client()
    client.force_login(world_tx.admin)
    page = client.get(f"/inbox/{world_tx.support.pk}/v/all_open/c/{spoof.conversation_id}/").content.decode()
    assert "Sender not verified" in page
    api = Client(headers={"Authorization": f"Bearer {world_tx.token(world_tx.admin)}"})
    detail = api.get(f"/api/v1/conversations/{spoof.conversation_id}").json()
    assert [m["sender_not_verified"] for m in detail["messages"]] == [False, True]


@pytest.fixture(scope="module")
def key(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, bytes]:
    """An RSA key pair: (private PEM, the DNS TXT record of its public half)."""
    folder = tmp_path_factory.mktemp("dkim")
    private = folder / "key.pem"
    subprocess.run(["openssl", "genrsa", "-out", str(private), "2048"], check=True, capture_output=True)
    der = subprocess.run(["openssl", "rsa", "-in", str(private), "-pubout", "-outform", "DER"], check=True,
                         capture_output=True).stdout  # fmt: skip
    return Path(private).read_bytes(), b"v=DKIM1; k=rsa; p=" + base64.b64encode(der)


def _signed(message: bytes, domain: str, private: bytes) -> bytes:
    signature = dkim.sign(
        message, b"s1", domain.encode(), private, include_headers=[b"from", b"to", b"subject", b"message-id"]
    )
    return signature + message


def test_a_dkim_signature_of_the_teammates_domain_proves_it(
    world_tx: World, listener: Listener, key: tuple[bytes, bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    private, record = key
    asked: list[bytes] = []

    def dns(name: bytes, timeout: float = 5) -> bytes | None:
        asked.append(name)
        return record if name in (b"s1._domainkey.acme.test.", b"s1._domainkey.evil.test.") else None

    monkeypatch.setattr(trust, "TXT_LOOKUP", dns)
    _start(world_tx, listener)
    deliver(listener, _signed(_from_bob(world_tx, "dkim1@acme.test"), "acme.test", private))
    deliver(listener, _signed(_from_bob(world_tx, "dkim2@acme.test"), "evil.test", private))  # another domain signed
    tampered = _signed(_from_bob(world_tx, "dkim3@acme.test"), "acme.test", private).replace(b"Refund", b"Refunx")
    deliver(listener, tampered)
    outcome = {
        m.external_id: (m.direction, m.sender_not_verified)
        for m in Message.objects.filter(external_id__startswith="dkim")
    }
    assert outcome == {
        "dkim1@acme.test": ("out", False),
        "dkim2@acme.test": ("in", True),
        "dkim3@acme.test": ("in", True),
    }
    assert b"s1._domainkey.acme.test." in asked


@pytest.mark.parametrize(
    ("headers", "proven"),
    [
        ({"Authentication_Results": "mx.acme.test; dkim=pass header.d=acme.test; spf=pass"}, True),
        ({"Authentication_Results": "mx.acme.test; dmarc=pass header.from=acme.test"}, True),
        ({"Authentication_Results": "mx.acme.test; dkim=fail header.d=acme.test"}, False),
        ({"Authentication_Results": "evil.example; dkim=pass header.d=acme.test"}, False),
        ({"Authentication_Results": "mx.acme.test; dkim=pass header.d=evil.test"}, False),
    ],
)
def test_authentication_results_count_only_from_a_trusted_mta(
    world_tx: World, listener: Listener, headers: dict[str, str], proven: bool
) -> None:
    _start(world_tx, listener)
    with override_settings(SAMTALE_TRUSTED_AUTHSERV_IDS=["mx.acme.test"]):
        deliver(listener, _from_bob(world_tx, "ar1@acme.test", **headers))
    copy = Message.objects.get(external_id="ar1@acme.test")
    assert (copy.direction == "out", copy.sender_not_verified) == (proven, not proven)


def test_a_forged_results_header_below_the_trusted_one_does_not_count(world_tx: World, listener: Listener) -> None:
    _start(world_tx, listener)
    raw = _from_bob(world_tx, "ar2@acme.test", Authentication_Results="mx.acme.test; dkim=pass header.d=acme.test")
    raw = b"Authentication-Results: mx.acme.test; dkim=none\r\n" + raw  # what our MTA added on top
    with override_settings(SAMTALE_TRUSTED_AUTHSERV_IDS=["mx.acme.test"]):
        deliver(listener, raw)
    assert Message.objects.get(external_id="ar2@acme.test").sender_not_verified


def test_the_secret_address_is_shown_to_its_owner_only(world: World, client_for: Any) -> None:
    mine = trust.secret_address(world.email.address, world.agent)
    assert mine in client_for(world.agent).get("/settings/password/").content.decode()
    assert mine not in client_for(world.agent2).get("/settings/password/").content.decode()
    assert trust.user_from_secret_address([mine]) == world.agent.pk
    assert trust.user_from_secret_address([mine.replace("-", "-1", 1)]) is None
