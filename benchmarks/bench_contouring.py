"""Benchmark of the contouring app (``make bench``): one full case from uploaded files to
every result, as a worker does it.

The case is a synthetic phantom (``contouring.phantoms.benchmark_spec``): a 512 × 512 ×
150 CT (1 × 1 × 2 mm), a reference with 20 structures and 6 simulated solutions. Steps
timed (wall-clock and CPU seconds, in one process, SQLite in a temporary folder, tasks
in-process; CPU counts the children it waits for, as the PDF is laid out in a forked child):

1. ingestion: case creation from a zip of the CT + the reference (staging, zip checks,
   de-identification, geometry and structure checks, storage);
2. six submissions (same checks, mapping suggestions) and their mapping confirmation;
3. the comparison job: every metric for 20 structures × (6 solutions vs reference +
   15 pairs of solutions + the majority-vote consensus);
4. the comparison report PDF (context with statistics, then WeasyPrint);
5. the reference RTDOSE's ingestion (a plan-like phantom dose on a 2.5 mm grid), then the
   DVH step as the comparison job runs it: the dose read and interpolated on the CT grid,
   and the DVH of 20 structures × 8 contour sets (reference, 6 solutions, consensus).

Then the comparison on real Celery workers (one task per structure, then the final step),
with 1 worker and then with 2 workers of concurrency 1 each, on a PostgreSQL database of
its own and the Redis broker (``BENCH_POSTGRES``, default ``postgres://postgres@127.0.0.1:5432``;
``CELERY_BROKER_URL``, default ``redis://127.0.0.1:6379/0``, on a queue of its own): the
ingestion, the submissions and the PDF are timed once in a second process, as the web
server does them, the comparison once per number of workers (the second run replaces the
first's rows, as a relaunch does); peak RSS is the largest of the worker processes'
(``VmHWM``). Without PostgreSQL or Redis these rows are skipped, saying so.

``--smoke`` runs the same steps on the small head-and-neck phantom (a few seconds), as CI
does, to prove the script still works; its figures say nothing about the targets.

``--dvh-only`` runs only what step 5 needs, in the embedded mode: the generation, the case's
ingestion (step 1, its row shown), then step 5 as the full run does it; with ``--smoke`` too.

Peak memory is the maximum resident set size of this process (the files are generated
in a child process so their generation does not count). Targets (issue 5): ≤ 60 s and
≤ 2 GB on one 2-core worker; DVH step (issue 19): ≤ 5 s on one worker.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TARGET_SECONDS = 60
TARGET_MB = 2048
TARGET_DVH_SECONDS = 5
TARGET_TWO_WORKERS = 0.6  # two workers: at most this share of one worker's time
DVH_LABEL = "HDV"
POSTGRES = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
BROKER = os.environ.get("CELERY_BROKER_URL") or "redis://127.0.0.1:6379/0"


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


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children: the report PDF is laid out
    in a forked child (``onco_hdf.pdf.render_pdf``), whose time process_time() misses."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _step(rows, label, start, cpu_start) -> None:
    rows.append((label, time.perf_counter() - start, cpu_seconds() - cpu_start, peak_mb()))


def _setup_django(database_url: str, media: Path, broker: str | None) -> None:
    os.environ["DATABASE_URL"] = database_url
    os.environ["MEDIA_ROOT"] = str(media)
    if broker:
        os.environ["CELERY_BROKER_URL"] = broker
    else:
        os.environ.pop("CELERY_BROKER_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "onco_hdf.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def run(
    folder: Path, smoke: bool = False, dvh_only: bool = False
) -> list[tuple[str, float, float, float]]:
    _setup_django(f"sqlite:///{folder / 'bench.sqlite3'}", folder / "media", None)
    from contouring import services

    spec = spec_for(smoke)
    rows = []
    case = ingest(folder, spec, rows, submissions=not dvh_only)
    if dvh_only:  # step 5 reads the solutions' files itself
        return rows + dvh_steps(folder, case, spec)

    start, cpu = time.perf_counter(), cpu_seconds()
    run = services.comparison_run_start(case=case, user=None, include_consensus=True)
    run.job.refresh_from_db()
    if run.job.status != "done":
        raise SystemExit(f"comparison failed: {run.job.message}")
    _step(rows, f"comparaison ({case.results.count()} résultats)", start, cpu)
    rows.append(report_step(case))
    rows += dvh_steps(folder, case, spec)
    return rows


def ingest(folder: Path, spec, rows: list, submissions: bool = True) -> object:
    """Steps 1 and 2: the case from its uploaded files, then (``submissions``) the six
    submissions."""
    from django.core.files import File

    from contouring import services
    from contouring.models import Solution
    from onco_hdf.models import Centre

    centre = Centre.objects.create(
        name="Bench",
        short_name="Bench",
        finess="590000999",
        city="Lille",
        departement="59",
        sector="public",
    )
    start, cpu = time.perf_counter(), cpu_seconds()
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
    if not submissions:
        return case

    start, cpu = time.perf_counter(), cpu_seconds()
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
    return case


def report_step(case) -> tuple[str, float, float, float]:
    """Step 4: the comparison report PDF (context with statistics, then WeasyPrint)."""
    from contouring.reports import build_comparison_report_context
    from onco_hdf.jobs import job_create
    from onco_hdf.pdf import render_pdf

    rows = []
    start, cpu = time.perf_counter(), cpu_seconds()
    job = job_create(kind="report", label="bench", params={"p_cases": str(case.pk)})
    spec_pdf = build_comparison_report_context(job=job, report=lambda *args: None)
    content = render_pdf(spec_pdf.template_name, spec_pdf.context)
    _step(rows, f"rapport PDF ({len(content) // 1024} Kio)", start, cpu)
    return rows[0]


def dvh_steps(folder: Path, case, spec) -> list[tuple[str, float, float, float]]:
    """The dose ingestion, then the DVH of every structure of the 8 contour sets."""
    from django.core.files import File

    from contouring import dosimetry, services
    from contouring.engine.dvh import read_rtdose
    from contouring.engine.rtstruct import read_rtstruct

    rows = []
    start, cpu = time.perf_counter(), cpu_seconds()
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
    start, cpu = time.perf_counter(), cpu_seconds()
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


# --- The comparison on real workers --------------------------------------------------------
def _services_up() -> str | None:
    """Why the workers' rows cannot run here (None: PostgreSQL and Redis answer)."""
    import socket
    from urllib.parse import urlsplit

    for url, what in ((POSTGRES, "PostgreSQL"), (BROKER, "Redis")):
        parts = urlsplit(url)
        try:
            socket.create_connection((parts.hostname, parts.port or 0), timeout=1).close()
        except OSError:
            return f"{what} injoignable ({parts.hostname}:{parts.port})"
    return None


