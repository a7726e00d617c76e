"""`samtale smtpd` has no web server: with SAMTALE_METRICS_PORT it serves its own metrics (the SMTP
replies it sent, by code) on loopback."""

from __future__ import annotations

import os
import smtplib
import subprocess
import time
import urllib.request
from email.message import EmailMessage

import pytest

from tests.e2e.conftest import BIN, ROOT, free_port, prepare_database

pytestmark = pytest.mark.e2e


def test_smtpd_serves_its_own_metrics(tmp_path_factory: pytest.TempPathFactory) -> None:
    tmp = tmp_path_factory.mktemp("smtpd_metrics")
    env, _seed = prepare_database(tmp, f"smtpd_metrics_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}")
    smtp, metrics = free_port(), free_port()
    env = {**env, "SAMTALE_SMTP_PORT": str(smtp), "SAMTALE_METRICS_PORT": str(metrics)}
    process = subprocess.Popen(
        [str(BIN / "samtale"), "smtpd"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                client = smtplib.SMTP("127.0.0.1", smtp, timeout=5)
                break
            except OSError:
                assert time.monotonic() < deadline, "smtpd did not start"
                time.sleep(0.2)
        m = EmailMessage()
        m["From"], m["To"], m["Subject"] = "kunde@example.com", "support@acme.test", "Counted"
        m.set_content("x")
        with client:
            client.send_message(m)
            refused = client.sendmail("kunde@example.com", ["support@acme.test", "nobody@acme.test"], m.as_bytes())
        assert "nobody@acme.test" in refused
        body = urllib.request.urlopen(f"http://127.0.0.1:{metrics}/", timeout=5).read().decode()
        assert 'samtale_smtp_replies_total{code="250"}' in body and 'samtale_smtp_replies_total{code="550"}' in body
    finally:
        process.terminate()
        process.wait(20)
