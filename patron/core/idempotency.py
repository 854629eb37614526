"""Idempotency keys for the JSON API's writes (decision 0011).

A client that sends a POST with an `Idempotency-Key` header (a UUID, say) and does not hear
back may send it again with the same key: the second request gets the first one's answer,
marked `Idempotent-Replayed: true`, and the write is not done twice. Keys are per user and
kept for 24 hours. The same key with another body or another path is refused (422); the same
key while its first request is still being answered is refused too (409), as in Stripe's API
and the IETF draft "The Idempotency-Key HTTP Header Field".

Use it on a ninja operation, directly under the route decorator::

    @router.post("/sources", response={201: SourceOut, **ERRORS})
    @idempotent
    def source_create(request, payload: SourceIn): ...

The key is claimed after authentication and input validation (a request refused by the schema
stores nothing) and the answer is stored once ninja has rendered it: every 2xx and 4xx answer
is kept; a 5xx answer is not, so the client may try again. A request with a key runs in one
database transaction, from the claim to the stored answer: the write and the answer commit
together, and a 5xx answer, an exception or a process that dies rolls back the write with the
claim, so a retry never finds the write done without its answer (and does it again, once). A
second request with the same key waits for the first one's transaction and is then answered
from it. The module of such an operation
must not use `from __future__ import annotations` (ninja reads the view's annotations in the
module that defines the wrapper).
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.http.request import RawPostDataException
from django.utils import timezone
from ninja.decorators import decorate_view
from ninja.utils import contribute_operation_callback

from .models import IdempotencyKey

KEY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_LIFETIME = datetime.timedelta(hours=24)
# A claim still unanswered after this long belongs to a process that died mid-request.
ABANDONED_AFTER = datetime.timedelta(minutes=10)
_KEY = re.compile(r"^[\x20-\x7e]{1,255}$")
_CLAIM_ATTRIBUTE = "_patron_idempotency_claim"

HEADER_DOCUMENTATION = {
    "in": "header",
    "name": KEY_HEADER,
    "required": False,
    "schema": {"type": "string", "maxLength": 255},
    "description": "Any unique string (a UUID) to make this write safe to retry: a request "
    "repeated with the same key and body within 24 hours answers as the first one did, "
    f"with `{REPLAYED_HEADER}: true`, and does nothing else.",
}


class _Refusal(Exception):
    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field


def idempotent(view: Callable[..., Any]) -> Callable[..., Any]:
    """Make a ninja operation honour the `Idempotency-Key` header (see the module)."""

    @functools.wraps(view)
    def claiming(request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        try:
            claim = _claim(request)
        except _Refusal as refusal:
            return _error_response(request, refusal)
        if isinstance(claim, HttpResponse):
            return claim
        if claim is not None:
            setattr(request, _CLAIM_ATTRIBUTE, claim)
        return view(request, *args, **kwargs)

    contribute_operation_callback(claiming, _document)
    return decorate_view(_storing)(claiming)


def _document(operation: Any) -> None:
    extra = dict(operation.openapi_extra or {})
    extra["parameters"] = [*extra.get("parameters", []), HEADER_DOCUMENTATION]
    extra["responses"] = {
        **extra.get("responses", {}),
        "409": {"description": "A request with this Idempotency-Key is still being answered."},
    }
    operation.openapi_extra = extra


def _storing(run: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Around ninja's `Operation.run`: keep the rendered answer of a claimed key."""

    @functools.wraps(run)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if KEY_HEADER not in request.headers:
            return run(request, *args, **kwargs)
        with transaction.atomic():
            try:
                response = run(request, *args, **kwargs)
            except BaseException:
                _forget(request)  # the transaction rolls back, the claim with it
                raise
            if response.streaming or response.status_code >= 500:
                transaction.set_rollback(True)  # undo the write together with the claim
                _forget(request)
                return response
            _settle(request, response)
        return response

    return wrapper


def _forget(request: HttpRequest) -> None:
    if hasattr(request, _CLAIM_ATTRIBUTE):
        delattr(request, _CLAIM_ATTRIBUTE)


def _settle(request: HttpRequest, response: HttpResponse) -> None:
    """Store the answer to a claimed key, in the transaction that made it."""
    claim: IdempotencyKey | None = getattr(request, _CLAIM_ATTRIBUTE, None)
    if claim is None:
        return
    delattr(request, _CLAIM_ATTRIBUTE)
    claimed = IdempotencyKey.objects.filter(pk=claim.pk, response_status=None)
    claimed.update(
        response_status=response.status_code,
        response_body=response.content.decode("utf-8", "replace"),
        response_content_type=response.get("Content-Type", ""),
    )


