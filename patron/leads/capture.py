"""The public web-form endpoint: POST /leads/capture/<slug>/ from any website, no login.

Spam is kept out three ways: a honeypot field people never see (bots fill it), a signed
timestamp the embed snippet fetches when the page loads (a form sent sooner than
`PATRON_LEADS_MIN_FILL_SECONDS` after it was shown is a bot), and the email's validation.
Spam is answered exactly like success, so a bot learns nothing; nothing is stored.

Sending is rate-limited per client address and per form with the Django cache (fixed windows,
`PATRON_LEADS_RATE_LIMITS`); over the limit the answer is 429 with Retry-After."""

from __future__ import annotations

import html
import json
import logging
import math
import time
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt

from . import selectors, services
from .models import WebForm

logger = logging.getLogger(__name__)

HONEYPOT_FIELD = "website"
TOKEN_FIELD = "_ts"  # noqa: S105 (a form field name)
TOKEN_SALT = "patron.leads.capture"  # noqa: S105 (a signing namespace)
TOKEN_MAX_AGE = 24 * 3600
DEFAULT_LIMITS = {"per_ip": (5, 60), "per_form": (300, 60)}  # (requests, seconds)
CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type, Accept",
}


def min_fill_seconds() -> float:
    return float(getattr(settings, "PATRON_LEADS_MIN_FILL_SECONDS", 3))


def limits() -> dict[str, tuple[int, int]]:
    configured = getattr(settings, "PATRON_LEADS_RATE_LIMITS", None) or {}
    return {key: tuple(configured.get(key, value)) for key, value in DEFAULT_LIMITS.items()}  # type: ignore[misc]


def issue_token(web_form: WebForm, now: float | None = None) -> str:
    """A signed "this form was shown at" for the hidden timestamp field."""
    return signing.dumps({"f": web_form.slug, "t": now or time.time()}, salt=TOKEN_SALT)


def token_age(web_form: WebForm, token: str, now: float | None = None) -> float | None:
    """Seconds since the token was issued for this form; None when it is missing, forged,
    expired or for another form."""
    try:
        payload = signing.loads(token, salt=TOKEN_SALT, max_age=TOKEN_MAX_AGE)
    except signing.BadSignature:
        return None
    if not isinstance(payload, dict) or payload.get("f") != web_form.slug:
        return None
    issued = payload.get("t")
    if not isinstance(issued, int | float):
        return None
    age = (now or time.time()) - issued
    return age if 0 <= age <= TOKEN_MAX_AGE else None


def _client_address(request: HttpRequest) -> str:
    return str(request.META.get("REMOTE_ADDR") or "unknown")[:64]


