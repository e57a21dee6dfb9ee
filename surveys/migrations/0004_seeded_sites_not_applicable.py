"""The seeded auto-contouring questionnaire: its per-site matrices get a "Non utilisé" column.

Without it a centre using AI for some sites only could not submit the required C1_SITES
matrix. Adding a column changes no stored answer, so it is also applied to published versions.
"""

from django.db import migrations

CODE = "contourage-automatique"
MATRICES = ("C1_SITES", "C5_RETOUCHES")


def add_column(apps, schema_editor):
    Question = apps.get_model("surveys", "Question")
    Question.objects.filter(
        version__questionnaire__code=CODE, code__in=MATRICES, not_applicable_label=""
    ).update(not_applicable_label="Non utilisé")


class Migration(migrations.Migration):
    dependencies = [("surveys", "0003_question_not_applicable_column")]

    operations = [migrations.RunPython(add_column, migrations.RunPython.noop)]