def _vmhwm_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _group_pids(pgid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-g", str(pgid)], capture_output=True, text=True).stdout
    return [int(pid) for pid in out.split()]


class Worker:
    """``celery worker --concurrency=1`` on the bench's own queue, in its own process group."""

    def __init__(self, name: str, queue: str, env: dict, log: Path) -> None:
        self.log = log
        with open(log, "wb") as sink:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "onco_hdf", "worker", "--loglevel=INFO"]
                + ["--concurrency=1", "--pool=prefork", "-Q", queue, "-n", f"{name}@%h"]
                + ["--without-gossip", "--without-mingle", "--without-heartbeat"],
                cwd=ROOT,
                env=env,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        while b"ready." not in self.log.read_bytes():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"worker not ready:\n{self.log.read_text(errors='replace')}")
            time.sleep(0.2)

    def peak_mb(self) -> float:
        return max((_vmhwm_mb(pid) for pid in _group_pids(self.process.pid)), default=0.0)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)


def run_workers(folder: Path, smoke: bool, counts: tuple[int, ...]) -> dict:
    """Ingestion and PDF once (this process), the comparison once per number of workers."""
    import psycopg2

    name = f"onco_bench_{os.getpid()}"
    admin = psycopg2.connect(f"{POSTGRES}/postgres")
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{name}"')
    media = folder / "media-workers"
    try:
        _setup_django(f"{POSTGRES}/{name}", media, BROKER)
        from django.db import connections

        from contouring import services
        from onco_hdf.celery import app

        queue = f"bench-{uuid.uuid4().hex[:8]}"
        app.conf.task_always_eager = False
        app.conf.task_default_queue = queue
        env = {
            **os.environ,
            "DATABASE_URL": f"{POSTGRES}/{name}",
            "CELERY_BROKER_URL": BROKER,
            "MEDIA_ROOT": str(media),
            "CELERY_QUEUE": queue,  # the final step, sent by a worker, comes back to them
        }
        rows: list = []
        case = ingest(folder, spec_for(smoke), rows)
        comparisons = {}
        for count in counts:
            workers = [
                Worker(f"bench{i}-{queue}", queue, env, folder / f"worker-{count}-{i}.log")
                for i in range(count)
            ]
            try:
                for worker in workers:
                    worker.wait_ready()
                start = time.perf_counter()
                run = services.comparison_run_start(case=case, user=None, include_consensus=True)
                while True:
                    run.job.refresh_from_db()
                    if run.job.is_finished:
                        break
                    time.sleep(0.2)
                seconds = time.perf_counter() - start
                if run.job.status != "done":
                    raise SystemExit(f"comparison failed: {run.job.message}")
                peak = max(worker.peak_mb() for worker in workers)
            finally:
                for worker in workers:
                    worker.stop()
            comparisons[count] = (seconds, peak, case.results.count())
        rows.append(report_step(case))
        return {
            "rows": rows,
            "comparisons": {str(k): v for k, v in comparisons.items()},
            "load": os.getloadavg()[0],
        }
    finally:
        connections.close_all()
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.close()


