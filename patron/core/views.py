"""Core pages: sign-in (Django's auth views with our templates) and personal API tokens."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from . import selectors, services
from .web import apply_validation_error, domain_errors, request_user


class ApiTokenForm(forms.Form):
    name = forms.CharField(
        max_length=100,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "e.g. Zapier sync"}),
    )


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def api_tokens(request: HttpRequest) -> HttpResponse:
    """List the user's tokens and create one; a new key is shown on this response only."""
    form = ApiTokenForm(request.POST if request.method == "POST" else None)
    new_key = None
    new_token = None
    if request.method == "POST" and form.is_valid():
        try:
            new_token, new_key = services.api_token_create(
                actor=request_user(request), name=form.cleaned_data["name"]
            )
        except ValidationError as exc:
            apply_validation_error(form, exc)
        else:
            form = ApiTokenForm()
    tokens = list(selectors.api_tokens_for(user=request.user))
    return render(
        request,
        "core/api_tokens.html",
        {
            "form": form,
            "tokens": tokens,
            "new_key": new_key,
            "new_token": new_token,
        },
    )


@login_required
@domain_errors
@require_POST
def api_token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = selectors.api_tokens_for(user=request.user).get(pk=pk)
    services.api_token_revoke(actor=request_user(request), token=token)
    messages.success(request, f"The token “{token.name}” was revoked.")
    return redirect("api_tokens")
