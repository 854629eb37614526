import pytest

from patron.core import services
from patron.core.models import AuditEvent, CustomFieldDefinition
from patron.core.tests.factories import role
from patron.customers.models import Contact

pytestmark = pytest.mark.django_db


@pytest.fixture
def superadmin():
    return services.user_create(
        actor=None, username="root", password="a-long-pass-phrase-1", role=role("admin")
    )


def test_admin_role_gets_admin_site_access(superadmin, client):
    assert superadmin.is_staff and superadmin.is_superuser
    client.force_login(superadmin)
    assert client.get("/admin/").status_code == 200


def test_custom_field_created_in_admin_goes_through_the_service(superadmin, client):
    client.force_login(superadmin)
    response = client.post(
        "/admin/core/customfielddefinition/add/",
        {
            "object_type": "contact",
            "name": "tier",
            "label": "Tier",
            "field_type": "choice",
            "choices": '["gold", "silver"]',
            "order": 1,
            "help_text": "",
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    definition = CustomFieldDefinition.objects.get(name="tier")
    assert definition.choices == ["gold", "silver"]
    event = AuditEvent.objects.get(content_type__model="customfielddefinition")
    assert event.actor == superadmin and event.action == "create"


def test_admin_refuses_a_choice_field_without_choices(superadmin, client):
    client.force_login(superadmin)
    response = client.post(
        "/admin/core/customfielddefinition/add/",
        {
            "object_type": "contact",
            "name": "tier",
            "label": "Tier",
            "field_type": "choice",
            "choices": "[]",
            "order": 1,
            "help_text": "",
        },
    )
    assert response.status_code == 200
    assert "A choice field needs at least one choice." in response.content.decode()
    assert not CustomFieldDefinition.objects.exists()


def test_team_change_in_admin_is_audited(superadmin, client, team_north):
    client.force_login(superadmin)
    response = client.post(
        f"/admin/core/team/{team_north.pk}/change/", {"name": "North-East", "description": ""}
    )
    assert response.status_code == 302
    event = AuditEvent.objects.get(content_type__model="team", action="update")
    assert event.changes == {"name": ["North", "North-East"]}


def test_customer_records_are_read_only_in_admin(superadmin, client):
    client.force_login(superadmin)
    assert client.get("/admin/customers/contact/add/").status_code == 403
    assert not Contact.objects.exists()
