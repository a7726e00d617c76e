"""Sign-in: wrong passwords slow down whoever sends them (per client address and email) and never
lock the user out; the client address and https come from trusted proxies only; with
SAMTALE_HTTPS the cookies are secure, HSTS is sent and absolute URLs are https."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import timedelta
from typing import Any

import time_machine
from django.test import Client, override_settings

from samtale.core.clock import now
from tests.conftest import PASSWORD, World


def attempt(ip: str, password: str, **headers: str) -> tuple[Client, str]:
    client = Client(REMOTE_ADDR=ip, **{f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()})
    r = client.post("/login/", {"username": "bob@acme.test", "password": password})
    return client, r.content.decode()


def test_wrong_passwords_back_off_the_sender_and_never_lock_the_user_out(world: World) -> None:
    with time_machine.travel(now(), tick=False) as clock:
        for _ in range(5):
            assert "Try again in" not in attempt("203.0.113.9", "wrong")[1]
        _client, page = attempt("203.0.113.9", "wrong")
        assert "Please enter a correct" in page  # the 6th failure itself is still checked
        _client, page = attempt("203.0.113.9", PASSWORD)
        assert "Try again in 1 seconds" in page  # then it waits; even the right password
        client, _page = attempt("198.51.100.7", PASSWORD)  # the user, from anywhere else: in at once
        assert "_auth_user_id" in client.session
        for expected in (2, 4, 8):
            clock.shift(timedelta(seconds=expected))  # wait it out, fail again: the wait doubles
            attempt("203.0.113.9", "wrong")
            assert f"Try again in {expected} seconds" in attempt("203.0.113.9", "wrong")[1]
        clock.shift(timedelta(minutes=20))
        client, _page = attempt("203.0.113.9", PASSWORD)
        assert "_auth_user_id" in client.session  # success clears the count
        assert "Try again in" not in attempt("203.0.113.9", "wrong")[1]


def test_the_client_address_comes_from_trusted_proxies_only(world: World) -> None:
    with override_settings(SAMTALE_TRUSTED_PROXIES=["10.0.0.0/8"], SAMTALE_LOGIN_FREE_FAILURES=1):
        # behind the proxy, two clients are two buckets
        for _ in range(2):
            attempt("10.0.0.2", "wrong", X_Forwarded_For="203.0.113.5")
        assert "Try again in" in attempt("10.0.0.2", "wrong", X_Forwarded_For="203.0.113.5")[1]
        client, _page = attempt("10.0.0.2", PASSWORD, X_Forwarded_For="203.0.113.6, 10.0.0.9")
        assert "_auth_user_id" in client.session
        # not from a proxy: a made-up X-Forwarded-For does not buy a fresh bucket
        for _ in range(2):
            attempt("198.51.100.1", "wrong", X_Forwarded_For="192.0.2.1")
        assert "Try again in" in attempt("198.51.100.1", "wrong", X_Forwarded_For="192.0.2.99")[1]


def test_https_is_believed_from_a_trusted_proxy_or_configuration_only(world: World, client_for: Any) -> None:
    url = f"/api/v1/users/{world.agent.pk}/calendar"
    auth = {"HTTP_AUTHORIZATION": f"Bearer {world.token(world.agent)}"}
    spoofed = Client(REMOTE_ADDR="198.51.100.1", HTTP_X_FORWARDED_PROTO="https", **auth).get(url).json()
    assert spoofed["published_url"].startswith("http://")
    with override_settings(SAMTALE_TRUSTED_PROXIES=["10.0.0.1/32"]):
        proxied = Client(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_PROTO="https", **auth).get(url).json()
    assert proxied["published_url"].startswith("https://")
    with override_settings(SAMTALE_HTTPS=True):
        configured = Client(**auth).get(url).json()
        page = client_for(world.agent).get("/settings/availability/").content.decode()
    assert configured["published_url"].startswith("https://") and 'value="https://' in page


def test_https_through_a_trusted_proxy_gets_secure_cookies_and_hsts(world: World) -> None:
    with override_settings(SAMTALE_TRUSTED_PROXIES=["10.0.0.1/32"]):
        secure = Client(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_PROTO="https").get("/login/")
        spoofed = Client(REMOTE_ADDR="198.51.100.1", HTTP_X_FORWARDED_PROTO="https").get("/login/")
    assert secure.cookies["csrftoken"]["secure"] is True and "Strict-Transport-Security" in secure.headers
    assert not spoofed.cookies["csrftoken"]["secure"] and "Strict-Transport-Security" not in spoofed.headers


def test_samtale_https_turns_on_secure_cookies_and_hsts() -> None:
    code = "import samtale.settings as s, json; print(json.dumps([s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS]))"
    env = {**os.environ, "SAMTALE_HTTPS": "true"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert json.loads(out) == [True, True, 365 * 24 * 3600]


def test_the_signed_in_user_comes_with_their_membership_and_a_deactivation_still_stops_them(world: World) -> None:
    import pytest
    from django.core.exceptions import PermissionDenied
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from samtale.accounts import actions
    from samtale.accounts.access import forget_membership, membership_of
    from samtale.accounts.backends import MemberBackend

    user = MemberBackend().get_user(world.agent.pk)
    assert user is not None
    with CaptureQueriesContext(connection) as queries:
        assert membership_of(user).account_id == world.account.pk
    assert len(queries) == 0  # read with the user
    actions.deactivate_user(world.agent, acting_user=world.admin)
    forget_membership(user)
    with pytest.raises(PermissionDenied):
        membership_of(user)  # read again: deactivated
    fresh = MemberBackend().get_user(world.agent.pk)
    if fresh is not None:  # loaded with its membership, which still says no
        with pytest.raises(PermissionDenied):
            membership_of(fresh)
