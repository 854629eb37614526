from django.db import migrations


def create_roles(apps, schema_editor):
    from patron.core.roles import DEFAULT_ROLES

    Role = apps.get_model("core", "Role")
    OrganisationSettings = apps.get_model("core", "OrganisationSettings")
    for spec in DEFAULT_ROLES:
        Role.objects.update_or_create(slug=spec["slug"], defaults={
            k: v for k, v in spec.items() if k != "slug"
        })
    OrganisationSettings.objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]

    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
