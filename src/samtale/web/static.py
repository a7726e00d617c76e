"""Static files for `samtale serve`: Django's handler, with paths that cannot name a static file
(`..` escaping the directory, NUL bytes) answered 404 instead of an unhandled exception."""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler
from django.core.exceptions import SuspiciousOperation
from django.core.handlers.exception import response_for_exception
from django.http import Http404, HttpRequest


class StaticFiles(ASGIStaticFilesHandler):
    async def get_response_async(self, request: HttpRequest) -> Any:
        try:
            return await super().get_response_async(request)
        except (SuspiciousOperation, ValueError, OSError):
            return await sync_to_async(response_for_exception)(request, Http404("No such file"))
