from django.db import migrations

# Commerce permissions added to roles created before this app existed (new databases get them
# from core.roles.DEFAULT_ROLES through core's own data migration).
ROLE_PERMISSIONS = {
    "manager": ["product.*", "pricelist.*", "quote.*", "order.*"],
    "sales_rep": [
        "product.view",
        "pricelist.view",
        "quote.view",
        "quote.add",
        "quote.change",
        "order.view",
        "order.add",
        "order.change",
    ],
    "marketer": ["product.view", "pricelist.view"],
    "service_agent": ["product.view", "pricelist.view", "quote.view", "order.view"],
    "read_only": ["product.view", "pricelist.view", "quote.view", "order.view"],
}


def grant_permissions(apps, schema_editor):
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
    dependencies = [("commerce", "0001_initial"), ("core", "0002_default_roles")]

    operations = [migrations.RunPython(grant_permissions, migrations.RunPython.noop)]
