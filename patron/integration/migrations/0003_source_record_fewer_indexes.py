"""Source records: source and last run are indexed by the unique (source, source key)
constraint and `source_record_run_idx` only.

Dropped by name rather than through AlterField, which on SQLite would rebuild the whole
table (and lose the search triggers of the customer tables).
"""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("integration", "0002_source_permissions"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="sourcerecord",
                    name="last_run",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="integration.importrun",
                    ),
                ),
                migrations.AlterField(
                    model_name="sourcerecord",
                    name="source",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="records",
                        to="integration.source",
                    ),
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    [
                        "DROP INDEX IF EXISTS integration_sourcerecord_source_id_b704dbc1",
                        "DROP INDEX IF EXISTS integration_sourcerecord_last_run_id_f8080225",
                    ],
                    [
                        "CREATE INDEX integration_sourcerecord_source_id_b704dbc1 ON integration_sourcerecord (source_id)",
                        "CREATE INDEX integration_sourcerecord_last_run_id_f8080225 ON integration_sourcerecord (last_run_id)",
                    ],
                )
            ],
        ),
    ]
