"""Survey transitions on the shared workflow (onco_hdf.workflow).

- ResponseTransition: ``by`` renamed ``actor`` (the shared record's name), rows kept.
- VersionTransition: new record of a questionnaire version's moves, rebuilt from the
  version's history for the versions published or closed before.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

VERSION_STATUSES = [("draft", "Draft"), ("published", "Published"), ("closed", "Closed")]
RESPONSE_STATUSES = [
    ("in_progress", "In progress"),
    ("submitted", "Submitted"),
    ("reopened", "Reopened"),
]


def version_moves_from_history(apps, schema_editor):
    """One VersionTransition per change of status in the history of each version."""
    Historical = apps.get_model("surveys", "HistoricalQuestionnaireVersion")
    Transition = apps.get_model("surveys", "VersionTransition")
    Version = apps.get_model("surveys", "QuestionnaireVersion")
    existing = set(Version.objects.values_list("pk", flat=True))
    previous: dict[int, str] = {}
    rows = Historical.objects.order_by("id", "history_date", "history_id").values_list(
        "id", "status", "history_user_id", "history_date", "history_type"
    )
    for version_id, status, user_id, at, kind in rows:
        before = previous.get(version_id)
        previous[version_id] = status
        if kind == "-" or version_id not in existing:
            continue
        if before == status or (before is None and status == "draft"):
            continue
        step = Transition.objects.create(
            version_id=version_id, from_status=before or "", to_status=status, actor_id=user_id
        )
        Transition.objects.filter(pk=step.pk).update(at=at)  # ``at`` is set on creation


class Migration(migrations.Migration):
    dependencies = [
        ("surveys", "0010_campaign_text_themes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RenameField(model_name="responsetransition", old_name="by", new_name="actor"),
        migrations.AlterField(
            model_name="responsetransition",
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
            model_name="responsetransition",
            name="at",
            field=models.DateTimeField(auto_now_add=True, verbose_name="on"),
        ),
        migrations.AlterField(
            model_name="responsetransition",
            name="from_status",
            field=models.CharField(
                blank=True, choices=RESPONSE_STATUSES, max_length=30, verbose_name="from"
            ),
        ),
        migrations.AlterField(
            model_name="responsetransition",
            name="to_status",
            field=models.CharField(choices=RESPONSE_STATUSES, max_length=30, verbose_name="to"),
        ),
        migrations.CreateModel(
            name="VersionTransition",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("comment", models.TextField(blank=True, verbose_name="comment")),
                ("at", models.DateTimeField(auto_now_add=True, verbose_name="on")),
                (
                    "from_status",
                    models.CharField(
                        blank=True, choices=VERSION_STATUSES, max_length=30, verbose_name="from"
                    ),
                ),
                (
                    "to_status",
                    models.CharField(choices=VERSION_STATUSES, max_length=30, verbose_name="to"),
                ),
                (
                    "actor",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="by",
                    ),
                ),
                (
                    "version",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="transitions",
                        to="surveys.questionnaireversion",
                    ),
                ),
            ],
            options={
                "verbose_name": "questionnaire version transition",
                "verbose_name_plural": "questionnaire version transitions",
                "ordering": ["at", "pk"],
                "abstract": False,
            },
        ),
        migrations.RunPython(version_moves_from_history, migrations.RunPython.noop),
    ]
