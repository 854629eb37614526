from django.db import migrations

STAGES = [
    ("Qualification", 10, "open"),
    ("Needs analysis", 25, "open"),
    ("Proposal", 50, "open"),
    ("Negotiation", 75, "open"),
    ("Won", 100, "won"),
    ("Lost", 0, "lost"),
]

# Sales permissions added to roles created before this app existed (new databases get them
# from core.roles.DEFAULT_ROLES through core's own data migration).
ROLE_PERMISSIONS = {
    "manager": ["opportunity.*", "pipeline.*"],
    "sales_rep": ["opportunity.view", "opportunity.add", "opportunity.change", "pipeline.view"],
    "marketer": ["opportunity.view", "pipeline.view"],
    "service_agent": ["opportunity.view", "pipeline.view"],
    "read_only": ["opportunity.view", "pipeline.view"],
}


def create_default_pipeline(apps, schema_editor):
    Pipeline = apps.get_model("sales", "Pipeline")
    Stage = apps.get_model("sales", "Stage")
    if not Pipeline.objects.exists():
        pipeline = Pipeline.objects.create(name="Sales", is_default=True, ordering=0)
        for order, (name, probability, kind) in enumerate(STAGES):
            Stage.objects.create(
                pipeline=pipeline, name=name, order=order, probability=probability, kind=kind
            )
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
    dependencies = [("sales", "0001_initial"), ("core", "0002_default_roles")]

    operations = [migrations.RunPython(create_default_pipeline, migrations.RunPython.noop)]
