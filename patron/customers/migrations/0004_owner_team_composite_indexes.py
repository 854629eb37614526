"""Contacts and accounts: owner and team are indexed by the (owner, name) and (team, name)
indexes only, which also serve the foreign keys.

Dropped by name rather than through AlterField, which on SQLite would rebuild the whole
table (and lose the search triggers of the customer tables).
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0006_fewer_audit_indexes"),
        ("customers", "0003_lower_email_and_account_name_indexes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="account",
                    name="owner",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                migrations.AlterField(
                    model_name="account",
                    name="team",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="core.team",
                    ),
                ),
                migrations.AlterField(
                    model_name="contact",
                    name="owner",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                migrations.AlterField(
                    model_name="contact",
                    name="team",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="core.team",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    [
                        "DROP INDEX IF EXISTS customers_contact_owner_id_2fff17f2",
                        "DROP INDEX IF EXISTS customers_contact_team_id_a48691cf",
                        "DROP INDEX IF EXISTS customers_account_owner_id_5429b70a",
                        "DROP INDEX IF EXISTS customers_account_team_id_a93f3d16",
                    ],
                    [
                        "CREATE INDEX customers_contact_owner_id_2fff17f2 ON customers_contact (owner_id)",
                        "CREATE INDEX customers_contact_team_id_a48691cf ON customers_contact (team_id)",
                        "CREATE INDEX customers_account_owner_id_5429b70a ON customers_account (owner_id)",
                        "CREATE INDEX customers_account_team_id_a93f3d16 ON customers_account (team_id)",
                    ],
                )
            ],
        ),
    ]
