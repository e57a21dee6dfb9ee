"""Benchmark of the surveys app (``make bench``): filling page and survey report PDF.

- ``filling page``: GET of one page of 40 questions through the invitation link (Django's
  test client, whole request: middleware, selectors, template), median of 30 requests,
  and its SQL query count; the same page with 10 questions and with 200 other responses in
  the database shows the count does not grow. Target: median <= 50 ms.
- ``report PDF`` and ``report DOCX``: the survey report for 50 submitted responses x 30
  questions, from the job's context builder to the PDF (or Word) bytes; wall seconds and the
  tracemalloc peak of Python allocations. Targets: PDF <= 10 s, DOCX <= 5 s.

- ``filling page, per-vendor blocks``: the page of a section repeated for each vendor
  ticked earlier (5 vendors x 6 questions), median of the same requests and its query
  count, beside the same page for 1 vendor (the count does not grow). Target: <= 50 ms.

- ``autosave``: POST of the 40-question page to the autosave endpoint (what the page sends
  after a change), median round trip. Target: <= 30 ms.

- ``import``: a 200-field REDCap data dictionary and a 100-question LimeSurvey ``.lss``
  (French + English), both built by this script with the shapes of the shared real files
  (choices, checkboxes, validations, matrix groups, branching; groups, subquestions, answer
  options, relevance), from the uploaded bytes to the draft version in the database
  (conversion, the preview's validation, the import service); median of 5. Target: <= 2 s.

Runs on a throw-away SQLite database in a temporary folder (migrated first), so it never
touches the development database. ``--smoke`` (CI) runs every step with small sizes in a
few seconds to prove the benchmark works; its numbers are not the targets.
"""

from __future__ import annotations

import os
import random
import shutil
import statistics
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from urllib.parse import urlencode

SMOKE = "--smoke" in sys.argv[1:]
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
_TMP = tempfile.mkdtemp(prefix="bench-surveys-")
os.environ["DATABASE_URL"] = f"sqlite:///{_TMP}/bench.sqlite3"
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "onco_hdf.settings")
os.environ.setdefault("MEDIA_ROOT", f"{_TMP}/media")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402
from django.utils import timezone  # noqa: E402

from onco_hdf.governance import gates_suspended  # noqa: E402
from onco_hdf.jobs import job_create  # noqa: E402
from onco_hdf.models import Centre, Membership, Role  # noqa: E402
from onco_hdf.reports import report_render  # noqa: E402
from surveys import services  # noqa: E402
from surveys.demo import as_querydict  # noqa: E402
from surveys.interop import convert_upload  # noqa: E402
from surveys.interop.redcap import HEADER  # noqa: E402
from surveys.models import Campaign  # noqa: E402

KINDS = [
    "single",
    "multiple",
    "number",
    "likert",
    "matrix",
    "ranking",
    "text",
    "yes_no",
    "integer",
    "matrix_multi",
    "date",
    "long_text",
    "rating",
]
OPTIONS = [
    ["a", "Première option"],
    ["b", "Deuxième option"],
    ["c", "Troisième option"],
    ["d", "Quatrième option"],
]
ROWS = [["r1", "ORL"], ["r2", "Sein"], ["r3", "Prostate"]]


def questionnaire(count: int, code: str) -> dict:
    questions = []
    for i in range(count):
        kind = KINDS[i % len(KINDS)]
        q = {
            "code": f"Q{i:02d}",
            "type": kind,
            "label": f"Question {i} ({{{{Q00}}}})" if i else "Question 0",
        }
        if kind in ("single", "multiple", "likert", "matrix", "matrix_multi", "ranking"):
            q["options"] = OPTIONS
        if kind in ("matrix", "matrix_multi"):
            q["rows"] = ROWS
        if kind == "ranking":
            q["max_choices"] = 3
        if kind in ("number", "integer"):
            q.update(min_value=0, max_value=100)
        if kind == "rating":
            q.update(min_value=0, max_value=10)
        if i and i % 3 == 0:
            q["show_if"] = {"q": "Q00", "op": "in", "value": ["a", "b", "c"]}
        questions.append(q)
    half = count // 2
    return {
        "format": "onco-hdf-questionnaire",
        "code": code,
        "title": f"Banc {count}",
        "sections": [
            {"code": "P1", "title": "Page 1", "questions": questions[:half]},
            {"code": "P2", "title": "Page 2", "questions": questions[half:]},
        ],
    }


