"""The site's signed identity: one hash vouches for exactly one (id, email, expiry), expires when
the site says so, and is checked whole."""

from __future__ import annotations

import hashlib
import hmac
import time

import pytest

from samtale.channels.chat.identity import identity_hash, identity_message, verified_identity

SECRET = "widget-secret"


def test_values_holding_the_separator_sign_different_messages() -> None:
    # with "<id>|<email>" these two shared one hash: a user could sign in as the other
    assert identity_message("4|x", "y@example.com") != identity_message("4", "x|y@example.com")
    signed = {"id": "4|x", "email": "y@example.com", "hash": identity_hash(SECRET, "4|x", "y@example.com")}
    assert verified_identity(SECRET, signed) == ("4|x", "y@example.com", "")
    forged = {"id": "4", "email": "x|y@example.com", "hash": signed["hash"]}
    assert verified_identity(SECRET, forged) is None


def test_the_message_is_the_documented_bytes() -> None:
    """What a site writes in any language: each value after its length in UTF-8 bytes."""
    assert identity_message("42", "ada@example.com") == b"2:42|15:ada@example.com|"
    assert identity_message("ø", "", "1900000000") == "2:ø|0:|1900000000".encode()
    by_hand = hmac.new(SECRET.encode(), b"2:42|15:ada@example.com|", hashlib.sha256).hexdigest()
    assert identity_hash(SECRET, "42", "ada@example.com") == by_hand


def test_the_old_ambiguous_form_is_not_accepted() -> None:
    old = hmac.new(SECRET.encode(), b"42|ada@example.com", hashlib.sha256).hexdigest()
    assert verified_identity(SECRET, {"id": "42", "email": "ada@example.com", "hash": old}) is None


def test_an_identity_with_an_expiry_holds_until_then_and_the_expiry_is_signed() -> None:
    soon = int(time.time()) + 3600
    signed = {"id": "42", "email": "ada@example.com", "expires": soon,
              "hash": identity_hash(SECRET, "42", "ada@example.com", soon)}  # fmt: skip
    assert verified_identity(SECRET, signed) == ("42", "ada@example.com", "")
    assert verified_identity(SECRET, {**signed, "expires": str(soon)}) is not None  # a string of digits too
    assert verified_identity(SECRET, signed, at=soon) is None  # expired
    assert verified_identity(SECRET, {**signed, "expires": soon + 86400}) is None  # extended by the visitor
    without = {k: v for k, v in signed.items() if k != "expires"}
    assert verified_identity(SECRET, without) is None  # the expiry cannot be dropped either


@pytest.mark.parametrize(
    "change",
    [{"expires": -5}, {"expires": 1.5}, {"expires": True}, {"expires": "10**30"}, {"expires": 10**30},
     {"id": "x" * 255}, {"email": ["a"]}, {"hash": {"x": 1}}, {"name": "n" * 300}, {"hash": "é"}, {"hash": "\udcff"}, {"id": "\udcff"}, {"name": "\ud800"}],
)  # fmt: skip
def test_malformed_identities_are_refused(change: dict[str, object]) -> None:
    signed = {"id": "42", "email": "ada@example.com", "hash": identity_hash(SECRET, "42", "ada@example.com")}
    assert verified_identity(SECRET, signed) is not None
    assert verified_identity(SECRET, {**signed, **change}) is None


def test_another_widgets_secret_does_not_verify() -> None:
    signed = {"id": "42", "email": "ada@example.com", "hash": identity_hash(SECRET, "42", "ada@example.com")}
    assert verified_identity("another secret", signed) is None
