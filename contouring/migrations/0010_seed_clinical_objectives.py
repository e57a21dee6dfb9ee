"""Common clinical objectives (breast, prostate, head and neck, lung), the project manager's
to change. Targets: D95 % ≥ 95 % of a usual prescription, written in Gy."""

from django.db import migrations

# (site, TG-263 structure, metric, x, comparator, threshold, note)
OBJECTIVES = [
    ("breast", "Heart", "dmean", None, "lt", 4.0, "sein gauche, 50 Gy / 25 fr."),
    ("breast", "Lung_L", "v_gy", 20.0, "lt", 25.0, "poumon homolatéral (sein gauche)"),
    ("breast", "Lung_R", "v_gy", 20.0, "lt", 25.0, "poumon homolatéral (sein droit)"),
    ("breast", "PTV", "d_pct", 95.0, "ge", 47.5, "95 % de 50 Gy"),
    ("breast", "PTV", "d_pct", 2.0, "le", 53.5, "107 % de 50 Gy"),
    ("prostate", "Rectum", "v_gy", 70.0, "lt", 20.0, "QUANTEC"),
    ("prostate", "Rectum", "v_gy", 50.0, "lt", 50.0, "QUANTEC"),
    ("prostate", "Bladder", "v_gy", 65.0, "lt", 50.0, "QUANTEC"),
    ("prostate", "Femur_Head_L", "dmax", None, "lt", 50.0, ""),
    ("prostate", "Femur_Head_R", "dmax", None, "lt", 50.0, ""),
    ("prostate", "PTV", "d_pct", 95.0, "ge", 74.1, "95 % de 78 Gy"),
    ("head_neck", "SpinalCord", "dmax", None, "lt", 45.0, "QUANTEC"),
    ("head_neck", "Brainstem", "dmax", None, "lt", 54.0, "QUANTEC"),
    ("head_neck", "Parotid_L", "dmean", None, "lt", 26.0, "QUANTEC"),
    ("head_neck", "Parotid_R", "dmean", None, "lt", 26.0, "QUANTEC"),
    ("head_neck", "Bone_Mandible", "dmax", None, "lt", 70.0, ""),
    ("head_neck", "PTV", "d_pct", 95.0, "ge", 66.5, "95 % de 70 Gy"),
    ("thorax", "Lungs", "v_gy", 20.0, "lt", 30.0, "QUANTEC"),
    ("thorax", "Lungs", "dmean", None, "lt", 20.0, "QUANTEC"),
    ("thorax", "Heart", "dmean", None, "lt", 20.0, ""),
    ("thorax", "SpinalCord", "dmax", None, "lt", 50.0, "QUANTEC"),
    ("thorax", "Esophagus", "dmean", None, "lt", 34.0, "QUANTEC"),
    ("thorax", "PTV", "d_pct", 95.0, "ge", 57.0, "95 % de 60 Gy"),
]


def seed(apps, schema_editor):
    ClinicalObjective = apps.get_model("contouring", "ClinicalObjective")
    for site, structure, metric, level, comparator, threshold, note in OBJECTIVES:
        ClinicalObjective.objects.get_or_create(
            site=site,
            structure=structure,
            metric=metric,
            level=level,
            defaults={"comparator": comparator, "threshold": threshold, "note": note},
        )


def unseed(apps, schema_editor):
    ClinicalObjective = apps.get_model("contouring", "ClinicalObjective")
    for site, structure, metric, level, *_rest in OBJECTIVES:
        ClinicalObjective.objects.filter(
            site=site, structure=structure, metric=metric, level=level
        ).delete()


class Migration(migrations.Migration):
    dependencies = [("contouring", "0009_clinical_objectives")]

    operations = [migrations.RunPython(seed, unseed)]