def answers_for(version, rng: random.Random) -> dict:
    data: dict = {}
    for q in version.questions.all():
        name = f"q-{q.code}"
        if q.type in ("single", "likert"):
            data[name] = rng.choice("abcd")
        elif q.type == "multiple":
            data[name] = rng.sample("abcd", rng.randint(1, 3))
        elif q.type in ("number", "integer"):
            data[name] = str(rng.randint(0, 100))
        elif q.type == "rating":
            data[name] = str(rng.randint(0, 10))
        elif q.type == "yes_no":
            data[name] = rng.choice(["yes", "no"])
        elif q.type == "matrix":
            for row in ("r1", "r2", "r3"):
                data[f"{name}-{row}"] = rng.choice("abcd")
        elif q.type == "matrix_multi":
            for row in ("r1", "r2", "r3"):
                data[f"{name}-{row}"] = rng.sample("abcd", rng.randint(1, 2))
        elif q.type == "ranking":
            for rank, code in enumerate(rng.sample("abcd", 3), 1):
                data[f"{name}-{rank}"] = code
        elif q.type == "date":
            data[name] = f"2024-{rng.randint(1, 12):02d}-15"
        else:
            data[name] = rng.choice(["Gain de temps", "Retouches fréquentes", "Très utile"])
    return data


def campaign_with(count: int, code: str, centres: list[Centre]) -> Campaign:
    version = services.questionnaire_import(data=questionnaire(count, code))
    services.version_publish(version=version, user=None)
    today = timezone.localdate()
    campaign = Campaign.objects.create(
        version=version, title=f"Banc {code}", opens_on=today, closes_on=today
    )
    campaign.centres.set(centres)
    return campaign


def fill(campaign: Campaign, centre: Centre, rng: random.Random, *, submit: bool):
    invitation = services.invitation_create(
        campaign=campaign, centre=centre, email=f"x@{centre.finess}.fr", send=False
    )
    actor = services.Actor.for_invitation(invitation)
    response = services.response_open(campaign=campaign, centre=centre, actor=actor)
    data = as_querydict(answers_for(campaign.version, rng))
    for section in ("P1", "P2"):
        services.response_save_section(
            response=response, section_code=section, data=data, actor=actor
        )
    if submit:
        services.response_submit(response=response, actor=actor)
    return services.invitation_token(invitation)


BLOCK_QUESTIONS = [
    {"code": "HOST", "type": "single", "label": "Hébergement", "required": True,
     "options": [["local", "Sur site"], ["cloud", "Cloud"]]},
    {"code": "HDS", "type": "yes_no", "label": "Hébergeur HDS ?",
     "show_if": {"q": "HOST", "op": "equals", "value": "cloud"}},
    {"code": "COST", "type": "number", "label": "Coût annuel", "unit": "€"},
    {"code": "CE", "type": "text", "label": "Classe CE"},
    {"code": "VER", "type": "text", "label": "Version"},
    {"code": "START", "type": "date", "label": "Mise en service"},
]  # fmt: skip


def blocks_token(vendors: int, centre: Centre) -> str:
    """A response whose page P2 repeats 6 questions for each of ``vendors`` vendors ticked."""
    codes = [f"v{i}" for i in range(1, vendors + 1)]
    data = {
        "format": "onco-hdf-questionnaire",
        "format_version": 1,
        "code": f"banc-blocs-{vendors}",
        "title": f"Banc blocs {vendors}",
        "sections": [
            {"code": "P1", "title": "Solutions", "questions": [
                {"code": "SOL", "type": "multiple", "label": "Solutions",
                 "options": [[c, f"Éditeur {c}"] for c in codes]}]},
            {"code": "P2", "title": "Solution", "repeat_for": "SOL",
             "questions": BLOCK_QUESTIONS},
        ],
    }  # fmt: skip
    version = services.questionnaire_import(data=data)
    services.version_publish(version=version, user=None)
    today = timezone.localdate()
    campaign = Campaign.objects.create(
        version=version, title=f"Banc blocs {vendors}", opens_on=today, closes_on=today
    )
    campaign.centres.set([centre])
    invitation = services.invitation_create(
        campaign=campaign, centre=centre, email=f"b@{centre.finess}.fr", send=False
    )
    actor = services.Actor.for_invitation(invitation)
    response = services.response_open(campaign=campaign, centre=centre, actor=actor)
    answers = {"q-SOL": codes}
    for c in codes:
        answers.update({f"q-HOST__{c}": "cloud", f"q-HDS__{c}": "yes", f"q-COST__{c}": "9000"})
        answers.update({f"q-CE__{c}": "IIa", f"q-VER__{c}": "3.1", f"q-START__{c}": "2024-03-15"})
    for section in ("P1", "P2"):
        services.response_save_section(
            response=response, section_code=section, data=as_querydict(answers), actor=actor
        )
    return services.invitation_token(invitation)


