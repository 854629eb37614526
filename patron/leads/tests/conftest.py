import pytest
from django.core.cache import cache

from patron.core.tests.factories import UserFactory, role
from patron.leads.models import WebForm


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Rate-limit counters live in the cache: every test starts with none."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def marketer(team_north):
    return UserFactory(username="marketer", role=role("marketer"), team=team_north)


@pytest.fixture
def service_agent(team_north):
    return UserFactory(username="agent", role=role("service_agent"), team=team_north)


@pytest.fixture
def web_form(db, rep_north):
    return WebForm.objects.create(
        name="Contact us",
        slug="contact-us",
        allowed_fields=["first_name", "last_name", "email", "company", "job_title", "country"],
        default_owner=rep_north,
        campaign="Spring webinar",
    )
