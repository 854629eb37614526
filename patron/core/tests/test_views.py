"""Core pages: sign-in, home, API tokens, error pages."""

import pytest

from patron.core.models import ApiToken
from patron.core.services import api_token_authenticate, api_token_create


@pytest.mark.django_db
def test_login_page_and_sign_in(client, rep_north):
    html = client.get("/login/").content.decode()
    assert "<h1>Sign in</h1>" in html
    response = client.post("/login/", {"username": "rep_north", "password": "pw-for-tests-1"})
    assert response.status_code == 302
    assert response["Location"] == "/"


@pytest.mark.django_db
def test_wrong_password_shows_error(client, rep_north):
    html = client.post("/login/", {"username": "rep_north", "password": "nope"}).content.decode()
    assert "Please enter a correct username and password." in html


@pytest.mark.django_db
def test_home_requires_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/"


@pytest.mark.django_db
def test_logout_is_a_post(client, rep_north):
    client.force_login(rep_north)
    html = client.get("/").content.decode()
    assert '<form method="post" action="/logout/">' in html
    response = client.post("/logout/")
    assert response.status_code == 302
    assert client.get("/").status_code == 302


@pytest.mark.django_db
def test_home_counts_and_overdue_task(client, rep_north):
    import datetime

    from django.utils import timezone

    from patron.customers import services

    contact = services.contact_create(actor=rep_north, data={"first_name": "Ada"})
    services.timeline_entry_create(
        actor=rep_north,
        kind="task",
        contact=contact,
        subject="Late thing",
        due_at=timezone.now() - datetime.timedelta(days=1),
    )
    services.timeline_entry_create(
        actor=rep_north,
        kind="task",
        contact=contact,
        subject="Future thing",
        due_at=timezone.now() + datetime.timedelta(days=1),
    )
    client.force_login(rep_north)
    response = client.get("/")
    html = response.content.decode()
    assert response.context["counts"] == {
        "contacts": 1,
        "accounts": 0,
        "open_tasks": 2,
        "overdue": 1,
    }
    late = html[html.index("Late thing") - 400 : html.index("Late thing")]
    assert 'class="task overdue"' in late
    assert "Future thing" in html


@pytest.mark.django_db
def test_admin_link_only_for_admins(client, rep_north, admin_user):
    client.force_login(rep_north)
    assert "/admin/" not in client.get("/").content.decode()
    client.force_login(admin_user)
    assert 'href="/admin/"' in client.get("/").content.decode()


@pytest.mark.django_db
def test_api_token_create_shows_key_once_then_revoke(client, rep_north, rep_south):
    client.force_login(rep_north)
    response = client.post("/settings/tokens/", {"name": "Zapier"})
    key = response.context["new_key"]
    html = response.content.decode()
    assert f'<code id="new-key">{key}</code>' in html
    assert api_token_authenticate(key) == rep_north
    assert key not in client.get("/settings/tokens/").content.decode()
    token = ApiToken.objects.get()
    _, other_key = api_token_create(actor=rep_south, name="South's")
    other = ApiToken.objects.get(user=rep_south)
    assert client.post(f"/settings/tokens/{other.pk}/revoke/").status_code == 404
    response = client.post(f"/settings/tokens/{token.pk}/revoke/")
    assert response.status_code == 302
    assert api_token_authenticate(key) is None
    assert api_token_authenticate(other_key) == rep_south
    assert "Revoked" in client.get("/settings/tokens/").content.decode()


@pytest.mark.django_db
def test_api_token_needs_a_name(client, rep_north):
    client.force_login(rep_north)
    html = client.post("/settings/tokens/", {"name": "  "}).content.decode()
    assert "Name the token after what will use it." in html
    assert not ApiToken.objects.exists()


@pytest.mark.django_db
def test_404_page_is_friendly(client, rep_north):
    client.force_login(rep_north)
    response = client.get("/contacts/999999/")
    assert response.status_code == 404
    assert "This record does not exist, or you do not have access to it." in (
        response.content.decode()
    )
