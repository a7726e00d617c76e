"""Property-based testing of the REST API from its own OpenAPI document (schemathesis): every
operation, with generated valid and invalid input, must answer without a server error and
with a body that matches the documented schema. Runs on SQLite and PostgreSQL like the rest."""

from __future__ import annotations

from typing import Any

import schemathesis
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from tests.conftest import World

app = get_wsgi_application()
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


@schema.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_api_never_answers_a_server_error_or_off_schema(case: Any, api_world: tuple[World, str]) -> None:
    _world, token = api_world
    case.call_and_validate(
        headers={"Authorization": f"Bearer {token}"},
        checks=[not_a_server_error, response_schema_conformance, content_type_conformance],
    )
