"""Cost rates from a day on: existing rates apply from 2000-01-01, as they always did."""

import datetime
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0003_order_product_and_document_discount"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="costrate",
            options={"ordering": ["activity", "valid_from"]},
        ),
        migrations.AddField(
            model_name="costrate",
            name="valid_from",
            field=models.DateField(
                default=datetime.date(2000, 1, 1),
                help_text="The rate applies to time logged from this day on.",
            ),
        ),
        migrations.AlterField(
            model_name="costrate",
            name="activity",
            field=models.CharField(
                choices=[("call", "Call"), ("meeting", "Meeting")], max_length=20
            ),
        ),
        migrations.AddConstraint(
            model_name="costrate",
            constraint=models.UniqueConstraint(
                fields=("activity", "valid_from"), name="cost_rate_from"
            ),
        ),
    ]