def workers_table(folder: Path, smoke: bool) -> int:
    """Print the 1-worker and 2-worker rows (run in a process of their own)."""
    unavailable = _services_up()
    if unavailable:
        print(f"comparaison sur workers Celery : non mesurée ({unavailable})")
        return 0
    command = [sys.executable, __file__, "--workers", str(folder)]
    out = subprocess.run(
        command + (["--smoke"] if smoke else []), check=True, stdout=subprocess.PIPE, text=True
    ).stdout
    measured = json.loads(out.strip().splitlines()[-1])
    rows, comparisons = measured["rows"], measured["comparisons"]
    fixed = sum(row[1] for row in rows)
    width = 44
    print()
    print("Comparaison sur workers Celery (concurrence 1 chacun, PostgreSQL + Redis) :")
    print(f"{'étape'.ljust(width)}{'secondes':>10}{'pic RSS (Mo)':>15}")
    for label, seconds, _cpu, mb in rows:
        print(f"{label.ljust(width)}{seconds:>10.1f}{mb:>15.0f}")
    totals = {}
    for count, (seconds, peak, results) in comparisons.items():
        label = f"comparaison, {count} worker{'s' if count != '1' else ''} ({results} résultats)"
        print(f"{label.ljust(width)}{seconds:>10.1f}{peak:>15.0f}  (pic d'un worker)")
        totals[count] = fixed + seconds
    for count, total in totals.items():
        print(f"{f'total avec {count} worker(s)'.ljust(width)}{total:>10.1f}")
    print(f"(charge de la machine à la fin : {measured['load']:.1f})")
    if smoke:
        return 0
    one, two = totals.get("1"), totals.get("2")
    peak = max(max(v[1] for v in comparisons.values()), max(row[3] for row in rows))
    print(
        f"objectif 1 worker ≤ {TARGET_SECONDS} s et ≤ {TARGET_MB} Mo : "
        f"{'atteint' if one <= TARGET_SECONDS and peak <= TARGET_MB else 'NON atteint'}"
        f" ({one:.1f} s)"
    )
    print(
        f"objectif 2 workers ≤ {TARGET_TWO_WORKERS} × 1 worker : "
        f"{'atteint' if two <= TARGET_TWO_WORKERS * one else 'NON atteint'}"
        f" ({two / one:.2f} ×)"
    )
    return 0


def main() -> int:
    smoke = "--smoke" in sys.argv[1:]
    if len(sys.argv) >= 3 and sys.argv[1] == "--generate":
        generate(Path(sys.argv[2]), smoke)
        return 0
    if len(sys.argv) >= 3 and sys.argv[1] == "--workers":
        print(json.dumps(run_workers(Path(sys.argv[2]), smoke, (1, 2))))
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
        dvh_only = "--dvh-only" in sys.argv[1:]
        if "--workers-only" not in sys.argv[1:]:
            # In a process of its own: Django is set up once per process, here on SQLite.
            command = [sys.executable, __file__, "--inline", str(folder)]
            flags = [f for f in ("--smoke", "--dvh-only") if f in sys.argv[1:]]
            subprocess.run(command + flags, check=True)
        if "--inline-only" not in sys.argv[1:] and not dvh_only:
            workers_table(folder, smoke)
    return 0


def inline_table(folder: Path, smoke: bool, dvh_only: bool = False) -> int:
    """Steps 1 to 5 (``dvh_only``: 1 and 5) in one process, tasks in-line, SQLite: the
    embedded mode."""
    rows = run(folder, smoke, dvh_only)
    total = sum(row[1] for row in rows)
    cpu = sum(row[2] for row in rows)
    peak = max(row[3] for row in rows)
    width = max(len(row[0]) for row in rows) + 2
    print("Mode embarqué (un seul processus, tâches en ligne, SQLite) :")
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
    if dvh_only:
        return 0
    total -= sum(row[1] for row in rows[-2:])  # the issue-5 target covers steps 1 to 4
    verdict = total <= TARGET_SECONDS and peak <= TARGET_MB
    print(
        f"objectif ≤ {TARGET_SECONDS} s et ≤ {TARGET_MB} Mo : "
        f"{'atteint' if verdict else 'NON atteint'}"
    )
    return 0


if __name__ == "__main__":
    if len(sys.argv) >= 3 and sys.argv[1] == "--inline":
        flags = sys.argv[3:]
        sys.exit(inline_table(Path(sys.argv[2]), "--smoke" in flags, "--dvh-only" in flags))
    sys.exit(main())
