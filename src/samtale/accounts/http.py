"""Views' common ground: signed-in members only, POST actions whose validation and permission errors
become a 400 or 403 with the message, and the acting user. Used by every app's views."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar, cast

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.views.decorators.http import require_POST

from samtale.accounts.access import membership_of
from samtale.accounts.models import User

F = TypeVar("F", bound=Callable[..., HttpResponseBase])


def member_required(view: F) -> F:
    """Signed in and a usable member of an account; anything else is 403."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        membership_of(cast(User, request.user))
        return view(request, *args, **kwargs)

    return cast(F, wrapper)


def action_view(view: F) -> F:
    """A POST that calls one action: validation errors become a 400 with the message."""

    @require_POST
    @member_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        try:
            return view(request, *args, **kwargs)
        except ValidationError as exc:
            fields = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
            return field_errors(fields)
        except PermissionDenied as exc:
            return HttpResponse(str(exc) or "Forbidden", status=403, content_type="text/plain; charset=utf-8")

    return cast(F, wrapper)


def form_error(form: Any) -> HttpResponse:
    return field_errors({field: list(errors) for field, errors in form.errors.items()}, form)


def field_errors(errors: dict[str, list[str]], form: Any = None) -> HttpResponse:
    """A 400 naming what was wrong: as text (a toast, a page without scripts) and, in the
    `X-Field-Errors` header, as JSON by field name, so the page puts each message next to its field
    and keeps what was typed (`app.js`). `__all__`: about the form as a whole."""

    def label(field: str) -> str:
        bound = form.fields.get(field) if form is not None else None
        return str(bound.label) if bound is not None and bound.label else field

    text = "; ".join(
        " ".join(messages) if field == "__all__" else f"{label(field)}: {' '.join(messages)}"
        for field, messages in errors.items()
    )
    response = HttpResponse(text, status=400, content_type="text/plain; charset=utf-8")
    response["X-Field-Errors"] = json.dumps(errors)  # ASCII: non-ASCII text is \u-escaped
    return response


def acting(request: HttpRequest) -> User:
    return cast(User, request.user)


def is_htmx(request: HttpRequest) -> bool:
    return bool(getattr(request, "htmx", False))
