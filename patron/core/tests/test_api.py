"""Core API: authentication (tokens, sessions and CSRF), /me, tokens, custom fields, users."""

import datetime
import hashlib

import pytest
from django.test import Client
from django.utils import timezone

from patron.conftest import ApiClient
from patron.core import services
from patron.core.models import ApiToken, AuditEvent, CustomFieldDefinition
from patron.core.tests.factories import CustomFieldFactory, UserFactory

pytestmark = pytest.mark.django_db

INVALID_TOKEN = {"detail": "This API token is not valid, revoked or expired.", "errors": []}


# --- token authentication ------------------------------------------------------------------------


def test_token_create_shows_the_key_once_and_stores_only_its_hash(api_as, rep_north):
    api = api_as(rep_north)
    response = api.post("/tokens", {"name": "Zapier"})
    assert response.status_code == 201
    body = response.json()
    key = body["key"]
    token = ApiToken.objects.get()
    assert key.startswith("ptn_")
    assert body == {
        "id": token.pk,
        "name": "Zapier",
        "prefix": key[:12],
        "created_at": body["created_at"],
        "expires_at": None,
        "last_used_at": None,
        "revoked_at": None,
        "is_active": True,
        "key": key,
    }
    assert token.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key not in str(list(ApiToken.objects.values()))
    listed = api.get("/tokens").json()
    assert [t["name"] for t in listed] == ["Zapier"]
    assert "key" not in listed[0]

    by_token = ApiClient(token=key)
    me = by_token.get("/me")
    assert me.status_code == 200
    assert me.json()["username"] == "rep_north"
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_token_writes_need_no_csrf_and_are_audited_as_api(rep_north):
    _, key = services.api_token_create(actor=rep_north, name="script")
    client = Client(enforce_csrf_checks=True)
    response = client.post(
        "/api/contacts",
        data={"first_name": "Ada"},
        content_type="application/json",
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 201
    event = AuditEvent.objects.get(content_type__model="contact")
    assert (event.actor, event.origin) == (rep_north, "api")


def test_revoked_token_answers_401(api_as, rep_north):
    token, key = services.api_token_create(actor=rep_north, name="old")
    api = api_as(rep_north)
    assert api.delete(f"/tokens/{token.pk}").status_code == 204
    token.refresh_from_db()
    assert token.revoked_at is not None
    response = ApiClient(token=key).get("/contacts")
    assert (response.status_code, response.json()) == (401, INVALID_TOKEN)
    assert response["WWW-Authenticate"] == 'Bearer realm="patron"'


def test_expired_token_answers_401(rep_north):
    _, key = services.api_token_create(
        actor=rep_north, name="short", expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    response = ApiClient(token=key).get("/me")
    assert (response.status_code, response.json()) == (401, INVALID_TOKEN)


def test_wrong_or_malformed_tokens_answer_401(rep_north):
    for header in ("Bearer ptn_wrong", "Bearer ", "Token abc", "Basic Zm9vOmJhcg=="):
        response = Client().get("/api/me", headers={"Authorization": header})
        assert response.status_code == 401, header
        assert set(response.json()) == {"detail", "errors"}


def test_token_of_inactive_user_answers_401(rep_north):
    _, key = services.api_token_create(actor=rep_north, name="t")
    rep_north.is_active = False
    rep_north.save()
    assert ApiClient(token=key).get("/me").status_code == 401


def test_bad_token_does_not_fall_back_to_the_session(api_as, rep_north):
    api = api_as(rep_north)
    api.headers["Authorization"] = "Bearer ptn_wrong"
    assert api.get("/me").status_code == 401


def test_cannot_revoke_someone_elses_token(api_as, rep_north, rep_south):
    token, _ = services.api_token_create(actor=rep_south, name="theirs")
    response = api_as(rep_north).delete(f"/tokens/{token.pk}")
    assert response.status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_token_needs_a_name(api_as, rep_north):
    response = api_as(rep_north).post("/tokens", {"name": "  "})
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"field": "name", "message": "Name the token after what will use it."}
    ]
    assert not ApiToken.objects.exists()


# --- session authentication and CSRF -----------------------------------------------------------


def test_session_needs_csrf_for_unsafe_methods(rep_north):
    client = Client(enforce_csrf_checks=True)
    client.force_login(rep_north)
    assert client.get("/api/me").status_code == 200

    response = client.post(
        "/api/contacts", data={"first_name": "Ada"}, content_type="application/json"
    )
    assert response.status_code == 403
    assert response.json() == {
        "detail": "CSRF check failed: send the X-CSRFToken header with the value of the "
        "csrftoken cookie.",
        "errors": [],
    }
    from patron.customers.models import Contact

    assert not Contact.objects.exists()

    from django.middleware.csrf import _get_new_csrf_string

    secret = _get_new_csrf_string()
    client.cookies["csrftoken"] = secret
    response = client.post(
        "/api/contacts",
        data={"first_name": "Ada"},
        content_type="application/json",
        headers={"X-CSRFToken": secret},
    )
    assert response.status_code == 201
    assert Contact.objects.count() == 1