def page_timing(token: str, repeats: int, section: str = "P1") -> tuple[float, float, int]:
    """Median wall and CPU (process) milliseconds of one page, and its query count."""
    client = Client()
    url = f"/enquetes/r/{token}/page/{section}/"
    client.get(url)
    walls, cpus = [], []
    for _ in range(repeats):
        start, cpu = time.perf_counter(), time.process_time()
        response = client.get(url)
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
        assert response.status_code == 200
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    return statistics.median(walls) * 1000, statistics.median(cpus) * 1000, len(queries)


def autosave_timing(token: str, data: dict, repeats: int) -> tuple[float, float, int]:
    """Median wall and CPU milliseconds of one autosave of page P1, and its query count."""
    client = Client()
    url = f"/enquetes/r/{token}/page/P1/sauvegarde/"
    body = urlencode(data, doseq=True)  # as the page's script sends it
    walls, cpus = [], []
    for _ in range(repeats):
        start, cpu = time.perf_counter(), time.process_time()
        response = client.post(url, body, content_type=FORM_ENCODED)
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
        assert response.status_code == 200 and response.json()["ok"], response.content
    with CaptureQueriesContext(connection) as queries:
        client.post(url, body, content_type=FORM_ENCODED)
    return statistics.median(walls) * 1000, statistics.median(cpus) * 1000, len(queries)


def redcap_dictionary(fields: int) -> bytes:
    """A data dictionary of ``fields`` fields in 10 instruments, each kind of field in turn,
    most of them with branching on an earlier field (as in CCC19: 278 rules for 360)."""
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    radios: list[str] = []
    boxes: list[str] = []
    for i in range(fields):
        row = [""] * 18
        name = f"f{i:03d}"
        row[0], row[1], row[4] = name, f"form_{i * 10 // fields}", f"<b>Champ</b> {i}"
        kind = i % 8
        if kind in (0, 1):
            row[3], row[5] = "radio", "1, Oui | 0, Non | 99, Inconnu"
            radios.append(name)
        elif kind == 2:
            row[3] = "checkbox"
            row[5] = " | ".join(f"{c}, Choix {c}" for c in ("A", "B", "C", "D", "NONE"))
            row[17] = "@NONEOFTHEABOVE='NONE'"
            boxes.append(name)
        elif kind == 3:
            row[3], row[7], row[8], row[9] = "text", "integer", "0", "500"
        elif kind == 4:
            row[3], row[7] = "text", "date_dmy"
        elif kind == 5:
            row[3] = "notes"
        elif kind == 6:
            row[3], row[5], row[15] = "radio", "LO, Bas | WNL, Normal | HI, Haut", f"m{i // 40}"
        else:
            row[3] = "yesno"
        if i % 10 == 9:
            row[2] = f"Partie {i}"
        if radios and boxes and i % 4:
            row[11] = f"([{radios[-1]}] = '1' or [{boxes[-1]}(B)] = '1') and [{radios[0]}] <> '99'"
        row[12] = "y" if i % 5 == 0 else ""
        writer.writerow(row)
    return out.getvalue().encode()


