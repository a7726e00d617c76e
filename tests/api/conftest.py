from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from tests.conftest import World, make_world


@pytest.fixture
def api_world(db: Any) -> Iterator[tuple[World, str]]:
    """The personas, a conversation to act on, and the admin's API token. Requests go straight
    to the WSGI application, so (as Django's test client does) finishing one must not close the
    test's database connection (nor may starting one)."""
    world = make_world()
    world.inbound("Something to act on")
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    try:
        yield world, world.token(world.admin)
    finally:
        for signal in (request_started, request_finished):
            signal.connect(close_old_connections)