def rate_limited(request: HttpRequest, web_form: WebForm) -> int:
    """Count this request against the address's and the form's windows: the seconds to wait
    when one of them is exhausted, else 0."""
    now = time.time()
    wait = 0
    for scope, key in (
        ("per_ip", _client_address(request)),
        ("per_form", web_form.slug),
    ):
        allowed, seconds = limits()[scope]
        window = int(now // seconds)
        cache_key = f"leads:capture:{scope}:{key}:{window}"
        cache.add(cache_key, 0, timeout=seconds + 1)
        try:
            count = cache.incr(cache_key)
        except ValueError:  # evicted between add and incr
            cache.set(cache_key, 1, timeout=seconds + 1)
            count = 1
        if count > allowed:
            wait = max(wait, math.ceil((window + 1) * seconds - now))
    return wait


def _wants_json(request: HttpRequest) -> bool:
    content_type = request.content_type or ""
    accept = request.headers.get("Accept", "")
    return content_type == "application/json" or (
        "application/json" in accept and "text/html" not in accept
    )


def _values(request: HttpRequest) -> dict[str, Any]:
    """The sent fields, from a JSON object or a form; ValueError when they cannot be read."""
    if request.content_type == "application/json":
        try:
            body = json.loads(request.body or b"{}")
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise ValueError("The body is not valid JSON.") from None
        if not isinstance(body, dict):
            raise ValueError("Send a JSON object of fields.")
        values = {}
        for key, value in body.items():
            if isinstance(value, dict | list):
                raise ValueError(f"Field {str(key)[:50]} must be text.")
            values[str(key)] = "" if value is None else str(value)
        return values
    return {key: request.POST.get(key, "") for key in request.POST}


def _answer(request: HttpRequest, web_form: WebForm) -> HttpResponse:
    """Success (and spam, which must look the same)."""
    if _wants_json(request):
        return JsonResponse({"status": "received"}, status=201, headers=CORS)
    if web_form.redirect_url:
        return redirect(web_form.redirect_url)
    return render(request, "leads/capture_thanks.html", {"web_form": web_form}, status=201)


def _refuse(request: HttpRequest, status: int, errors: dict[str, list[str]], **extra: Any):
    messages = [
        {"field": None if k == "__all__" else k, "message": m}
        for k, ms in errors.items()
        for m in ms
    ]
    headers = {**CORS, **{k: str(v) for k, v in extra.items()}}
    if _wants_json(request):
        detail = messages[0]["message"] if messages else "Refused."
        return JsonResponse({"detail": detail, "errors": messages}, status=status, headers=headers)
    response = render(request, "leads/capture_error.html", {"errors": messages}, status=status)
    for key, value in headers.items():
        response[key] = value
    return response


@csrf_exempt
def capture(request: HttpRequest, slug: str) -> HttpResponse:
    """Receive a lead from a public web form (form-encoded or JSON)."""
    if request.method == "OPTIONS":
        return HttpResponse(status=204, headers=CORS)
    if request.method != "POST":
        return HttpResponse(status=405, headers={"Allow": "POST, OPTIONS", **CORS})
    try:
        web_form = selectors.active_web_form(slug)
    except WebForm.DoesNotExist:
        return _refuse(request, 404, {"__all__": ["There is no such form."]})
    wait = rate_limited(request, web_form)
    if wait:
        return _refuse(
            request,
            429,
            {"__all__": [f"Too many submissions; try again in {wait} seconds."]},
            **{"Retry-After": wait},
        )
    try:
        values = _values(request)
    except ValueError as exc:
        return _refuse(request, 400, {"__all__": [str(exc)]})
    if values.get(HONEYPOT_FIELD, "").strip():
        logger.info("Lead form %s: honeypot filled, discarded", web_form.slug)
        return _answer(request, web_form)
    age = token_age(web_form, values.get(TOKEN_FIELD, ""))
    if age is None:
        return _refuse(
            request,
            400,
            {"__all__": ["This form has expired or was not loaded properly; reload the page."]},
        )
    if age < min_fill_seconds():
        logger.info("Lead form %s: sent %.1fs after loading, discarded", web_form.slug, age)
        return _answer(request, web_form)
    page = str(request.headers.get("Referer", ""))[:500]
    try:
        services.lead_capture(web_form=web_form, values=values, page=page)
    except ValidationError as exc:
        errors = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
        return _refuse(request, 400, errors)
    return _answer(request, web_form)


def token(request: HttpRequest, slug: str) -> HttpResponse:
    """GET: a fresh signed timestamp for the form's hidden field (the snippet fetches it)."""
    try:
        web_form = selectors.active_web_form(slug)
    except WebForm.DoesNotExist:
        return JsonResponse({"detail": "There is no such form."}, status=404, headers=CORS)
    response = JsonResponse({"token": issue_token(web_form)}, headers=CORS)
    response["Cache-Control"] = "no-store"
    return response


LABELS = {
    "first_name": ("First name", "text"),
    "last_name": ("Last name", "text"),
    "email": ("Email", "email"),
    "phone": ("Phone", "tel"),
    "company": ("Company", "text"),
    "job_title": ("Job title", "text"),
    "country": ("Country (ISO code)", "text"),
    "region": ("Region", "text"),
    "employees": ("Employees", "number"),
    "annual_revenue": ("Annual revenue", "number"),
}


def embed_snippet(web_form: WebForm, base_url: str) -> str:
    """The HTML a website pastes to show this form: its fields, the hidden honeypot and the
    timestamp field filled by a small script when the page loads."""
    action = base_url.rstrip("/") + reverse("lead_capture", args=[web_form.slug])
    token_url = base_url.rstrip("/") + reverse("lead_capture_token", args=[web_form.slug])
    fields = [f for f in services.form_fields(web_form) if f in LABELS]
    lines = [f'<form method="post" action="{html.escape(action)}" id="patron-lead-form">']
    for name in fields:
        label, kind = LABELS[name]
        required = " required" if name == "email" else ""
        lines.append(f'  <label>{label} <input type="{kind}" name="{name}"{required}></label>')
    lines += [
        '  <input type="hidden" name="utm_source"><input type="hidden" name="utm_medium">',
        '  <input type="hidden" name="utm_campaign">',
        f'  <div style="position:absolute;left:-5000px" aria-hidden="true">'
        f'<input type="text" name="{HONEYPOT_FIELD}" tabindex="-1" autocomplete="off"></div>',
        f'  <input type="hidden" name="{TOKEN_FIELD}">',
        '  <button type="submit">Send</button>',
        "</form>",
        "<script>",
        "(function () {",
        '  var form = document.getElementById("patron-lead-form");',
        "  var query = new URLSearchParams(location.search);",
        '  ["utm_source", "utm_medium", "utm_campaign"].forEach(function (n) {',
        "    if (query.get(n)) form.elements[n].value = query.get(n);",
        "  });",
        f'  fetch("{html.escape(token_url)}").then(function (r) {{ return r.json(); }})',
        f'    .then(function (d) {{ form.elements["{TOKEN_FIELD}"].value = d.token; }});',
        "})();",
        "</script>",
    ]
    return "\n".join(lines)