def lss_survey(questions: int) -> bytes:
    """A .lss survey of ``questions`` questions in French and English, 10 per group: lists,
    multiple choices, arrays (subquestions + answers), numbers and texts, with question and
    group relevance equations."""
    from xml.sax.saxutils import escape

    def table(name: str, rows: list[dict]) -> str:
        body = "".join(
            "<row>" + "".join(f"<{k}>{escape(str(v))}</{k}>" for k, v in row.items()) + "</row>"
            for row in rows
        )
        return f"<{name}><rows>{body}</rows></{name}>"

    groups, rows, subs, answers, attributes = [], [], [], [], []
    qid = 1000
    for g in range(questions // 10):
        for lang in ("fr", "en"):
            groups.append({"gid": g + 1, "sid": 1, "group_name": f"Groupe {g}",
                           "group_order": g, "language": lang,
                           "grelevance": "" if g == 0 else "q0000 == \"A1\""})  # fmt: skip
        for k in range(10):
            n = g * 10 + k
            qid += 1
            qtype = "LMFNST"[k % 6]
            relevance = f'q{n - 1:04d}.NAOK != ""' if n and n % 2 else "1"
            for lang in ("fr", "en"):
                rows.append(
                    {
                        "qid": qid,
                        "parent_qid": 0,
                        "sid": 1,
                        "gid": g + 1,
                        "type": qtype,
                        "title": f"q{n:04d}",
                        "question": f"Question {n} {lang}",
                        "mandatory": "Y" if n % 3 == 0 else "N",
                        "question_order": k,
                        "relevance": relevance,
                        "language": lang,
                    }
                )
                if qtype in "LF":
                    for a in range(1, 6):
                        answers.append(
                            {
                                "qid": qid,
                                "code": f"A{a}",
                                "answer": f"Réponse {a}",
                                "sortorder": a,
                                "language": lang,
                                "scale_id": 0,
                            }
                        )
                if qtype in "MF":
                    for sq in range(1, 5):
                        subs.append({"qid": qid * 10 + sq, "parent_qid": qid, "sid": 1,
                                     "gid": g + 1, "type": "T", "title": f"SQ{sq:03d}",
                                     "question": f"Sous-question {sq}", "question_order": sq,
                                     "scale_id": 0, "language": lang})  # fmt: skip
            if qtype == "M":
                attributes.append({"qid": qid, "attribute": "exclude_all_others",
                                   "value": "SQ004"})  # fmt: skip
            if qtype == "N":
                attributes.append({"qid": qid, "attribute": "min_num_value_n", "value": "0"})
    document = (
        '<?xml version="1.0" encoding="UTF-8"?><document>'
        "<LimeSurveyDocType>Survey</LimeSurveyDocType><DBVersion>155</DBVersion>"
        + table("answers", answers)
        + table("groups", groups)
        + table("questions", rows)
        + table("subquestions", subs)
        + table("question_attributes", attributes)
        + table("surveys", [{"sid": 1, "language": "fr", "additional_languages": "en"}])
        + table(
            "surveys_languagesettings",
            [
                {"surveyls_survey_id": 1, "surveyls_language": lang, "surveyls_title": "Banc"}
                for lang in ("fr", "en")
            ],
        )  # fmt: skip
        + "</document>"
    )
    return document.encode()


def import_timing(name: str, content: bytes, repeats: int) -> tuple[float, float, int, int]:
    """Median wall and CPU seconds from the uploaded bytes to the draft in the database,
    the number of questions imported and the SQL queries of one import."""
    walls, cpus = [], []
    for _ in range(repeats + 1):
        start, cpu = time.perf_counter(), time.process_time()
        with CaptureQueriesContext(connection) as queries:
            conversion = convert_upload(name, content)
            services.validate_questionnaire_dict(conversion.data)
            version = services.questionnaire_import(data=conversion.data)
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    # The first run warms the caches (translations, imports); the medians are of the others.
    return (
        statistics.median(walls[1:]),
        statistics.median(cpus[1:]),
        version.questions.count(),
        len(queries),
    )


FORM_ENCODED = "application/x-www-form-urlencoded"
REPORT_KEYS = {"surveys.report": ("report PDF", 10), "surveys.report_docx": ("report DOCX", 5)}


def report_timing(manager, campaign: Campaign, key: str) -> tuple[float, float, int, bytes]:
    """One report job from its context builder to the document's bytes: wall and CPU
    seconds, then the tracemalloc peak of a second run."""
    job = job_create(
        kind="report",
        label="banc",
        user=manager,
        params={"report": key, "p_campaign": str(campaign.pk)},
    )
    start, cpu = time.perf_counter(), time.process_time()
    outcome = report_render(job, lambda progress, message="": None)
    seconds, cpu_seconds = time.perf_counter() - start, time.process_time() - cpu
    tracemalloc.start()
    report_render(job, lambda progress, message="": None)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return seconds, cpu_seconds, peak, outcome["result_content"]


def main() -> None:
    setup_test_environment()
    call_command("migrate", verbosity=0)
    rng = random.Random(7)
    # The report job runs as its requester, through the user-scoped campaign selector.
    manager = get_user_model().objects.create_user(username="bench-pm", email="pm@bench.fr")
    Membership.objects.create(user=manager, role=Role.PROJECT_MANAGER)
    n_centres = 6 if SMOKE else 50
    repeats = 3 if SMOKE else 30
    centres = [
        Centre.objects.create(
            name=f"Centre banc {i}",
            short_name=f"B{i}",
            finess=f"5900{i:05d}",
            city="Lille",
            departement="59",
            sector=rng.choice(["public", "private", "espic"]),
        )
        for i in range(n_centres)
    ]
    rows = []
    small = campaign_with(20, "banc-10", centres)  # 10 questions on page P1
    rows.append(
        (
            "filling page, 10 questions",
            *page_timing(fill(small, centres[0], rng, submit=False), repeats),
        )
    )
    big = campaign_with(80, "banc-40", centres)  # 40 questions on page P1
    token = fill(big, centres[0], rng, submit=False)
    rows.append(("filling page, 40 questions", *page_timing(token, repeats)))
    for centre in centres[1:]:
        fill(small, centre, rng, submit=True)
    others = f"filling page, 40 questions, +{len(centres) - 1} responses"
    rows.append((others, *page_timing(token, repeats)))
    for vendors in (1, 5):
        label = f"filling page, {vendors} vendor block(s) x 6 questions"
        rows.append((label, *page_timing(blocks_token(vendors, centres[0]), repeats, "P2")))
    page_data = {k: v for k, v in answers_for(big.version, rng).items() if k.split("-")[1] < "Q40"}
    save = autosave_timing(token, page_data, repeats)

    report = campaign_with(10 if SMOKE else 30, "banc-report", centres)
    for centre in centres:
        fill(report, centre, rng, submit=True)
    documents = {key: report_timing(manager, report, key) for key in REPORT_KEYS}
    imports = [
        ("REDCap dictionary, 200 fields", "banc.csv", redcap_dictionary(200)),
        ("LimeSurvey .lss, 100 questions, fr + en", "banc.lss", lss_survey(100)),
    ]
    imported = [(label, *import_timing(name, content, 2 if SMOKE else 5))
                for label, name, content in imports]  # fmt: skip

    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"{'filling page':<46} {'wall ms':>8} {'CPU ms':>8} {'queries':>8}")
    for label, wall, cpu_ms, count in rows:
        print(f"{label:<46} {wall:>8.1f} {cpu_ms:>8.1f} {count:>8}")
    print(f"(medians of {repeats} requests; target <= 50 ms, queries constant)")
    print()
    print(f"{'autosave':<46} {'wall ms':>8} {'CPU ms':>8} {'queries':>8}")
    print(f"{'page of 40 questions':<46} {save[0]:>8.1f} {save[1]:>8.1f} {save[2]:>8}")
    print(f"(median of {repeats} round trips; target <= 30 ms)")
    print()
    size = f"{len(centres)} responses x {report.version.questions.count()} questions"
    print(f"{'survey report':<46} {'wall s':>8} {'CPU s':>8} {'peak MB':>8}")
    for key, (seconds, cpu_seconds, peak, content) in documents.items():
        label, target = REPORT_KEYS[key]
        print(f"{f'{label}, {size}':<46} {seconds:>8.2f} {cpu_seconds:>8.2f} {peak / 1e6:>8.1f}")
        print(f"  ({len(content) / 1e3:.0f} kB; target <= {target} s)")
    print("(peak = tracemalloc peak of Python allocations, second run)")
    print()
    print(f"{'questionnaire import':<46} {'wall s':>8} {'CPU s':>8} {'queries':>8}")
    for label, seconds, cpu_seconds, count, queries in imported:
        print(f"{label:<46} {seconds:>8.2f} {cpu_seconds:>8.2f} {queries:>8}")
        print(f"  ({count} questions in the draft; target <= 2 s)")
    print(f"(medians of {2 if SMOKE else 5} imports after a first one, bytes to draft)")
    if SMOKE:
        print("(--smoke: checks that the benchmark runs; targets not evaluated)")


if __name__ == "__main__":
    try:
        with gates_suspended():  # the benchmark's questionnaires have no COPIL decision
            main()
    finally:
        connection.close()
        shutil.rmtree(_TMP, ignore_errors=True)
