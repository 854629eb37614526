from django.db import migrations

# Permissions added to roles created before this app existed (new databases get them from
# core.roles.DEFAULT_ROLES through core's own data migration).
ROLE_PERMISSIONS = {
    "manager": ["forecast.*", "quota.*", "commission.*"],
    "sales_rep": ["forecast.view", "quota.view", "commission.view"],
    "read_only": ["forecast.view"],
}


def grant(apps, schema_editor):
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
    dependencies = [("performance", "0001_initial"), ("core", "0002_default_roles")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
