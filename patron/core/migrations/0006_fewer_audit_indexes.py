"""Audit events keep the indexes their queries use: (content type, object), (parent type,
parent), request id (equality only) and the rest; the single-column indexes that the
composite ones already cover go, since every index costs each of the millions of events a
large import writes.

Dropped by name rather than through AlterField, which on SQLite would rebuild the whole
table (and lose the search triggers of the customer tables).
"""

import django.db.models.deletion
from django.db import migrations, models

from patron.core.db import VendorSQL


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("core", "0005_audit_review_action"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="auditevent",
                    name="content_type",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="contenttypes.contenttype",
                    ),
                ),
                migrations.AlterField(
                    model_name="auditevent",
                    name="parent_type",
                    field=models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="contenttypes.contenttype",
                    ),
                ),
                migrations.AlterField(
                    model_name="auditevent",
                    name="request_id",
                    field=models.CharField(max_length=64),
                ),
            ],
            database_operations=[
                # PostgreSQL only: the pattern-ops twin Django adds to an indexed CharField.
                VendorSQL(
                    vendor="postgresql",
                    sql=[],
                    reverse_sql=[
                        "CREATE INDEX core_auditevent_request_id_0f60cdac_like "
                        "ON core_auditevent (request_id varchar_pattern_ops)"
                    ],
                ),
                migrations.RunSQL(
                    [
                        "DROP INDEX IF EXISTS core_auditevent_request_id_0f60cdac",
                        "DROP INDEX IF EXISTS core_auditevent_request_id_0f60cdac_like",
                        "DROP INDEX IF EXISTS core_auditevent_content_type_id_1d8b5390",
                        "DROP INDEX IF EXISTS core_auditevent_parent_type_id_eaea05f9",
                    ],
                    [
                        "CREATE INDEX core_auditevent_request_id_0f60cdac ON core_auditevent (request_id)",
                        "CREATE INDEX core_auditevent_content_type_id_1d8b5390 ON core_auditevent (content_type_id)",
                        "CREATE INDEX core_auditevent_parent_type_id_eaea05f9 ON core_auditevent (parent_type_id)",
                    ],
                )
            ],
        ),
        migrations.AddIndex(
            model_name="auditevent",
            index=models.Index(fields=["request_id"], name="audit_request_idx"),
        ),
    ]