def test_anonymous_post_is_401_not_a_csrf_error():
    response = Client(enforce_csrf_checks=True).post(
        "/api/contacts", data={}, content_type="application/json"
    )
    assert response.status_code == 401


# --- /me, users, teams -------------------------------------------------------------------------


def test_me(api_as, rep_north, team_north):
    body = api_as(rep_north).get("/me").json()
    assert body == {
        "id": rep_north.pk,
        "username": "rep_north",
        "name": rep_north.display_name,
        "email": "rep_north@example.com",
        "role": {"slug": "sales_rep", "name": "Sales rep"},
        "team": {"id": team_north.pk, "name": "North"},
        "permissions": rep_north.role.permissions,
        "sees_all_records": False,
    }


def test_users_and_teams(api_as, rep_north, rep_south, team_north, team_south):
    UserFactory(username="gone", is_active=False)
    api = api_as(rep_north)
    users = api.get("/users").json()
    assert sorted(u["username"] for u in users) == ["rep_north", "rep_south"]
    assert set(users[0]) == {"id", "username", "name", "email", "role", "team"}
    assert [u["username"] for u in api.get("/users", {"team": team_south.pk}).json()] == [
        "rep_south"
    ]
    assert api.get("/teams").json() == [
        {"id": team_north.pk, "name": "North", "description": ""},
        {"id": team_south.pk, "name": "South", "description": ""},
    ]


# --- custom fields -----------------------------------------------------------------------------


def test_custom_field_crud_by_admin(api_as, admin_user):
    api = api_as(admin_user)
    response = api.post(
        "/custom-fields",
        {
            "object_type": "contact",
            "name": "tier",
            "label": "Tier",
            "field_type": "choice",
            "choices": ["gold", "silver"],
        },
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    definition = CustomFieldDefinition.objects.get()
    assert body == {
        "id": definition.pk,
        "version": 1,
        "object_type": "contact",
        "name": "tier",
        "label": "Tier",
        "field_type": "choice",
        "choices": ["gold", "silver"],
        "required": False,
        "help_text": "",
        "show_in_list": False,
        "order": 100,
    }
    assert api.get(f"/custom-fields/{definition.pk}").json() == body

    response = api.patch(f"/custom-fields/{definition.pk}", {"version": 1, "label": "Level"})
    assert (response.json()["label"], response.json()["version"]) == ("Level", 2)
    response = api.patch(f"/custom-fields/{definition.pk}", {"version": 1, "label": "Stale"})
    assert (response.status_code, response.json()["current_version"]) == (409, 2)
    response = api.patch(f"/custom-fields/{definition.pk}", {"version": 2, "name": "level"})
    assert response.status_code == 422  # name is not in the patch schema: it cannot change
    response = api.patch(f"/custom-fields/{definition.pk}", {"version": 2, "choices": []})
    assert response.json()["errors"] == [
        {"field": "choices", "message": "A choice field needs at least one choice."}
    ]
    definition.refresh_from_db()
    assert (definition.label, definition.choices) == ("Level", ["gold", "silver"])

    assert api.delete(f"/custom-fields/{definition.pk}").status_code == 204
    assert not CustomFieldDefinition.objects.exists()


def test_custom_field_validation(api_as, admin_user):
    api = api_as(admin_user)
    response = api.post(
        "/custom-fields",
        {"object_type": "contact", "name": "Bad Name", "label": "x", "field_type": "text"},
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "name"
    response = api.post(
        "/custom-fields", {"object_type": "planet", "name": "x", "label": "x", "field_type": "text"}
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "object_type"


def test_custom_fields_readable_by_all_writable_by_admins(api_as, rep_north):
    CustomFieldFactory(object_type="contact", name="seats", field_type="number")
    CustomFieldFactory(object_type="account", name="region")
    api = api_as(rep_north)
    assert [f["name"] for f in api.get("/custom-fields").json()] == ["region", "seats"]
    assert [f["name"] for f in api.get("/custom-fields", {"object_type": "contact"}).json()] == [
        "seats"
    ]
    response = api.post(
        "/custom-fields",
        {"object_type": "contact", "name": "x", "label": "X", "field_type": "text"},
    )
    assert (response.status_code, response.json()) == (
        403,
        {"detail": "Only administrators may change this.", "errors": []},
    )
    definition = CustomFieldDefinition.objects.get(name="seats")
    assert (
        api.patch(f"/custom-fields/{definition.pk}", {"version": 1, "label": "Hacked"}).status_code
        == 403
    )
    assert api.delete(f"/custom-fields/{definition.pk}").status_code == 403
    assert CustomFieldDefinition.objects.count() == 2
    definition.refresh_from_db()
    assert definition.label == "Seats"


def test_openapi_schema_is_served(api_as, rep_north):
    assert Client().get("/api/docs").status_code == 200
    response = Client().get("/api/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "/api/contacts" in paths and "/api/tokens" in paths
    params = {p["name"] for p in paths["/api/contacts"]["get"]["parameters"]}
    assert {
        "q",
        "owner",
        "team",
        "lifecycle_stage",
        "tag",
        "account",
        "ordering",
        "cursor",
        "limit",
        "created_after",
    } <= params
