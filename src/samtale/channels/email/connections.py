"""Connections to a channel's own mail servers, through the egress policy (`core.egress`): the
host a user typed is resolved once, must be public (or an allowed network), and is connected to
at that vetted address. Errors are described in our words, never with what the remote end said."""

from __future__ import annotations

import imaplib
import smtplib
import socket
from typing import Any

from django.core.mail.backends.smtp import EmailBackend
from imapclient import IMAPClient, imap4, tls
from imapclient.exceptions import IMAPClientError, LoginError

from samtale.core import egress


class _SMTP(smtplib.SMTP):
    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return egress.connect(host, port, timeout)


class _SMTPS(smtplib.SMTP_SSL):
    def _get_socket(self, host: str, port: int, timeout: float) -> socket.socket:
        return egress.wrap_tls(egress.connect(host, port, timeout), self._host, self.context)  # type: ignore[attr-defined]


class VettedSMTPBackend(EmailBackend):
    """Django's SMTP backend, connecting through the egress policy (for channels' own servers)."""

    @property
    def connection_class(self) -> type[smtplib.SMTP]:
        return _SMTPS if self.use_ssl else _SMTP


class _IMAP(imap4.IMAP4WithTimeout):  # type: ignore[misc]
    def _create_socket(self, timeout: float | None = None) -> socket.socket:
        return egress.connect(self.host, self.port, timeout if timeout is not None else self._timeout)


class _IMAPS(tls.IMAP4_TLS):  # type: ignore[misc]
    def _create_socket(self, timeout: float | None = None) -> socket.socket:
        sock = egress.connect(self.host, self.port, timeout if timeout is not None else self._timeout)
        return egress.wrap_tls(sock, self.host, self.ssl_context)


class VettedIMAPClient(IMAPClient):  # type: ignore[misc]
    def _create_IMAP4(self) -> Any:
        timeout = getattr(self._timeout, "connect", None)
        if self.ssl:
            return _IMAPS(self.host, self.port, self.ssl_context, timeout)
        return _IMAP(self.host, self.port, timeout)


def imap_problem(exc: BaseException, host: str, port: int) -> str:
    """An IMAP failure in our words (shown on the channel's settings)."""
    if isinstance(exc, LoginError):
        return "Authentication failed: the server refused the username or password."
    if isinstance(exc, (IMAPClientError, imaplib.IMAP4.error)):
        return f"The server at {host}:{port} did not answer as an IMAP server should."
    return egress.describe(exc, host, port)
