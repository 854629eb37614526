"""Web forms edited in the Django admin go through the same services as the API: checked and
audited."""

import pytest
from django.contrib.contenttypes.models import ContentType

from patron.core import services as core_services
from patron.core.models import AuditEvent
from patron.core.tests.factories import role
from patron.leads.models import WebForm

pytestmark = pytest.mark.django_db


@pytest.fixture
def superadmin():
    return core_services.user_create(
        actor=None, username="root", password="a-long-pass-phrase-1", role=role("admin")
    )


def _form(**changes: str) -> dict[str, str]:
    data = {"name": "Contact us", "slug": "contact-us", "campaign": "", "redirect_url": ""}
    data.update({"is_active": "on", **changes})
    return data


def test_a_web_form_added_changed_and_deleted_in_the_admin_is_audited(superadmin, client):
    client.force_login(superadmin)
    response = client.post("/admin/leads/webform/add/", _form())
    assert response.status_code == 302, response.content.decode()[:2000]
    web_form = WebForm.objects.get(slug="contact-us")
    response = client.post(f"/admin/leads/webform/{web_form.pk}/change/", _form(campaign="Q4"))
    assert response.status_code == 302
    web_form.refresh_from_db()
    assert web_form.campaign == "Q4"
    events = AuditEvent.objects.filter(
        content_type=ContentType.objects.get_for_model(WebForm), object_id=str(web_form.pk)
    )
    assert list(events.order_by("id").values_list("action", flat=True)) == ["create", "update"]
    assert events.get(action="update").changes["campaign"] == ["", "Q4"]
    response = client.post(f"/admin/leads/webform/{web_form.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not WebForm.objects.exists()
    assert events.filter(action="delete").exists()
