"""Convention and crisis transitions on the shared workflow (onco_hdf.workflow).

Both records keep their rows: ``user`` renamed ``actor`` (the shared record's name), the
statuses widened to the shared length, ``at`` set on creation as in every other record.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

CONVENTION_STATUSES = [
    ("draft", "Draft"),
    ("negotiation", "Negotiation"),
    ("awaiting_signature", "Awaiting signature"),
    ("in_force", "In force"),
    ("renewal_due", "Renewal due"),
    ("expired", "Expired"),
    ("terminated", "Terminated"),
]
CRISIS_STATUSES = [
    ("alert", "Alert"),
    ("declared", "Declared"),
    ("transfers", "Transfers in progress"),
    ("stabilised", "Stabilised"),
    ("return", "Return in progress"),
    ("lifted", "Lifted"),
    ("retex", "Lessons learned (RETEX)"),
    ("closed", "Closed"),
]


def shared_fields(model_name: str, statuses: list[tuple[str, str]]) -> list:
    return [
        migrations.RenameField(model_name=model_name, old_name="user", new_name="actor"),
        migrations.AlterField(
            model_name=model_name,
            name="actor",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="by",
            ),
        ),
        migrations.AlterField(
            model_name=model_name,
            name="at",
            field=models.DateTimeField(auto_now_add=True, verbose_name="on"),
        ),
        migrations.AlterField(
            model_name=model_name,
            name="comment",
            field=models.TextField(blank=True, verbose_name="comment"),
        ),
        migrations.AlterField(
            model_name=model_name,
            name="from_status",
            field=models.CharField(
                blank=True, choices=statuses, max_length=30, verbose_name="from"
            ),
        ),
        migrations.AlterField(
            model_name=model_name,
            name="to_status",
            field=models.CharField(choices=statuses, max_length=30, verbose_name="to"),
        ),
    ]


class Migration(migrations.Migration):
    dependencies = [
        ("cyber_continuity", "0010_machine_capacity"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        *shared_fields("conventiontransition", CONVENTION_STATUSES),
        migrations.AlterModelOptions(
            name="conventiontransition",
            options={
                "ordering": ["at", "pk"],
                "verbose_name": "convention transition",
                "verbose_name_plural": "convention transitions",
            },
        ),
        *shared_fields("crisistransition", CRISIS_STATUSES),
        migrations.AlterModelOptions(
            name="crisistransition",
            options={
                "ordering": ["at", "pk"],
                "verbose_name": "crisis transition",
                "verbose_name_plural": "crisis transitions",
            },
        ),
    ]