def _claim(request: HttpRequest) -> IdempotencyKey | HttpResponse | None:
    """Claim the request's key for this request, or answer from an earlier use of it."""
    raw = request.headers.get(KEY_HEADER)
    user: Any = getattr(request, "auth", None)
    if raw is None or getattr(user, "pk", None) is None:
        return None
    key = _parse_key(raw)
    path = request.get_full_path()[:2000]
    fingerprint = request_fingerprint(request)
    for _ in range(3):
        now = timezone.now()
        try:
            with transaction.atomic():
                IdempotencyKey.objects.filter(user=user, created_at__lt=now - KEY_LIFETIME).delete()
                return IdempotencyKey.objects.create(
                    user=user,
                    key=key,
                    method=request.method or "",
                    path=path,
                    fingerprint=fingerprint,
                    created_at=now,
                )
        except IntegrityError:
            pass  # used before: answer from that use
        earlier = IdempotencyKey.objects.filter(user=user, key=key).first()
        if earlier is None:
            continue  # removed in between: claim it again
        unanswered = earlier.response_status is None
        if earlier.created_at < now - KEY_LIFETIME or (
            unanswered and earlier.created_at < now - ABANDONED_AFTER
        ):
            IdempotencyKey.objects.filter(pk=earlier.pk, created_at=earlier.created_at).delete()
            continue
        if (earlier.method, earlier.path) != (request.method, path):
            raise _Refusal(
                422,
                f"This Idempotency-Key was used for {earlier.method} {earlier.path}; "
                "use a new key for another request.",
                KEY_HEADER,
            )
        if earlier.fingerprint != fingerprint:
            raise _Refusal(
                422,
                "This Idempotency-Key was used with a different request body; use a new key "
                "for a different request.",
                KEY_HEADER,
            )
        if unanswered:
            raise _Refusal(
                409,
                "A request with this Idempotency-Key is still being processed; retry in a moment.",
                KEY_HEADER,
            )
        return replay(earlier)
    raise _Refusal(409, "This Idempotency-Key is in use; retry in a moment.", KEY_HEADER)


def _parse_key(raw: str) -> str:
    key = raw.strip()
    if len(key) >= 2 and key[0] == key[-1] == '"':
        key = key[1:-1]  # the IETF draft sends it as a structured-field string
    if not _KEY.match(key):
        raise _Refusal(
            400,
            "The Idempotency-Key header must be 1 to 255 printable ASCII characters.",
            KEY_HEADER,
        )
    return key


def replay(record: IdempotencyKey) -> HttpResponse:
    """The stored answer again, marked as a replay."""
    response = HttpResponse(
        record.response_body,
        status=record.response_status or 200,
        content_type=record.response_content_type or "application/json",
    )
    response[REPLAYED_HEADER] = "true"
    return response


def request_fingerprint(request: HttpRequest) -> str:
    """SHA-256 of what the request asks for: JSON bodies compared by content (key order and
    spacing do not matter), uploads by their form fields and the bytes of their files."""
    content_type = request.content_type or ""
    if content_type.startswith("multipart/"):
        # Not the raw bytes: their boundary differs from one sending to the next.
        with contextlib.suppress(MultiPartParserError):  # a JSON body sent as "multipart"
            return _form_digest(request)
    try:
        body = request.body
    except RawPostDataException:
        return _form_digest(request)
    digest = hashlib.sha256()
    if content_type == "application/json" and body:
        with contextlib.suppress(ValueError):  # not JSON: compared byte for byte
            body = json.dumps(
                json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False
            ).encode("utf-8", "surrogatepass")
    digest.update(body)
    return digest.hexdigest()


def _form_digest(request: HttpRequest) -> str:
    digest = hashlib.sha256()
    fields = {name: request.POST.getlist(name) for name in sorted(request.POST)}
    digest.update(json.dumps(fields, sort_keys=True).encode("utf-8", "surrogatepass"))
    for name in sorted(request.FILES):
        for upload in request.FILES.getlist(name):
            digest.update(json.dumps([name, upload.name, upload.size]).encode())
            for chunk in upload.chunks():
                digest.update(chunk)
            upload.seek(0)
    return digest.hexdigest()


def _error_response(request: HttpRequest, refusal: _Refusal) -> HttpResponse:
    from patron.api import api, error_body  # the API root imports every router

    return api.create_response(
        request,
        error_body(refusal.message, [{"field": refusal.field, "message": refusal.message}]),
        status=refusal.status,
    )


def purge_expired(now: datetime.datetime | None = None) -> int:
    """Delete keys older than 24 hours (each user's are also dropped as they send new ones)."""
    cutoff = (now or timezone.now()) - KEY_LIFETIME
    deleted, _ = IdempotencyKey.objects.filter(created_at__lt=cutoff).delete()
    return deleted
