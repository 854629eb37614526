"""Webhook pages: endpoints, their delivery log, redelivery and test events (htmx).

Every page needs `webhook.manage`: a list or a form answers 403 to other roles, one
endpoint or delivery answers 404 (it is outside `.restrict()` for them).
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from patron.core.exceptions import ConflictError
from patron.core.web import apply_validation_error, domain_errors, request_user, wants_partial
from patron.utils.cursor import paginate

from . import selectors, services
from .filters import DELIVERY_ORDERING, DeliveryFilterSet
from .forms import EndpointForm
from .models import WebhookDelivery, WebhookEndpoint
from .services import MAX_ATTEMPTS

DELIVERIES_PER_PAGE = 25
STATUS_FILTERS = [("", "All"), *WebhookDelivery.Status.choices]


@login_required
@domain_errors
@require_GET
def endpoint_list(request: HttpRequest) -> HttpResponse:
    selectors.require_manage(request.user)
    return render(
        request,
        "webhooks/endpoint_list.html",
        {"endpoints": selectors.endpoints_for_list(user=request.user)},
    )


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def endpoint_create(request: HttpRequest) -> HttpResponse:
    selectors.require_manage(request.user)
    form = EndpointForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            endpoint = services.endpoint_create(
                actor=request_user(request), data=form.service_data()
            )
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            messages.success(request, "The endpoint was added. Give its secret to the receiver.")
            return redirect("webhook_endpoint_detail", pk=endpoint.pk)
    return render(request, "webhooks/endpoint_form.html", {"form": form, "endpoint": None})


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def endpoint_edit(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = selectors.endpoint_get(user=request.user, pk=pk)
    conflict = False
    if request.method == "POST":
        form = EndpointForm(request.POST)
        if form.is_valid():
            try:
                services.endpoint_update(
                    actor=request_user(request),
                    endpoint=endpoint,
                    expected_version=form.cleaned_data["version"],
                    data=form.service_data(),
                )
            except ConflictError:
                conflict = True
            except ValidationError as exc:
                apply_validation_error(form, exc)
            else:
                messages.success(request, "The endpoint was saved.")
                return redirect("webhook_endpoint_detail", pk=endpoint.pk)
    else:
        form = EndpointForm(endpoint=endpoint)
    response = render(
        request,
        "webhooks/endpoint_form.html",
        {"form": form, "endpoint": endpoint, "conflict": conflict},
    )
    if conflict:
        response.status_code = 409
    return response


@login_required
@domain_errors
@require_POST
def endpoint_delete(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = selectors.endpoint_get(user=request.user, pk=pk)
    services.endpoint_delete(actor=request_user(request), endpoint=endpoint)
    messages.success(request, f"The endpoint {endpoint.url} was deleted.")
    return redirect("webhook_endpoint_list")


def _deliveries_context(
    request: HttpRequest, endpoint: WebhookEndpoint, query: QueryDict
) -> dict[str, Any]:
    """One page of the endpoint's deliveries, filtered by the `status` parameter."""
    params = query.copy()
    params["endpoint"] = str(endpoint.pk)
    status = params.get("status", "")
    if status not in WebhookDelivery.Status.values:
        params.pop("status", None)
        status = ""
    filterset = DeliveryFilterSet(params, queryset=selectors.deliveries_visible(user=request.user))
    try:
        page = paginate(
            filterset.filtered(),
            ordering=DELIVERY_ORDERING,
            cursor=params.get("cursor") or None,
            limit=DELIVERIES_PER_PAGE,
        )
    except (ValidationError, ValueError, TypeError):
        page = paginate(
            filterset.filtered(), ordering=DELIVERY_ORDERING, cursor=None, limit=DELIVERIES_PER_PAGE
        )
    return {
        "endpoint": endpoint,
        "deliveries": page.items,
        "page": page,
        "status": status,
        "status_filters": STATUS_FILTERS,
        "max_attempts": MAX_ATTEMPTS,
    }


@login_required
@domain_errors
@require_GET
def endpoint_detail(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = selectors.endpoint_get(user=request.user, pk=pk)
    context = _deliveries_context(request, endpoint, request.GET)
    if wants_partial(request):
        return render(request, "webhooks/partials/deliveries.html", context)
    still_signing = len(services.signing_secrets(endpoint, timezone.now())) > 1
    context["previous_secret_until"] = (
        endpoint.previous_secret_expires_at if still_signing else None
    )
    return render(request, "webhooks/endpoint_detail.html", context)


@login_required
@domain_errors
@require_POST
def endpoint_rotate_secret(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = selectors.endpoint_get(user=request.user, pk=pk)
    services.endpoint_rotate_secret(actor=request_user(request), endpoint=endpoint)
    messages.success(
        request, "A new secret was made. Requests are signed with the old one too for 24 hours."
    )
    return redirect("webhook_endpoint_detail", pk=endpoint.pk)


@login_required
@domain_errors
@require_POST
def endpoint_send_test(request: HttpRequest, pk: int) -> HttpResponse:
    endpoint = selectors.endpoint_get(user=request.user, pk=pk)
    error = ""
    try:
        services.endpoint_send_test(actor=request_user(request), endpoint=endpoint)
    except ValidationError as exc:
        error = " ".join(exc.messages)
    if not wants_partial(request):
        if error:
            messages.error(request, error)
        else:
            messages.success(request, "A test event was queued.")
        return redirect("webhook_endpoint_detail", pk=endpoint.pk)
    # The log from its first page, unfiltered, so that the new delivery shows.
    context = _deliveries_context(request, endpoint, QueryDict())
    context["notice"] = error or "A test event was queued; it appears below."
    context["notice_is_error"] = bool(error)
    return render(request, "webhooks/partials/deliveries.html", context)


@login_required
@domain_errors
@require_GET
def delivery_detail(request: HttpRequest, pk: int) -> HttpResponse:
    delivery = selectors.delivery_get(user=request.user, pk=pk)
    attempts = list(delivery.attempts.all())
    return render(
        request,
        "webhooks/delivery_detail.html",
        {
            "delivery": delivery,
            "endpoint": delivery.endpoint,
            "attempts": attempts,
            "last_attempt": attempts[-1] if attempts else None,
            "pretty_body": json.dumps(delivery.payload, indent=2, ensure_ascii=False),
            "max_attempts": MAX_ATTEMPTS,
        },
    )


@login_required
@domain_errors
@require_POST
def delivery_redeliver(request: HttpRequest, pk: int) -> HttpResponse:
    delivery = selectors.delivery_get(user=request.user, pk=pk)
    try:
        copy = services.delivery_redeliver(actor=request_user(request), delivery=delivery)
    except ValidationError as exc:
        if not wants_partial(request):
            messages.error(request, " ".join(exc.messages))
            return redirect("webhook_delivery_detail", pk=delivery.pk)
        return render(
            request, "webhooks/partials/redelivered.html", {"error": " ".join(exc.messages)}
        )
    if not wants_partial(request):
        messages.success(request, "The message was queued again.")
        return redirect("webhook_delivery_detail", pk=copy.pk)
    return render(
        request,
        "webhooks/partials/redelivered.html",
        {"copy": copy, "copy_url": reverse("webhook_delivery_detail", args=[copy.pk])},
    )
