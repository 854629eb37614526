"""Reads for the readiness report: the customers already in Patron (through the permission
chokepoint), the organisation's default phone country and the custom fields a file could map
to. The report only reads; nothing here writes."""

from __future__ import annotations

import tempfile
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError
from django.db.models.functions import Lower
from openpyxl.utils.exceptions import InvalidFileException

from patron.core.models import CustomFieldDefinition, OrganisationSettings
from patron.core.permissions import can
from patron.customers.models import EmailAddress, PhoneNumber

from .assess import AssessOptions, Progress, assess

LOOKUP_CHUNK = 500


class UnreadableFile(Exception):
    """The file cannot be read with the options given (a broken workbook, say)."""


class ExistingContactPoints:
    """Which emails and phone numbers Patron already holds, among the contacts and accounts
    `user` may see (every one for `user=None`: the command line acts as the system)."""

    def __init__(self, user: Any = None) -> None:
        self.user = user
        self.scope = "all" if user is None else "visible"

    def _emails(self):
        emails = EmailAddress.objects.all()
        return emails if self.user is None else emails.restrict(self.user, "view")

    def _phones(self):
        phones = PhoneNumber.objects.all()
        return phones if self.user is None else phones.restrict(self.user, "view")

    def matching(self, emails: set[str], phones: set[str]) -> tuple[set[str], set[str]]:
        found_emails: set[str] = set()
        for chunk in _chunks(sorted(emails)):
            found_emails.update(
                self._emails()
                .annotate(lowered=Lower("email"))
                .filter(lowered__in=chunk)
                .values_list("lowered", flat=True)
            )
        found_phones: set[str] = set()
        for chunk in _chunks(sorted(phones)):
            found_phones.update(
                self._phones().filter(e164__in=chunk).values_list("e164", flat=True)
            )
        return found_emails, found_phones


def existing_customers(user: Any = None) -> ExistingContactPoints | None:
    """The lookup, or None where the database holds no customer tables yet (a fresh
    installation assessing files before its first migration)."""
    try:
        EmailAddress.objects.exists()
    except DatabaseError:
        return None
    return ExistingContactPoints(user)


def organisation_region() -> str:
    """The organisation's default phone country, read without creating the settings row."""
    try:
        region = (
            OrganisationSettings.objects.filter(pk=1)
            .values_list("default_phone_region", flat=True)
            .first()
        )
    except DatabaseError:
        return ""
    return region or ""


def custom_fields(entity: str) -> dict[str, CustomFieldDefinition]:
    try:
        return {d.name: d for d in CustomFieldDefinition.objects.filter(object_type=entity)}
    except DatabaseError:
        return {}


def readiness_report(
    *,
    user: Any,
    files: Iterable[tuple[Path, str]],
    options: AssessOptions,
    check_existing: bool = True,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """The readiness report of `files` as `user` would import them: the organisation's phone
    country unless one is given, its custom fields, and overlap with the customers the user
    may see. `user=None` is the command line."""
    if user is not None and not can(user, "source.view"):
        raise PermissionDenied("You may not assess files (source.view).")
    if not options.region:
        options.region = organisation_region()
    if not options.custom_fields:
        options.custom_fields = custom_fields(options.entity)
    existing = existing_customers(user) if check_existing else None
    return assess(files, options=options, existing=existing, progress=progress)


def readiness_report_for_upload(
    *, user: Any, upload: Any, options: AssessOptions
) -> dict[str, Any]:
    """The report of an uploaded file, kept in a temporary directory under VAR_DIR only
    while it is read and deleted afterwards, whatever happens."""
    if not can(user, "source.view"):
        raise PermissionDenied("You may not assess files (source.view).")
    name = Path(str(getattr(upload, "name", "") or "upload")).name or "upload"
    base = Path(settings.VAR_DIR) / "quality"
    base.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=base, prefix="assess-") as folder:
        path = Path(folder) / "upload"
        with open(path, "wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
        try:
            return readiness_report(user=user, files=[(path, name)], options=options)
        except (OSError, ValueError, LookupError, zipfile.BadZipFile, InvalidFileException) as exc:
            raise UnreadableFile(str(exc) or exc.__class__.__name__) from exc


def _chunks(values: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(values), LOOKUP_CHUNK):
        yield values[start : start + LOOKUP_CHUNK]
