"""REST API v1: the same actions and queries as the UI, behind bearer tokens. The routes live in
one module per area; each channel package brings its own (`channels/<kind>/api.py`)."""

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
    """The core's routers, then each installed channel package's (`<package>.api.router`)."""
    import importlib

    from samtale.api import availability, conversations, crm, crm_objects, feedback, inboxes, notifications, routing
    from samtale.channels import channel_apps, has_module

    routers = [inboxes.router, conversations.router, notifications.router, availability.router, routing.router,
               crm.router, crm_objects.router, feedback.router]  # fmt: skip
    for config in channel_apps():
        if has_module(config, "api"):
            routers.append(importlib.import_module(f"{config.name}.api").router)
    for router in routers:
        api.add_router("", router)


_mount()
