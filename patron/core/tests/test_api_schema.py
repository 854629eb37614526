"""Property-based run over the OpenAPI document: no request, however odd, gets a 5xx.

Set PATRON_FUZZ_EXAMPLES for a longer run (examples per operation; default 12).
"""

import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from patron.core import services
from patron.customers import services as customer_services
from patron.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/openapi.json", application)


@pytest.fixture
def keep_test_connection():
    """Like Django's test client: the WSGI app must not close the test transaction's
    connection at the end of each request."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def admin_key(admin_user, keep_test_connection):
    """An admin's token, and a few records for the generated ids to sometimes hit."""
    contact = customer_services.contact_create(
        actor=admin_user,
        data={"first_name": "Ada", "last_name": "Lovelace"},
        emails=[{"email": "ada@example.com"}],
        phones=[{"number": "020 7946 0018"}],
    )
    account = customer_services.account_create(actor=admin_user, data={"name": "Engines"})
    customer_services.relationship_add(actor=admin_user, contact=contact, account=account)
    customer_services.timeline_entry_create(
        actor=admin_user, kind="task", contact=contact, subject="Call back"
    )
    _, key = services.api_token_create(actor=admin_user, name="fuzz")
    return key


@schema.parametrize()
@settings(
    max_examples=int(os.environ.get("PATRON_FUZZ_EXAMPLES", "12")),
    deadline=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
@pytest.mark.django_db
def test_no_server_errors(case, admin_key):
    response = case.call(headers={"Authorization": f"Bearer {admin_key}"})
    case.validate_response(response, checks=[not_a_server_error])
