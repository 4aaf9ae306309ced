"""RFC 7807 problem details: the one shape of every error response the service sends."""
from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import set_rollback

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_BASE = "/problems/"

# DRF exception class -> (stable type slug, title). The most specific class must come first.
_DRF_PROBLEMS: list[tuple[type[exceptions.APIException], str, str]] = [
    (exceptions.NotAuthenticated, "unauthenticated", "Authentication required"),
    (exceptions.AuthenticationFailed, "unauthenticated", "Authentication failed"),
    (exceptions.PermissionDenied, "forbidden", "Forbidden"),
    (exceptions.NotFound, "not-found", "Not found"),
    (exceptions.MethodNotAllowed, "method-not-allowed", "Method not allowed"),
    (exceptions.NotAcceptable, "not-acceptable", "Not acceptable"),
    (exceptions.UnsupportedMediaType, "unsupported-media-type", "Unsupported media type"),
    (exceptions.ParseError, "malformed-request", "Malformed request"),
    (exceptions.Throttled, "rate-limited", "Too many requests"),
    (exceptions.ValidationError, "validation-error", "Invalid request"),
]


class Problem(exceptions.APIException):
    """An error a service raises to answer with a specific problem type and status."""

    def __init__(self, status_code: int, slug: str, title: str, detail: str, **extra: Any) -> None:
        super().__init__(detail=detail)
        self.status_code = status_code
        self.slug = slug
        self.title = title
        self.extra = extra


def problem_body(status_code: int, slug: str, title: str, detail: str, **extra: Any) -> dict[str, Any]:
    return {"type": PROBLEM_BASE + slug, "title": title, "status": status_code, "detail": detail, **extra}


def problem_response(status_code: int, slug: str, title: str, detail: str, **extra: Any) -> HttpResponse:
    """A plain Django response, for code that runs outside DRF (middleware, handler404/500)."""
    return JsonResponse(
        problem_body(status_code, slug, title, detail, **extra),
        status=status_code,
        content_type=PROBLEM_CONTENT_TYPE,
    )


def validation_problem(errors: dict[str, Any] | list[Any], detail: str = "The request has invalid fields.") -> Problem:
    return Problem(400, "validation-error", "Invalid request", detail, errors=flatten_errors(errors))


def flatten_errors(detail: Any, prefix: str = "") -> list[dict[str, str]]:
    """Turn DRF's nested error detail into a flat list of {field, pointer, detail, code}."""
    if isinstance(detail, dict):
        out: list[dict[str, str]] = []
        for key, value in detail.items():
            if isinstance(key, int):  # ListField and DictField errors are keyed by position
                out += flatten_errors(value, f"{prefix}[{key}]")
            elif key == "non_field_errors":
                out += flatten_errors(value, prefix)
            else:
                out += flatten_errors(value, f"{prefix}.{key}" if prefix else str(key))
        return out
    if isinstance(detail, list):
        if all(not isinstance(item, (dict, list)) for item in detail):
            return [_field_error(prefix, item) for item in detail]
        out = []
        for index, item in enumerate(detail):
            if item:
                out += flatten_errors(item, f"{prefix}[{index}]")
        return out
    return [_field_error(prefix, detail)]


def _field_error(field: str, message: Any) -> dict[str, str]:
    pointer = "#/" + field.replace(".", "/").replace("[", "/").replace("]", "") if field else "#"
    return {
        "field": field or "(request)",
        "pointer": pointer,
        "detail": str(message),
        "code": getattr(message, "code", "invalid"),
    }


def _detail_text(exc: exceptions.APIException) -> str:
    detail = exc.detail
    if isinstance(detail, (list, dict)):
        return "The request has invalid fields."
    return str(detail)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's exception handler: every error it can describe becomes problem+json."""
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):
        exc = Problem(413, "payload-too-large", "Payload too large", "The request body is too large.")
    elif isinstance(exc, SuspiciousOperation):
        exc = Problem(400, "malformed-request", "Malformed request", str(exc) or "The request was refused.")
    if not isinstance(exc, exceptions.APIException):
        return None

    headers: dict[str, str] = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))

    if isinstance(exc, Problem):
        body = problem_body(exc.status_code, exc.slug, exc.title, str(exc.detail), **exc.extra)
    else:
        slug, title = "error", "Error"
        for cls, cls_slug, cls_title in _DRF_PROBLEMS:
            if isinstance(exc, cls):
                slug, title = cls_slug, cls_title
                break
        extra: dict[str, Any] = {}
        if isinstance(exc, exceptions.ValidationError):
            extra["errors"] = flatten_errors(exc.detail)
        body = problem_body(exc.status_code, slug, title, _detail_text(exc), **extra)

    set_rollback()
    response = Response(body, status=exc.status_code, headers=headers, content_type=PROBLEM_CONTENT_TYPE)
    return response


def handler404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return problem_response(404, "not-found", "Not found", f"No resource at {request.path}.")


def handler500(request: HttpRequest) -> HttpResponse:
    return problem_response(
        500, "internal-error", "Internal server error", "The server failed; the error was logged."
    )


def handler400(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return problem_response(400, "malformed-request", "Malformed request", "The request could not be understood.")


def handler403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return problem_response(403, "forbidden", "Forbidden", "You may not do this.")


__all__ = ["Problem", "exception_handler", "problem_response", "validation_problem"]
