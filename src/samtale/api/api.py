"""REST API v1: the same actions and queries as the UI, behind bearer tokens. The routes live in
one module per area; a channel package (email) brings its own (`mail/api.py`)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DataError
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI

from samtale.api.auth import TokenAuth

api = NinjaAPI(
    title="Samtale API",
    version="1",
    auth=TokenAuth(),
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
)


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    return api.create_response(request, {"detail": "; ".join(exc.messages)}, status=400)


@api.exception_handler(OverflowError)
@api.exception_handler(DataError)
def on_out_of_range(request: HttpRequest, exc: Exception) -> HttpResponse:
    """A number or date beyond what can be stored (the schemas bound what they can; this is the net)."""
    return api.create_response(request, {"detail": "A value is out of range."}, status=400)


@api.exception_handler(PermissionDenied)
def on_permission_denied(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc) or "Forbidden"}, status=403)


def _mount() -> None:
    from samtale.api import availability, conversations, inboxes, notifications, routing
    from samtale.channels.email.api import router as mail

    for router in (
        inboxes.router,
        conversations.router,
        notifications.router,
        availability.router,
        routing.router,
        mail,
    ):
        api.add_router("", router)


_mount()
