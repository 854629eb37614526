"""The Data quality pages: a readiness report of an uploaded file, shown in the page with a
JSON download. The upload is read and deleted; nothing is imported or changed."""

from __future__ import annotations

import re

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from patron.core.permissions import can
from patron.core.web import domain_errors, request_user

from . import report as rendering
from . import selectors
from .forms import AssessForm


@login_required
@domain_errors
@require_http_methods(["GET", "POST"])
def assess_upload(request: HttpRequest) -> HttpResponse:
    user = request_user(request)
    if not can(user, "source.view"):
        raise PermissionDenied("You may not assess files.")
    form = AssessForm(request.POST or None, request.FILES or None)
    context: dict = {"form": form, "section": "quality"}
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            report = selectors.readiness_report_for_upload(
                user=user, upload=upload, options=form.options()
            )
        except selectors.UnreadableFile as exc:
            form.add_error("file", f"The file cannot be read with these options: {exc}")
        else:
            if request.POST.get("download") == "json":
                response = HttpResponse(
                    rendering.to_json(report), content_type="application/json; charset=utf-8"
                )
                stem = re.sub(r"[^\w.-]+", "_", upload.name.rsplit(".", 1)[0]) or "file"
                response["Content-Disposition"] = f'attachment; filename="{stem}-readiness.json"'
                return response
            context.update(rendering.presentation(report))
    return render(request, "quality/assess.html", context)
