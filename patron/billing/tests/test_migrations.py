import importlib
from decimal import Decimal

import pytest
from django.apps import apps

from patron.billing.models import CostRate, InvoiceSeries
from patron.core.models import Role

pytestmark = pytest.mark.django_db

migration = importlib.import_module("patron.billing.migrations.0002_default_series_rates_and_roles")


def test_roles_of_older_databases_get_billing_permissions():
    manager = Role.objects.get(slug="manager")
    manager.permissions = [
        p for p in manager.permissions if not p.startswith(("invoice", "payment"))
    ]
    manager.save()
    rep = Role.objects.get(slug="sales_rep")
    rep.permissions = [p for p in rep.permissions if p != "invoice.view"]
    rep.save()
    migration.defaults(apps, None)
    migration.defaults(apps, None)  # twice: nothing doubled
    manager.refresh_from_db()
    rep.refresh_from_db()
    assert [p for p in manager.permissions if p.startswith(("invoice", "payment"))] == [
        "invoice.*",
        "payment.*",
    ]
    assert rep.permissions.count("invoice.view") == 1
    assert "payment.add" not in rep.permissions


def test_default_series_and_rates():
    series = {s.code: (s.kind, s.is_default, s.next_number) for s in InvoiceSeries.objects.all()}
    assert series == {"INV": ("invoice", True, 1), "CN": ("credit_note", True, 1)}
    rates = dict(CostRate.objects.values_list("activity", "hourly_rate"))
    assert rates == {"call": Decimal("60.00"), "meeting": Decimal("90.00")}
