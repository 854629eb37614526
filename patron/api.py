"""The JSON API root: authentication, the one error format, and every app's router.

Every error, whatever raised it, answers with the same body::

    {"detail": "<a sentence for a human>", "errors": [{"field": "<name or dotted path>",
                                                       "message": "..."}]}

`field` is null for an error that is about the request as a whole. A 409 also carries
`current_version`, the version to reload before trying again.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ObjectDoesNotExist
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.urls import URLPattern, path
from django.views.decorators.csrf import csrf_exempt
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.security import APIKeyCookie, HttpBearer
from ninja.utils import check_csrf

from patron.core.exceptions import ConflictError, PermissionDeniedError
from patron.core.services import api_token_authenticate

logger = logging.getLogger("patron.api")

SAFE_METHODS = ("GET", "HEAD", "OPTIONS", "TRACE")


class TokenAuth(HttpBearer):
    """`Authorization: Bearer ptn_...`, a personal API token (stored only as a hash)."""

    def __call__(self, request: HttpRequest) -> Any:
        header = request.headers.get("Authorization", "")
        if not header:
            return None
        scheme, _, key = header.partition(" ")
        if scheme.lower() != "bearer":
            raise AuthenticationError(401, "Use 'Authorization: Bearer <token>'.")
        return self.authenticate(request, key.strip())

    def authenticate(self, request: HttpRequest, token: str) -> Any:
        user = api_token_authenticate(token)
        if user is None:
            # A token was sent but is wrong, revoked or expired: never fall back to a session.
            raise AuthenticationError(401, "This API token is not valid, revoked or expired.")
        return user


class SessionCsrfAuth(APIKeyCookie):
    """The browser session of a signed-in user; unsafe methods also need the CSRF token."""

    param_name = settings.SESSION_COOKIE_NAME

    def __call__(self, request: HttpRequest) -> Any:
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        if request.method not in SAFE_METHODS and check_csrf(request) is not None:
            raise HttpError(
                403,
                "CSRF check failed: send the X-CSRFToken header with the "
                "value of the csrftoken cookie.",
            )
        return user

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:  # pragma: no cover
        return None  # __call__ does the work; required by the base class.


class PatronAPI(NinjaAPI):
    """NinjaAPI whose every answer under /api/ is JSON in the one error format, including an
    unknown path (404) and a method the path does not offer (405)."""

    def _get_urls(self) -> list[Any]:
        patterns = super()._get_urls()
        for pattern in patterns:
            if isinstance(pattern, URLPattern):
                pattern.callback = _json_method_not_allowed(pattern.callback)
        return [*patterns, path("<path:unknown>", _unknown_path)]


def _json_method_not_allowed(view: Any) -> Any:
    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        response = view(request, *args, **kwargs)
        if isinstance(response, HttpResponseNotAllowed):
            allowed = response["Allow"]
            response = api.create_response(
                request,
                error_body(f"{request.method} is not allowed here; use {allowed}."),
                status=405,
            )
            response["Allow"] = allowed
        return response

    return wrapper


@csrf_exempt
def _unknown_path(request: HttpRequest, unknown: str) -> HttpResponse:
    return api.create_response(request, error_body("Not found"), status=404)


api = PatronAPI(
    title="Patron API",
    version="1",
    description="Customer data, integration and CRM operations. Authenticate with a personal "
    "API token (`Authorization: Bearer <token>`) or a browser session (unsafe methods then "
    "need the `X-CSRFToken` header).\n\nEvery error answers "
    '`{"detail": "...", "errors": [{"field": "...", "message": "..."}]}`; a 409 also '
    "carries `current_version`.",
    urls_namespace="api",
    auth=[TokenAuth(), SessionCsrfAuth()],
)


# --- the one error format ----------------------------------------------------------------------


def error_body(
    detail: str, errors: list[dict[str, Any]] | None = None, **extra: Any
) -> dict[str, Any]:
    return {"detail": detail, "errors": errors or [], **extra}


def validation_errors(exc: DjangoValidationError) -> list[dict[str, Any]]:
    """A Django ValidationError as `[{"field", "message"}]`, field-by-field when it has fields."""
    if hasattr(exc, "error_dict"):
        return [
            {"field": None if name == NON_FIELD_ERRORS else name, "message": message}
            for name, messages in exc.message_dict.items()
            for message in messages
        ]
    return [{"field": None, "message": message} for message in exc.messages]


def _summary(errors: list[dict[str, Any]]) -> str:
    parts = [f"{e['field']}: {e['message']}" if e["field"] else e["message"] for e in errors]
    text = "; ".join(parts[:5]) + ("; …" if len(parts) > 5 else "")
    return f"The request was not accepted. {text}".strip()


@api.exception_handler(DjangoValidationError)
def on_django_validation_error(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
    errors = validation_errors(exc)
    return api.create_response(request, error_body(_summary(errors), errors), status=400)


_LOCATIONS = {"body", "query", "path", "header", "cookie", "form", "file"}


def _field_from_loc(loc: tuple[Any, ...] | list[Any]) -> str | None:
    parts = list(loc)
    if parts and parts[0] in _LOCATIONS:
        where = parts.pop(0)
        if where == "body" and len(parts) > 1:
            parts.pop(0)  # the name of the view's body argument
    return ".".join(str(p) for p in parts) or None


@api.exception_handler(NinjaValidationError)
def on_schema_validation_error(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
    errors = [
        {"field": _field_from_loc(e.get("loc", ())), "message": e.get("msg", "Invalid.")}
        for e in exc.errors
    ]
    return api.create_response(request, error_body(_summary(errors), errors), status=422)


@api.exception_handler(ConflictError)
def on_conflict(request: HttpRequest, exc: ConflictError) -> HttpResponse:
    return api.create_response(
        request, error_body(str(exc), current_version=exc.current_version), status=409
    )


@api.exception_handler(PermissionDeniedError)
def on_permission_denied(request: HttpRequest, exc: PermissionDeniedError) -> HttpResponse:
    return api.create_response(request, error_body(str(exc) or "You may not do this."), status=403)


# Services of later apps refuse with Django's own PermissionDenied: the same 403.
api.add_exception_handler(DjangoPermissionDenied, on_permission_denied)  # type: ignore[arg-type]


@api.exception_handler(ObjectDoesNotExist)
def on_does_not_exist(request: HttpRequest, exc: Exception) -> HttpResponse:
    return api.create_response(request, error_body("Not found"), status=404)


# ninja types the handler as taking `_E | type[_E]`; it is only ever given the instance.
api.add_exception_handler(Http404, on_does_not_exist)  # type: ignore[arg-type]


@api.exception_handler(AuthenticationError)
def on_authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    message = (
        exc.message
        if exc.message != "Unauthorized"
        else ("Authentication required: send 'Authorization: Bearer <token>' or sign in.")
    )
    response = api.create_response(request, error_body(message), status=401)
    response["WWW-Authenticate"] = 'Bearer realm="patron"'
    return response


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    message = exc.message
    if exc.status_code == 400 and message.startswith("Cannot parse request body"):
        message = "The request body is not valid JSON."
    return api.create_response(request, error_body(message), status=exc.status_code)


@api.exception_handler(DataError)
def on_data_error(request: HttpRequest, exc: DataError) -> HttpResponse:
    """A value the database cannot hold (a date far out of range in a query parameter or a
    cursor): the request is at fault, not the server."""
    logger.warning("Database refused a value in %s %s: %s", request.method, request.path, exc)
    return api.create_response(
        request,
        error_body("A value in the request is out of the range the database can store."),
        status=400,
    )


@api.exception_handler(Exception)
def on_unexpected_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    """A bug: logged with its traceback, answered in the same format (never an HTML page)."""
    logger.exception("Unhandled error in %s %s", request.method, request.path)
    return api.create_response(
        request, error_body("Something went wrong on our side; it has been logged."), status=500
    )


# --- routers -----------------------------------------------------------------------------------

from patron.billing.api import router as billing_router  # noqa: E402
from patron.commerce.api import router as commerce_router  # noqa: E402
from patron.core.api import router as core_router  # noqa: E402
from patron.customers.api import router as customers_router  # noqa: E402
from patron.integration.api import router as integration_router  # noqa: E402
from patron.leads.api import router as leads_router  # noqa: E402
from patron.performance.api import router as performance_router  # noqa: E402
from patron.quality.api import router as quality_router  # noqa: E402
from patron.sales.api import router as sales_router  # noqa: E402
from patron.webhooks.api import router as webhooks_router  # noqa: E402

api.add_router("/", core_router)
api.add_router("/", customers_router)
api.add_router("/", integration_router)
api.add_router("/", quality_router)
api.add_router("/", sales_router)
api.add_router("/", leads_router)
api.add_router("/", commerce_router)
api.add_router("/", billing_router)
api.add_router("/", performance_router)
api.add_router("/", webhooks_router)
