"""Schemas shared by every app's API: references to users and teams, errors, page parameters.

Schemas only parse and shape; anything a request may change goes through a service.
"""

from __future__ import annotations

import datetime
from typing import Annotated, Any, Literal

from ninja import Field, Schema
from pydantic import AfterValidator, ConfigDict, model_validator


def _in_utc(value: datetime.datetime) -> datetime.datetime:
    """Store instants in UTC: PostgreSQL refuses offsets beyond ±16 hours that ISO 8601
    (and pydantic) accept, and an instant near year 1 or 9999 may not convert at all."""
    if value.tzinfo is None:
        return value
    try:
        return value.astimezone(datetime.UTC)
    except (OverflowError, ValueError):
        raise ValueError("This date and time is out of range.") from None


ApiDateTime = Annotated[datetime.datetime, AfterValidator(_in_utc)]


class InputSchema(Schema):
    """Base of every request body: unknown fields are refused, NUL characters too (no
    database stores them in text)."""

    model_config = ConfigDict(extra="forbid", use_enum_values=True)

    @model_validator(mode="before")
    @classmethod
    def _no_nul_characters(cls, data: Any) -> Any:
        def check(value: Any) -> None:
            if isinstance(value, str) and "\x00" in value:
                raise ValueError("Text may not contain NUL characters.")
            if isinstance(value, dict):
                for item in value.values():
                    check(item)
            elif isinstance(value, list):
                for item in value:
                    check(item)

        check(data)
        return data


class FieldErrorOut(Schema):
    field: str | None
    message: str


class ErrorOut(Schema):
    detail: str
    errors: list[FieldErrorOut]


class ConflictOut(ErrorOut):
    current_version: int


# Documented on every operation that reads or writes one record.
ERRORS: dict[int, type[Schema]] = {
    400: ErrorOut,
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    422: ErrorOut,
}
WRITE_ERRORS: dict[int, type[Schema]] = {**ERRORS, 409: ConflictOut}


class PageParams(Schema):
    cursor: str | None = Field(
        None,
        description="`next_cursor` or `previous_cursor` of the "
        "page before; omit for the first page.",
    )
    limit: int = Field(50, ge=1, le=200, description="Rows per page (1-200).")


class UserRef(Schema):
    id: int
    name: str = Field(..., alias="display_name")


class TeamRef(Schema):
    id: int
    name: str


class RoleRef(Schema):
    slug: str
    name: str


class MeOut(Schema):
    id: int
    username: str
    name: str = Field(..., alias="display_name")
    email: str
    role: RoleRef | None
    team: TeamRef | None
    permissions: list[str]
    sees_all_records: bool

    @staticmethod
    def resolve_permissions(obj: Any) -> list[str]:
        if obj.is_superuser:
            return ["*"]
        return list(obj.role.permissions) if obj.role else []


class UserOut(Schema):
    id: int
    username: str
    name: str = Field(..., alias="display_name")
    email: str
    role: RoleRef | None
    team: TeamRef | None


class TeamOut(Schema):
    id: int
    name: str
    description: str


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    created_at: datetime.datetime
    expires_at: datetime.datetime | None
    last_used_at: datetime.datetime | None
    revoked_at: datetime.datetime | None
    is_active: bool


class TokenCreatedOut(TokenOut):
    key: str = Field(..., description="The token itself. Shown this once; only a hash is kept.")


class TokenIn(InputSchema):
    name: str = Field(..., max_length=100)
    expires_at: ApiDateTime | None = None


ObjectType = Literal["contact", "account"]
FieldType = Literal["text", "number", "date", "choice", "boolean"]


class CustomFieldOut(Schema):
    id: int
    version: int
    object_type: str
    name: str
    label: str
    field_type: str
    choices: list[Any]
    required: bool
    help_text: str
    show_in_list: bool
    order: int


class CustomFieldIn(InputSchema):
    object_type: ObjectType
    name: str = Field(..., max_length=50)
    label: str = Field(..., max_length=100)
    field_type: FieldType
    choices: list[str | int | float] = []
    required: bool = False
    help_text: str = Field("", max_length=200)
    show_in_list: bool = False
    order: int = Field(100, ge=0, le=2_147_483_647)


class CustomFieldPatch(InputSchema):
    """Change a definition; `version` is the one you read (a stale one answers 409).

    Fields left out stay as they are; `name` and `object_type` cannot change."""

    version: int
    label: str = Field(None, max_length=100)  # type: ignore[assignment]
    choices: list[str | int | float] = Field(None)  # type: ignore[assignment, arg-type]
    required: bool = Field(None)  # type: ignore[assignment]
    help_text: str = Field(None, max_length=200)  # type: ignore[assignment]
    show_in_list: bool = Field(None)  # type: ignore[assignment]
    order: int = Field(None, ge=0, le=2_147_483_647)  # type: ignore[assignment]
