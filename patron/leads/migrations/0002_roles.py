from django.db import migrations

# Lead permissions added to roles created before this app existed (new databases get them
# from core.roles.DEFAULT_ROLES through core's own data migration).
ROLE_PERMISSIONS = {
    "manager": ["lead.*", "leadrule.*"],
    "sales_rep": ["lead.view", "lead.add", "lead.change"],
    "marketer": ["lead.view", "lead.add", "lead.change", "leadrule.view"],
    "service_agent": ["lead.view"],
    "read_only": ["lead.view"],
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
    dependencies = [("leads", "0001_initial"), ("core", "0002_default_roles")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
