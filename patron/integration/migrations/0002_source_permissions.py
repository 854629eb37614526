"""Give the default roles of an existing installation the permissions of the integration app
(a new installation gets them from core.roles when its roles are created)."""

from django.db import migrations

GRANTS = {
    "manager": ["source.*"],
    "marketer": ["source.view", "source.change"],
}


def grant(apps, schema_editor):
    Role = apps.get_model("core", "Role")
    for slug, permissions in GRANTS.items():
        role = Role.objects.filter(slug=slug).first()
        if role is None:
            continue
        missing = [p for p in permissions if p not in role.permissions]
        if missing:
            role.permissions = [*role.permissions, *missing]
            role.save(update_fields=["permissions"])


class Migration(migrations.Migration):
    dependencies = [("integration", "0001_initial"), ("core", "0002_default_roles")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
