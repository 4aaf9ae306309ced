"""Request-level guards that must run before any view reads the body."""
from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from adfame.problems import problem_response


class RequestSizeLimitMiddleware:
    """Refuse bodies larger than ADFAME_MAX_REQUEST_BYTES with 413 before they are read."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.ADFAME_MAX_REQUEST_BYTES
        raw_length = request.META.get("CONTENT_LENGTH") or "0"
        try:
            length = int(raw_length)
        except ValueError:
            return problem_response(400, "malformed-request", "Malformed request", "Content-Length is not a number.")
        if length > limit:
            return problem_response(
                413,
                "payload-too-large",
                "Payload too large",
                f"The request body is {length} bytes; the limit is {limit} bytes.",
            )
        return self.get_response(request)
