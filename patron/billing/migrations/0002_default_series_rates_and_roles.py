from decimal import Decimal

from django.db import migrations

# Billing permissions added to roles created before this app existed (new databases get them
# from core.roles.DEFAULT_ROLES through core's own data migration).
ROLE_PERMISSIONS = {
    "manager": ["invoice.*", "payment.*"],
    "sales_rep": ["invoice.view"],
    "service_agent": ["invoice.view"],
    "read_only": ["invoice.view"],
}

SERIES = [
    ("INV", "Invoices", "invoice"),
    ("CN", "Credit notes", "credit_note"),
]

# What an hour costs by default; the admin changes them under Billing › Cost rates.
RATES = {"call": Decimal("60.00"), "meeting": Decimal("90.00")}


def defaults(apps, schema_editor):
    InvoiceSeries = apps.get_model("billing", "InvoiceSeries")
    for code, name, kind in SERIES:
        if not InvoiceSeries.objects.filter(kind=kind).exists():
            InvoiceSeries.objects.create(code=code, name=name, kind=kind, is_default=True)
    CostRate = apps.get_model("billing", "CostRate")
    for activity, rate in RATES.items():
        CostRate.objects.get_or_create(activity=activity, defaults={"hourly_rate": rate})
    Role = apps.get_model("core", "Role")
    for slug, permissions in ROLE_PERMISSIONS.items():
        role = Role.objects.filter(slug=slug).first()
        if role is None:
            continue
        granted = list(role.permissions or [])
        missing = [p for p in permissions if p not in granted]
        if missing:
            role.permissions = granted + missing
            role.save(update_fields=["permissions"])


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial"), ("core", "0002_default_roles")]

    operations = [migrations.RunPython(defaults, migrations.RunPython.noop)]
