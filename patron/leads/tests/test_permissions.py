import pytest

from patron.core.exceptions import PermissionDeniedError
from patron.leads import selectors, services
from patron.leads.models import Lead

from .factories import make_lead

pytestmark = pytest.mark.django_db


@pytest.fixture
def leads(admin_user, rep_north, rep_north_2, rep_south):
    return {
        "north": make_lead(admin_user, email="n@example.com", owner=rep_north),
        "north_2": make_lead(admin_user, email="n2@example.com", owner=rep_north_2),
        "south": make_lead(admin_user, email="s@example.com", owner=rep_south),
    }


def _visible(user):
    return set(selectors.lead_visible(user=user).values_list("email", flat=True))


def test_team_visibility(leads, rep_north, rep_south, manager_north, admin_user):
    assert _visible(rep_north) == {"n@example.com", "n2@example.com"}
    assert _visible(rep_south) == {"s@example.com"}
    assert _visible(manager_north) == {"n@example.com", "n2@example.com"}
    assert len(_visible(admin_user)) == 3


def test_private_visibility(leads, rep_north, manager_north, set_visibility):
    set_visibility("private")
    assert _visible(rep_north) == {"n@example.com"}
    assert _visible(manager_north) == {"n@example.com", "n2@example.com"}


def test_a_rep_cannot_change_anothers_lead(leads, rep_south):
    lead = leads["north"]
    with pytest.raises(PermissionDeniedError):
        services.lead_update(
            actor=rep_south, lead=lead, expected_version=lead.version, data={"first_name": "X"}
        )
    assert Lead.objects.get(pk=lead.pk).first_name == "Ada"


def test_service_agent_reads_only(leads, service_agent, rep_north):
    with pytest.raises(PermissionDeniedError):
        make_lead(service_agent)
    assert _visible(service_agent) == {"n@example.com", "n2@example.com"}
    with pytest.raises(PermissionDeniedError):
        services.lead_update(
            actor=service_agent,
            lead=leads["north"],
            expected_version=1,
            data={"first_name": "X"},
        )


def test_reps_may_not_delete(leads, rep_north, manager_north):
    with pytest.raises(PermissionDeniedError):
        services.lead_delete(actor=rep_north, lead=leads["north"])
    services.lead_delete(actor=manager_north, lead=leads["north"])
    assert not Lead.objects.filter(email="n@example.com").exists()
