"""Rows without a run (their run was deleted) go to the case's last succeeded run.

Before this, a case held one row per structure and pair whatever the run, so the rows of a
case without a run never collide with that run's own. A case with no succeeded run has no
results to show under the new rule (rows belong to a run): its rows without a run are
deleted.
"""

from django.db import migrations


def attach_to_last_succeeded_run(apps, schema_editor):
    ComparisonRun = apps.get_model("contouring", "ComparisonRun")
    for model_name in ("ComparisonResult", "StructureDose"):
        model = apps.get_model("contouring", model_name)
        orphans = model.objects.filter(run__isnull=True)
        for case_id in orphans.values_list("case_id", flat=True).distinct():
            run = (
                ComparisonRun.objects.filter(case_id=case_id, job__status="done")
                .order_by("-created_at", "-pk")
                .first()
            )
            rows = orphans.filter(case_id=case_id)
            if run is None:
                rows.delete()
            else:
                rows.update(run=run)


class Migration(migrations.Migration):
    dependencies = [
        ("contouring", "0016_run_structure_tasks"),
        ("onco_hdf", "0014_job_parent"),
    ]

    operations = [
        migrations.RunPython(attach_to_last_succeeded_run, migrations.RunPython.noop),
    ]
