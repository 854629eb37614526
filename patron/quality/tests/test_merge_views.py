"""The merge screens through the test client: the duplicates panel, compare and merge with
field picking, and undo."""

from __future__ import annotations

import pytest
from django.urls import reverse

from patron.customers import services as customers
from patron.customers.models import Contact
from patron.quality.models import Merge

pytestmark = pytest.mark.django_db


@pytest.fixture
def pair(admin_user):
    ada = customers.contact_create(
        actor=admin_user,
        data={"first_name": "Ada", "last_name": "Lovelace"},
        emails=[{"email": "ada@example.com", "is_primary": True}],
    )
    copy = customers.contact_create(
        actor=admin_user,
        data={"first_name": "Ada", "last_name": "Lovelace", "job_title": "Countess"},
        emails=[{"email": "ADA@example.com", "is_primary": True}],
    )
    return ada, copy


def test_panel_compare_merge_and_undo(client, admin_user, pair):
    ada, copy = pair
    client.force_login(admin_user)
    page = client.get(reverse("contact_detail", args=[ada.pk])).content.decode()
    panel_url = reverse("duplicates_panel", args=["contact", ada.pk])
    assert f'hx-get="{panel_url}"' in page
    panel = client.get(panel_url).content.decode()
    assert "same email ada@example.com" in panel and "same name" in panel
    compare_url = reverse("merge_compare", args=["contact", ada.pk]) + f"?with={copy.pk}"
    assert compare_url.replace("&", "&amp;") in panel or compare_url in panel

    compare = client.get(compare_url).content.decode()
    assert "Keep #" in compare and "Countess" in compare
    response = client.post(
        reverse("merge_compare", args=["contact", ada.pk]),
        {"with": copy.pk, "survivor": ada.pk, "choice-first_name": copy.pk},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("contact_detail", args=[ada.pk])
    ada.refresh_from_db()
    assert ada.job_title == "Countess"
    assert not Contact.objects.filter(pk=copy.pk).exists()
    assert ada.emailaddresss.count() == 2

    merge = Merge.objects.get()
    panel = client.get(panel_url).content.decode()
    assert "Undo merge" in panel
    client.post(reverse("merge_undo", args=[merge.pk]))
    assert Contact.objects.filter(pk=copy.pk).exists()
    ada.refresh_from_db()
    assert ada.job_title == "" and ada.emailaddresss.count() == 1


def test_others_cannot_merge_what_they_cannot_see(client, rep_south, pair):
    ada, copy = pair
    client.force_login(rep_south)
    assert client.get(reverse("duplicates_panel", args=["contact", ada.pk])).status_code == 404
    response = client.post(
        reverse("merge_compare", args=["contact", ada.pk]), {"with": copy.pk, "survivor": ada.pk}
    )
    assert response.status_code == 404
    assert Contact.objects.count() == 2


def test_api_duplicates_merge_and_undo(api_as, admin_user, pair):
    ada, copy = pair
    api = api_as(admin_user)
    found = api.get(f"/contacts/{ada.pk}/duplicates")
    assert found.status_code == 200
    assert found.json() == [
        {
            "id": copy.pk,
            "name": "Ada Lovelace",
            "reasons": ["same email ada@example.com", "same name"],
        }
    ]
    bad = api.post("/merges", {"object_type": "contact", "survivor": ada.pk, "others": []})
    assert bad.status_code in (400, 422)
    done = api.post(
        "/merges",
        {"object_type": "contact", "survivor": ada.pk, "others": [copy.pk], "choices": {}},
    )
    assert done.status_code == 201, done.content
    body = done.json()
    assert (body["survivor"], body["merged"], body["undone_at"]) == (ada.pk, [copy.pk], None)
    undone = api.post(f"/merges/{body['id']}/undo")
    assert undone.status_code == 200 and undone.json()["undone_at"] is not None
    again = api.post(f"/merges/{body['id']}/undo")
    assert again.status_code == 400
    assert Contact.objects.count() == 2


def test_duplicate_check_while_typing(client, api_as, admin_user, pair):
    ada, copy = pair
    client.force_login(admin_user)
    form = client.get(reverse("contact_create")).content.decode()
    check_url = reverse("duplicate_check", args=["contact"])
    assert f'hx-get="{check_url}"' in form
    hint = client.get(check_url, {"first_name": "ada", "last_name": "Lovelace"}).content.decode()
    assert "This contact may already exist." in hint and "same name" in hint
    hint = client.get(check_url, {"first_name": "Zoe", "email": "ADA@EXAMPLE.COM"}).content
    assert b"same email ada@example.com" in hint
    assert b"may already exist" not in client.get(check_url, {"first_name": "Nobody"}).content
    found = api_as(admin_user).get(
        "/duplicate-check/contacts?first_name=Ada&last_name=Lovelace&phone=%2B44%2020%207946%200018"
    )
    assert found.status_code == 200, found.content
    assert [d["id"] for d in found.json()] == [ada.pk, copy.pk]


def test_api_refuses_ids_no_database_holds(api_as, admin_user, pair):
    ada, _ = pair
    api = api_as(admin_user)
    huge = 2**70
    answer = api.post("/merges", {"object_type": "contact", "survivor": ada.pk, "others": [huge]})
    assert answer.status_code == 422
    assert api.get(f"/contacts/{huge}/duplicates").status_code == 422
    assert api.post(f"/merges/{huge}/undo").status_code == 422
