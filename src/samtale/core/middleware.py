from __future__ import annotations

import logging
from collections.abc import Callable

from django.db import DataError
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.utils import translation
from django.utils.translation import gettext as _

log = logging.getLogger(__name__)


class UserLanguageMiddleware:
    """Activate the language the user chose (stored on the user, mirrored in the session)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        language = request.session.get("language") or translation.get_language_from_request(request)
        translation.activate(language or "en")
        request.LANGUAGE_CODE = translation.get_language()
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", translation.get_language())
        return response


class OutOfRangeMiddleware:
    """The net under input validation: a number or date too large for the database (an id of
    30 digits in a form, a year 9999 in a filter) is the client's error, a 400, never a 500. Forms
    and schemas bound what they can (`core.bounds`); this catches what one of them missed."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, (OverflowError, DataError)):
            log.warning("out-of-range input on %s: %s", request.path, exception)
            return HttpResponseBadRequest(_("A value is out of range."), content_type="text/plain; charset=utf-8")
        return None


CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",  # no inline script, no eval: every behaviour lives in static files
        "style-src 'self' 'unsafe-inline'",  # style attributes in templates; mail HTML carries none
        "img-src 'self' data: https: http:",  # remote images in mail load only when the agent asks
        "connect-src 'self'",  # the agent WebSocket is same-origin (CSP3 'self' covers ws:// and wss://)
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


class ContentSecurityPolicyMiddleware:
    """Every page gets the policy above, unless a view set a stricter one of its own (sources and
    attachments are served with `default-src 'none'; sandbox`)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        return response
