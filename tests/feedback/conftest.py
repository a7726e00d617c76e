"""The real local SMTP server of the email tests receives the surveys here too."""

from tests.channels.email.conftest import outbox  # noqa: F401
