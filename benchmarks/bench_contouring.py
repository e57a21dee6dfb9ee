"""Benchmark of the contouring app (``make bench``): one full case from uploaded files to
every result, as a worker does it.

The case is a synthetic phantom (``contouring.phantoms.benchmark_spec``): a 512 × 512 ×
150 CT (1 × 1 × 2 mm), a reference with 20 structures and 6 simulated solutions. Steps
timed (wall-clock and CPU seconds, in one process, SQLite in a temporary folder, tasks in-process):

1. ingestion: case creation from a zip of the CT + the reference (staging, zip checks,
   de-identification, geometry and structure checks, storage);
2. six submissions (same checks, mapping suggestions) and their mapping confirmation;
3. the comparison job: every metric for 20 structures × (6 solutions vs reference +
   15 pairs of solutions + the majority-vote consensus);
4. the comparison report PDF (context with statistics, then WeasyPrint);
5. the reference RTDOSE's ingestion (a plan-like phantom dose on a 2.5 mm grid), then the
   DVH step as the comparison job runs it: the dose read and interpolated on the CT grid,
   and the DVH of 20 structures × 8 contour sets (reference, 6 solutions, consensus).

``--smoke`` runs the same steps on the small head-and-neck phantom (a few seconds), as CI
does, to prove the script still works; its figures say nothing about the targets.

Peak memory is the maximum resident set size of this process (the files are generated
in a child process so their generation does not count). Targets (issue 5): ≤ 60 s and
≤ 2 GB on one 2-core worker; DVH step (issue 19): ≤ 5 s on one worker.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TARGET_SECONDS = 60
TARGET_MB = 2048
TARGET_DVH_SECONDS = 5
DVH_LABEL = "HDV"


def spec_for(smoke: bool):
    from contouring import phantoms

    return phantoms.HEAD_NECK if smoke else phantoms.benchmark_spec()


def generate(folder: Path, smoke: bool = False) -> None:
    from contouring import phantoms

    generated = phantoms.write_case(spec_for(smoke), folder)
    phantoms.write_rtdose(generated.spec, folder / "RD.dcm", phantoms.case_uids(generated.spec))
    with zipfile.ZipFile(folder / "ct.zip", "w", zipfile.ZIP_STORED) as archive:
        for path in generated.ct_files:
            archive.write(path, f"CT/{path.name}")


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _step(rows, label, start, cpu_start) -> None:
    rows.append((label, time.perf_counter() - start, time.process_time() - cpu_start, peak_mb()))


def run(folder: Path, smoke: bool = False) -> list[tuple[str, float, float, float]]:
    os.environ["DATABASE_URL"] = f"sqlite:///{folder / 'bench.sqlite3'}"
    os.environ["MEDIA_ROOT"] = str(folder / "media")
    os.environ.pop("CELERY_BROKER_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "onco_hdf.settings")
    import django

    django.setup()
    from django.core.files import File
    from django.core.management import call_command

    from contouring import services
    from contouring.models import Solution
    from onco_hdf.models import Centre

    call_command("migrate", verbosity=0)
    centre = Centre.objects.create(
        name="Bench",
        short_name="Bench",
        finess="590000999",
        city="Lille",
        departement="59",
        sector="public",
    )
    spec = spec_for(smoke)
    rows = []

    start, cpu = time.perf_counter(), time.process_time()
    with open(folder / "ct.zip", "rb") as ct, open(folder / "RS_reference.dcm", "rb") as ref:
        case = services.case_create(
            title="Benchmark",
            site="other",
            description="",
            user=None,
            ct_uploads=[File(ct, name="ct.zip")],
            reference_upload=File(ref, name="RS.dcm"),
        )
    _step(rows, "ingestion du CT et de la référence", start, cpu)

    start, cpu = time.perf_counter(), time.process_time()
    for simulated in spec.solutions:
        solution = Solution.objects.create(
            vendor=simulated.vendor, product=simulated.product, model_version=simulated.version
        )
        with open(folder / f"RS_{simulated.key}.dcm", "rb") as handle:
            submission, _warnings = services.submission_create(
                case=case,
                solution=solution,
                centre=centre,
                user=None,
                attested=True,
                upload=File(handle, name=f"RS_{simulated.key}.dcm"),
            )
        services.mapping_confirm(
            submission=submission,
            user=None,
            choices={m.structure_id: m.roi_id for m in submission.mappings.all()},
        )
    _step(rows, f"{len(spec.solutions)} soumissions + correspondances", start, cpu)

    start, cpu = time.perf_counter(), time.process_time()
    run = services.comparison_run_start(case=case, user=None, include_consensus=True)
    run.job.refresh_from_db()
    if run.job.status != "done":
        raise SystemExit(f"comparison failed: {run.job.message}")
    _step(rows, f"comparaison ({case.results.count()} résultats)", start, cpu)

    from contouring.reports import build_comparison_report_context
    from onco_hdf.jobs import job_create
    from onco_hdf.pdf import render_pdf

    start, cpu = time.perf_counter(), time.process_time()
    job = job_create(kind="report", label="bench", params={"p_cases": str(case.pk)})
    spec_pdf = build_comparison_report_context(job=job, report=lambda *args: None)
    content = render_pdf(spec_pdf.template_name, spec_pdf.context)
    _step(rows, f"rapport PDF ({len(content) // 1024} Kio)", start, cpu)
    rows += dvh_steps(folder, case, spec)
    return rows


def dvh_steps(folder: Path, case, spec) -> list[tuple[str, float, float, float]]:
    """The dose ingestion, then the DVH of every structure of the 8 contour sets."""
    from django.core.files import File

    from contouring import dosimetry, services
    from contouring.engine.dvh import read_rtdose
    from contouring.engine.rtstruct import read_rtstruct

    rows = []
    start, cpu = time.perf_counter(), time.process_time()
    with open(folder / "RD.dcm", "rb") as handle:
        case_dose, _warnings = services.case_dose_attach(
            case=case, dose_upload=File(handle, name="RD.dcm"), user=None
        )
    _step(rows, "ingestion de la dose RTDOSE", start, cpu)
    geometry = services.case_geometry(case)
    structures = list(case.structures.filter(is_compared=True))
    reference = read_rtstruct(folder / "RS_reference.dcm")
    tests = {s.key: read_rtstruct(folder / f"RS_{s.key}.dcm") for s in spec.solutions}
    levels = {s.pk: [5.0, 20.0] for s in structures}
    start, cpu = time.perf_counter(), time.process_time()
    with services.local_paths([case_dose.file.name]) as (path,):
        dose = read_rtdose(path)
    dvhs = dosimetry.structure_set_dvhs(
        geometry,
        dose,
        reference,
        tests,
        structures,
        levels,
        # The 8 sets: the majority vote as the consensus (the job also gives the
        # STAPLE consensus its DVH, on the mask its metrics step already built).
        consensus=lambda _name, masks, voters: {
            dosimetry.CONSENSUS_KEY: services.majority_vote(masks, voters, geometry)
        },
    )
    sets = len(tests) + 2
    label = (
        f"{DVH_LABEL} : {len(structures)} structures × {sets} jeux, grille de dose "
        f"{' × '.join(str(n) for n in dose.shape)} ({len(dvhs)} HDV)"
    )
    _step(rows, label, start, cpu)
    return rows


def main() -> int:
    smoke = "--smoke" in sys.argv[1:]
    if len(sys.argv) >= 3 and sys.argv[1] == "--generate":
        generate(Path(sys.argv[2]), smoke)
        return 0
    with tempfile.TemporaryDirectory(prefix="bench-contouring-") as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        command = [sys.executable, __file__, "--generate", str(folder)]
        subprocess.run(command + (["--smoke"] if smoke else []), check=True)
        described = (
            "petit cas tête et cou (--smoke)"
            if smoke
            else "cas 512×512×150, 20 structures, 6 solutions"
        )
        print(f"génération du {described} : {time.perf_counter() - started:.1f} s (non comptée)")
        rows = run(folder, smoke)
    total = sum(row[1] for row in rows)
    cpu = sum(row[2] for row in rows)
    peak = max(row[3] for row in rows)
    width = max(len(row[0]) for row in rows) + 2
    print(f"{'étape'.ljust(width)}{'secondes':>10}{'CPU (s)':>10}{'pic RSS (Mo)':>15}")
    for label, seconds, cpu_seconds, mb in rows:
        print(f"{label.ljust(width)}{seconds:>10.1f}{cpu_seconds:>10.1f}{mb:>15.0f}")
    print(f"{'total'.ljust(width)}{total:>10.1f}{cpu:>10.1f}{peak:>15.0f}")
    print(
        f"(charge de la machine : {os.getloadavg()[0]:.1f} ; le temps réel dépend d'elle, "
        "le temps CPU beaucoup moins)"
    )
    if smoke:
        print("(--smoke : vérifie que le banc tourne ; objectifs non évalués)")
        return 0
    dvh_seconds = sum(row[1] for row in rows if row[0].startswith(DVH_LABEL))
    print(
        f"objectif HDV ≤ {TARGET_DVH_SECONDS} s : "
        f"{'atteint' if dvh_seconds <= TARGET_DVH_SECONDS else 'NON atteint'}"
        f" ({dvh_seconds:.1f} s)"
    )
    total -= sum(row[1] for row in rows[-2:])  # the issue-5 target covers steps 1 to 4
    verdict = total <= TARGET_SECONDS and peak <= TARGET_MB
    print(
        f"objectif ≤ {TARGET_SECONDS} s et ≤ {TARGET_MB} Mo : "
        f"{'atteint' if verdict else 'NON atteint'}"
    )
    print(
        "(un seul processus, tâches en ligne : la mesure avec 1 puis 2 workers attend le "
        "découpage d'une comparaison en une tâche par structure)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
