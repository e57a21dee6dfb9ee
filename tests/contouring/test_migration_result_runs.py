"""Result and DVH rows keyed by their run: rows left without a run by older data."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from contouring import selectors
from contouring.models import ClinicalCase, ComparisonResult, StructureDose

BEFORE = [("contouring", "0016_run_structure_tasks")]


def _migrate(target) -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(target)


@pytest.mark.django_db(transaction=True)
def test_rows_without_a_run_go_to_the_last_succeeded_run():
    _migrate(BEFORE)
    old = MigrationExecutor(connection).loader.project_state(BEFORE).apps
    Case = old.get_model("contouring", "ClinicalCase")
    Structure = old.get_model("contouring", "CaseStructure")
    Run = old.get_model("contouring", "ComparisonRun")
    Result = old.get_model("contouring", "ComparisonResult")
    Dose = old.get_model("contouring", "StructureDose")
    Job = old.get_model("onco_hdf", "Job")

    def case_with_runs(pseudonym: str, *statuses: str):
        case = Case.objects.create(
            title=pseudonym, site="prostate", pseudonym=pseudonym, reference_file="rs.dcm"
        )
        structure = Structure.objects.create(case=case, name="Rectum", roi_number=1)
        runs = [
            Run.objects.create(case=case, job=Job.objects.create(kind="c", label="c", status=s))
            for s in statuses
        ]
        return case, structure, runs

    def result(case, structure, key: str, run=None, dsc=0.9):
        return Result.objects.create(
            case=case, structure=structure, kind="reference", pair_key=key, run=run, status="ok",
            dsc=dsc,
        )  # fmt: skip

    compared, rectum, (older, last_done, failed) = case_with_runs("P1", "done", "done", "failed")
    orphan = result(compared, rectum, "ref:1", dsc=0.81)
    own = result(compared, rectum, "ref:2", run=last_done, dsc=0.82)
    dose = Dose.objects.create(
        case=compared, structure=rectum, kind="reference", set_key="reference"
    )
    never, never_rectum, (never_run,) = case_with_runs("P2", "failed")
    result(never, never_rectum, "ref:3")
    Dose.objects.create(case=never, structure=never_rectum, kind="reference", set_key="reference")

    _migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())

    # Attached to the last succeeded run, not to the older one nor to the failed one.
    assert ComparisonResult.objects.get(pk=orphan.pk).run_id == last_done.pk
    assert StructureDose.objects.get(pk=dose.pk).run_id == last_done.pk
    case = ClinicalCase.objects.get(pk=compared.pk)
    assert dict(selectors.current_results(case).values_list("pk", "dsc")) == {
        orphan.pk: 0.81,
        own.pk: 0.82,
    }
    # A case that never had a succeeded run has no results to show: its rows are gone.
    assert not ComparisonResult.objects.filter(case_id=never.pk).exists()
    assert not StructureDose.objects.filter(case_id=never.pk).exists()
    assert {older.pk, failed.pk, never_run.pk}.isdisjoint(
        ComparisonResult.objects.values_list("run", flat=True)
    )
    # Two runs may now hold the same structure and pair, one run may not hold it twice.
    row = ComparisonResult.objects.get(pk=own.pk)
    row.pk, row.run_id = None, failed.pk
    row.save()
    row.pk = None
    with pytest.raises(IntegrityError), transaction.atomic():
        row.save()
