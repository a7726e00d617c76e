"""Helpers for the template tags that write a screen's hottest loops in Python (a thread's entries,
the list's rows): a URL for many ids at the cost of one reversal, and a `<time>` element."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from django.urls import reverse
from django.utils.html import escape

from samtale.core.templatetags.when import Moments

ID = 987654321987  # where the id goes in `url_maker`'s arguments


def url_maker(name: str, *args: object) -> Callable[[int], str]:
    """`reverse(name, args=[…])` with `ID` replaced by each pk, at the cost of one reversal:
    `url_maker("conversation", inbox.pk, view, ID)(c.pk)`."""
    assert ID in args
    head, _sep, tail = reverse(name, args=args).partition(str(ID))
    return lambda pk: f"{head}{pk}{tail}"


def time_element(clock: Moments, value: datetime) -> str:
    """`<time>` with the moment in ISO 8601 (the viewer's zone), the full form as its tooltip and
    the short form as its text (`|when_full` and `|when`)."""
    iso = value.astimezone(clock.zone).isoformat()
    return f'<time datetime="{iso}" title="{escape(clock.when_full(value))}">{escape(clock.when(value))}</time>'
