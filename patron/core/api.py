"""Core API: who am I, personal API tokens, custom-field definitions, users and teams."""

from __future__ import annotations

from django.http import HttpRequest
from ninja import Router, Status

from . import services
from .models import ApiToken, CustomFieldDefinition, Team, User
from .schemas import (
    ERRORS,
    WRITE_ERRORS,
    CustomFieldIn,
    CustomFieldOut,
    CustomFieldPatch,
    MeOut,
    ObjectType,
    TeamOut,
    TokenCreatedOut,
    TokenIn,
    TokenOut,
    UserOut,
)

router = Router(tags=["Core"])


def _actor(request: HttpRequest) -> User:
    return request.auth  # type: ignore[attr-defined,return-value]


@router.get("/me", response={200: MeOut, **ERRORS})
def me(request: HttpRequest):
    """The signed-in user, their role and team."""
    return User.objects.select_related("role", "team").get(pk=_actor(request).pk)


# --- tokens ------------------------------------------------------------------------------------


def _own_tokens(request: HttpRequest):
    return ApiToken.objects.filter(user=_actor(request))


@router.get("/tokens", response={200: list[TokenOut], **ERRORS}, tags=["Tokens"])
def token_list(request: HttpRequest):
    """Your personal API tokens (never their keys)."""
    return list(_own_tokens(request).order_by("-created_at", "-id"))


@router.post("/tokens", response={201: TokenCreatedOut, **ERRORS}, tags=["Tokens"])
def token_create(request: HttpRequest, payload: TokenIn):
    """Create a token. The `key` in the answer is shown this once: store it now."""
    token, key = services.api_token_create(
        actor=_actor(request), name=payload.name, expires_at=payload.expires_at
    )
    return Status(201, {**TokenOut.model_validate(token).model_dump(), "key": key})


@router.delete("/tokens/{token_id}", response={204: None, **ERRORS}, tags=["Tokens"])
def token_revoke(request: HttpRequest, token_id: int):
    """Revoke one of your tokens; requests using it answer 401 from now on."""
    token = _own_tokens(request).get(pk=token_id)
    services.api_token_revoke(actor=_actor(request), token=token)
    return Status(204, None)


# --- custom fields -----------------------------------------------------------------------------


@router.get(
    "/custom-fields", response={200: list[CustomFieldOut], **ERRORS}, tags=["Custom fields"]
)
def custom_field_list(request: HttpRequest, object_type: ObjectType | None = None):
    """The custom fields of contacts and accounts (filter with `object_type`)."""
    qs = CustomFieldDefinition.objects.all()
    if object_type:
        qs = qs.filter(object_type=object_type)
    return list(qs)


@router.get(
    "/custom-fields/{field_id}", response={200: CustomFieldOut, **ERRORS}, tags=["Custom fields"]
)
def custom_field_detail(request: HttpRequest, field_id: int):
    return CustomFieldDefinition.objects.get(pk=field_id)


@router.post("/custom-fields", response={201: CustomFieldOut, **ERRORS}, tags=["Custom fields"])
def custom_field_create(request: HttpRequest, payload: CustomFieldIn):
    """Define a custom field (administrators only)."""
    definition = services.custom_field_create(actor=_actor(request), data=payload.model_dump())
    return Status(201, definition)


@router.patch(
    "/custom-fields/{field_id}",
    response={200: CustomFieldOut, **WRITE_ERRORS},
    tags=["Custom fields"],
)
def custom_field_update(request: HttpRequest, field_id: int, payload: CustomFieldPatch):
    """Change a custom field (administrators only)."""
    definition = CustomFieldDefinition.objects.get(pk=field_id)
    data = payload.model_dump(exclude_unset=True, exclude={"version"})
    return services.custom_field_update(
        actor=_actor(request), definition=definition, expected_version=payload.version, data=data
    )


@router.delete("/custom-fields/{field_id}", response={204: None, **ERRORS}, tags=["Custom fields"])
def custom_field_delete(request: HttpRequest, field_id: int):
    """Delete a definition (administrators only); stored values stay in each record."""
    definition = CustomFieldDefinition.objects.get(pk=field_id)
    services.custom_field_delete(actor=_actor(request), definition=definition)
    return Status(204, None)


# --- users and teams ---------------------------------------------------------------------------


@router.get("/users", response={200: list[UserOut], **ERRORS}, tags=["Users"])
def user_list(request: HttpRequest, team: int | None = None):
    """Active users, e.g. for an owner picker (filter with `team`)."""
    qs = User.objects.filter(is_active=True).select_related("role", "team")
    if team is not None:
        qs = qs.filter(team_id=team)
    return list(qs.order_by("first_name", "last_name", "username", "id"))


@router.get("/teams", response={200: list[TeamOut], **ERRORS}, tags=["Users"])
def team_list(request: HttpRequest):
    return list(Team.objects.order_by("name", "id"))
