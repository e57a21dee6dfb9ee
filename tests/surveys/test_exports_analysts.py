"""Exports for analysts: in-progress responses with their status, "not asked" apart from
"not answered", numeric codes in the codebook, labels within the packages' limits, and the
R and SPSS syntax run by R and PSPP on the data CSV they come with."""

import io
import os
import subprocess
import tempfile
import zipfile

import pytest
from django.urls import reverse

from onco_hdf.models import Centre
from surveys import exports, services
from surveys.services import Actor
from tests.conftest import login
from tests.requirements import need_binary
from tests.surveys.factories import CampaignFactory, invite, post, published_version
from tests.surveys.factories import questionnaire_data as base_questionnaire
from tests.surveys.test_exports import by_centre, read_csv

pytestmark = pytest.mark.django_db

NOT_ASKED = "Question non posée (masquée par le filtrage)"
NOT_ANSWERED = "Sans réponse"


@pytest.fixture
def centre_d(db):
    return Centre.objects.create(
        name="Centre D (test)",
        short_name="D",
        finess="590000004",
        city="Douai",
        departement="59",
        sector="private",
    )


@pytest.fixture
def in_progress(dataset, centre_d):
    """A fourth centre that has started: Q1 = "a" (so Q2 and RT are shown), nothing else."""
    dataset.centres.add(centre_d)
    invitation, _token = invite(dataset, centre_d, "ref@d.example.org")
    actor = Actor.for_invitation(invitation)
    response = services.response_open(campaign=dataset, centre=centre_d, actor=actor)
    result = services.response_save_section(
        response=response, section_code="S1", data=post({"q-Q1": "a"}), actor=actor
    )
    assert not result.errors
    return dataset


def read_stat(content: bytes, suffix: str, **options):
    import pyreadstat

    fd, path = tempfile.mkstemp(suffix=suffix)
    with os.fdopen(fd, "wb") as handle:
        handle.write(content)
    try:
        reader = pyreadstat.read_sav if suffix == ".sav" else pyreadstat.read_dta
        return reader(path, **options)
    finally:
        os.unlink(path)


def test_not_asked_and_not_answered_have_distinct_codes_in_the_csv(dataset):
    rows = by_centre(read_csv(exports.export_csv(dataset)))
    a, b, c = rows["Centre A"], rows["Centre B"], rows["Centre C"]
    assert (b["Q2"], b["RT"]) == ("-8", "-8")  # B answered Q1 = b: Q2 and RT hidden
    assert (c["MM__orl__oar"], c["MM__sein__ctv"]) == ("-9", "-9")  # shown, left empty
    assert (b["MM__orl__oar"], b["MM__sein__oar"]) == ("1", "-9")  # a matrix row left empty
    assert (a["MM__sein__oar"], a["MM__sein__ctv"]) == ("1", "0")
    assert (c["Y1"], c["Y1_label"]) == ("yes", "Oui")
    assert b["R1__t"] == ""  # not in B's ranking: empty, not "not answered"
    assert c["D1"] == ""  # a text or date keeps no code


def test_in_progress_responses_only_on_request_with_their_status(in_progress):
    submitted = by_centre(read_csv(exports.export_csv(in_progress)))
    assert set(submitted) == {"Centre A", "Centre B", "Centre C"}
    assert {r["status"] for r in submitted.values()} == {"submitted"}
    rows = by_centre(read_csv(exports.export_csv(in_progress, include_in_progress=True)))
    assert set(rows) == {"Centre A", "Centre B", "Centre C", "Centre D"}
    d = rows["Centre D"]
    assert (d["status"], d["status_label"], d["submitted_at"]) == ("in_progress", "En cours", "")
    assert (d["Q1"], d["Q2"], d["RT"], d["I1"]) == ("a", "-9", "-9", "-9")  # shown, empty
    assert (d["Q2"], rows["Centre B"]["Q2"]) == ("-9", "-8")


def test_export_view_takes_the_in_progress_option(in_progress, pm):
    client = login(pm)
    url = reverse("surveys:campaign-export", args=[in_progress.pk, "csv"])
    plain = client.get(url)
    assert "Centre D" not in plain.content.decode("utf-8")
    both = client.get(url, {"en_cours": "1"})
    assert both.status_code == 200
    assert "Centre D" in both.content.decode("utf-8")
    assert "avec-en-cours.csv" in both["Content-Disposition"]
    # The form on the campaign page: format and option as fields.
    page = client.get(reverse("surveys:campaign-detail", args=[in_progress.pk])).content.decode()
    assert 'name="en_cours"' in page and 'name="format"' in page
    form = client.get(
        reverse("surveys:campaign-export-form", args=[in_progress.pk]),
        {"format": "long", "en_cours": "1"},
    )
    assert form.status_code == 200
    assert "reponses-long-avec-en-cours.csv" in form["Content-Disposition"]
    assert "Centre D" in form.content.decode("utf-8")


def test_export_form_with_an_unknown_format_says_so_in_french(dataset, pm):
    page = login(pm).get(
        reverse("surveys:campaign-export-form", args=[dataset.pk]), {"format": "pdf"}, follow=True
    )
    assert page.status_code == 200
    assert "Choisissez un format d’export de la liste." in page.content.decode()


def test_codebook_gives_numeric_codes_and_the_missing_codes(dataset):
    rows = {r["variable"]: r for r in read_csv(exports.export_codebook(dataset))}
    assert rows["Q1"]["values"] == "1=Oui; 2=Non; 3=En projet"
    assert rows["MM__orl__oar"]["values"] == "1=Oui; 0=Non"
    assert rows["status"]["values"] == "1=Envoyée; 2=En cours; 3=Rouverte"
    assert (rows["Q2"]["missing_not_asked"], rows["Q2"]["missing_not_answered"]) == ("-8", "-9")
    assert rows["Q2"]["missing_values"] == (
        f"{NOT_ASKED} = -8 (Stata .a); {NOT_ANSWERED} = -9 (Stata .b)"
    )
    assert rows["Q4"]["missing_not_asked"] == ""  # a text has no code
    assert rows["Q1"]["choices"] == "a=Oui; b=Non; c=En projet"  # unchanged column


def test_a_number_that_may_be_negative_gets_codes_out_of_its_range(dataset):
    question = dataset.version.questions.get(code="Q2")
    assert exports.missing_codes_for(question) == (-8, -9)  # minimum 0
    question.min_value = None
    assert exports.missing_codes_for(question) == (-99998, -99999)
    question.min_value = -10
    assert exports.missing_codes_for(question) == (-99998, -99999)


def test_spss_file_declares_the_missing_codes(dataset):
    frame, meta = read_stat(exports.export(dataset, "sav")[0], ".sav", user_missing=True)
    rows = {row["centre"][:8]: row for row in frame.to_dict("records")}
    assert rows["Centre B"]["Q2"] == -8 and rows["Centre C"]["MM__orl__oar"] == -9
    assert meta.missing_ranges["Q2"] == [{"lo": -8.0, "hi": -8.0}, {"lo": -9.0, "hi": -9.0}]
    assert meta.variable_value_labels["Q2"] == {-8.0: NOT_ASKED, -9.0: NOT_ANSWERED}
    assert meta.variable_value_labels["Q1"][1.0] == "Oui"
    assert meta.variable_value_labels["status"] == {
        1.0: "Envoyée",
        2.0: "En cours",
        3.0: "Rouverte",
    }
    plain, _meta = read_stat(exports.export(dataset, "sav")[0], ".sav")
    assert plain["Q2"].isna().sum() == 1  # B only: SPSS reads the code as missing


def test_stata_file_uses_extended_missing_values(in_progress):
    content = exports.export(in_progress, "dta", include_in_progress=True)[0]
    frame, meta = read_stat(content, ".dta", user_missing=True)
    rows = {row["centre"][:8]: row for row in frame.to_dict("records")}
    assert rows["Centre B"]["Q2"] == "a" and rows["Centre D"]["Q2"] == "b"
    assert rows["Centre C"]["MM__orl__oar"] == "b"
    assert rows["Centre A"]["Q2"] == 42
    assert meta.missing_user_values["Q2"] == ["a", "b"]
    assert meta.variable_value_labels["Q1"] == {
        1: "Oui",
        2: "Non",
        3: "En projet",
        "a": NOT_ASKED,
        "b": NOT_ANSWERED,
    }


def long_label_campaign(centre):
    """Labels longer than Stata's 80 characters that a plain cut would make identical."""
    data = base_questionnaire()
    long = "Dans votre centre, pour la radiothérapie externe des localisations suivantes, " * 2
    first, second = data["sections"][0]["questions"][:2]
    first["label"] = long + "quelle est la solution ?"
    second["label"] = long + "quelle est la part ?"
    matrix = data["sections"][1]["questions"][0]
    matrix["label"] = long
    matrix["rows"] = [["r1", "Ligne 1"], ["r2", "Ligne 2"]]
    return CampaignFactory(version=published_version(data))


def test_stata_and_spss_labels_are_unique_within_their_limits(centre_a):
    campaign = long_label_campaign(centre_a)
    _frame, meta = read_stat(exports.export(campaign, "dta")[0], ".dta")
    labels = meta.column_names_to_labels
    assert max(len(label) for label in labels.values()) <= 80
    assert len(set(labels.values())) == len(labels)
    assert labels["M1__r1"].endswith("… — Ligne 1") and labels["M1__r2"].endswith("— Ligne 2")
    assert labels["Q1"].endswith(" [Q1]") or labels["Q2"].endswith(" [Q2]")
    _frame, meta = read_stat(exports.export(campaign, "sav")[0], ".sav")
    labels = meta.column_names_to_labels
    assert max(len(label.encode()) for label in labels.values()) <= 256
    assert len(set(labels.values())) == len(labels)
    assert labels["Q1"].endswith("quelle est la solution ?")  # 180 characters fit in SPSS


def test_label_fitting_keeps_rows_and_suffixes_collisions():
    assert exports.fit_label("court", 80) == "court"
    fitted = exports.fit_label("x" * 100 + " — Ligne 1", 40)
    assert fitted == "x" * 29 + "… — Ligne 1" and len(fitted) == 40
    assert len(exports.fit_label("é" * 200, 120, in_bytes=True).encode()) <= 120
    unique = exports.unique_labels({"A": "y" * 90, "B": "y" * 90 + "z"}, 80)
    assert unique["A"] == "y" * 79 + "…" and unique["B"].endswith("… [B]")
    assert len(unique["B"]) == 80


def syntax_files(campaign, fmt, folder):
    content, content_type, filename = exports.export(campaign, fmt, include_in_progress=True)
    assert content_type == "application/zip"
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        names = sorted(archive.namelist())
        archive.extractall(folder)
    return filename, names


def test_r_syntax_reads_the_data_with_labels_factors_and_missing_reasons(in_progress, tmp_path):
    rscript = need_binary("Rscript")
    in_progress.title = "Enquête régionale"
    in_progress.save()
    filename, names = syntax_files(in_progress, "r", tmp_path)
    assert filename == "enquete-regionale-r-avec-en-cours.zip"
    assert names == [
        "enquete-regionale-dictionnaire.csv",
        "enquete-regionale-donnees.csv",
        "enquete-regionale.R",
    ]
    check = (
        'source("enquete-regionale.R", encoding = "UTF-8");'
        'cat(nrow(donnees), levels(donnees$Q1), sep = "|"); cat("\\n");'
        'cat(attr(donnees$Q2, "label"), attr(donnees$Q1, "label"), sep = "|"); cat("\\n");'
        'cat(as.character(donnees$Q1), sep = "|"); cat("\\n");'
        'cat(donnees$Q2, sep = "|"); cat("\\n");'
        'cat(as.character(manquants$Q2), sep = "|"); cat("\\n");'
        'cat(as.character(donnees$status), sep = "|"); cat("\\n");'
        'cat(donnees$Q4, sep = "|"); cat("\\n")'
    )
    out = subprocess.run(
        [rscript, "--vanilla", "-e", check],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "LANG": "C.UTF-8"},
    )
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "4|Oui|Non|En projet"
    assert lines[1] == "Part des patients|Équipé ?"
    assert lines[2] == "Oui|Non|Oui|Oui"  # A, B, C, D in centre order
    assert lines[3] == "42|NA|58|NA"
    assert lines[4] == f"NA|{NOT_ASKED}|NA|{NOT_ANSWERED}"
    assert lines[5] == "Envoyée|Envoyée|Envoyée|En cours"
    assert lines[6] == 'Court|\'=HYPERLINK("x")|NA|NA'


def test_spss_syntax_run_by_pspp_gives_the_same_file_as_the_sav_export(in_progress, tmp_path):
    pspp = need_binary("pspp")
    _filename, names = syntax_files(in_progress, "sps", tmp_path)
    script = next(n for n in names if n.endswith(".sps"))
    with open(tmp_path / script, "a", encoding="utf-8") as handle:
        handle.write("SAVE OUTFILE='pspp.sav'.\n")
    out = subprocess.run(
        [pspp, "-O", "format=txt", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    assert "error" not in out.stdout.lower(), out.stdout
    import pyreadstat

    ours, ours_meta = read_stat(
        exports.export(in_progress, "sav", include_in_progress=True)[0], ".sav", user_missing=True
    )
    theirs, meta = pyreadstat.read_sav(str(tmp_path / "pspp.sav"), user_missing=True)
    assert list(theirs.columns) == list(ours.columns)
    assert meta.column_names_to_labels == ours_meta.column_names_to_labels
    assert meta.variable_value_labels == ours_meta.variable_value_labels
    assert meta.missing_ranges == ours_meta.missing_ranges
    for column in ("response_id", "status", "Q1", "Q2", "Q3__x", "MM__sein__ctv", "R1__c"):
        assert theirs[column].fillna(-1).tolist() == ours[column].fillna(-1).tolist(), column
    # The data CSV keeps a text that a spreadsheet would run as a formula quoted.
    assert theirs["Q4"].str.strip().tolist() == ["Court", '\'=HYPERLINK("x")', "", ""]
    assert ours["Q4"].tolist() == ["Court", '=HYPERLINK("x")', "", ""]


@pytest.mark.parametrize("fmt", list(exports.FORMATS))
def test_every_format_works_before_the_first_response(campaign, fmt):
    content, _type, filename = exports.export(campaign, fmt, include_in_progress=True)
    assert content
    assert filename.endswith("-avec-en-cours." + exports.CONTENT_TYPES[fmt][1]) == (
        fmt != "codebook"
    )


@pytest.fixture
def demo_campaign(db):
    from onco_hdf import demo as core_demo
    from surveys import demo
    from surveys.models import Campaign

    core_demo.seed()
    demo.seed()
    return Campaign.objects.get(title=demo.CAMPAIGN_TITLE)


def test_seeded_survey_exports_for_stata_spss_and_pspp(demo_campaign, tmp_path):
    """The regional questionnaire's real labels and branching, through every package."""
    import pyreadstat

    content = exports.export(demo_campaign, "dta", include_in_progress=True)[0]
    frame, meta = read_stat(content, ".dta", user_missing=True)
    assert len(frame) == 13
    assert sorted(frame["status"].value_counts().to_dict().items()) == [(1, 11), (2, 2)]
    labels = list(meta.column_names_to_labels.values())
    assert max(len(label) for label in labels) <= 80 and len(set(labels)) == len(labels)
    codes = frame.drop(columns=["centre", "sector", "departement", "submitted_at"])
    cells = codes.astype(str).to_numpy().ravel().tolist()
    assert cells.count("a") > 0 and cells.count("b") > 0  # branching, and unfinished pages
    sav, sav_meta = read_stat(
        exports.export(demo_campaign, "sav", include_in_progress=True)[0],
        ".sav",
        user_missing=True,
    )
    assert (sav.to_numpy() == -8).sum() == cells.count("a")
    pspp = need_binary("pspp")
    _filename, names = syntax_files(demo_campaign, "sps", tmp_path)
    script = next(n for n in names if n.endswith(".sps"))
    with open(tmp_path / script, "a", encoding="utf-8") as handle:
        handle.write("SAVE OUTFILE='pspp.sav'.\n")
    out = subprocess.run(
        [pspp, "-O", "format=txt", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0 and "error" not in out.stdout.lower(), out.stdout + out.stderr
    theirs, meta = pyreadstat.read_sav(str(tmp_path / "pspp.sav"), user_missing=True)
    assert meta.column_names_to_labels == sav_meta.column_names_to_labels
    assert meta.variable_value_labels == sav_meta.variable_value_labels
    assert meta.missing_ranges == sav_meta.missing_ranges
    numeric = [c for c in sav.columns if sav[c].dtype != object]
    assert theirs[numeric].fillna(-1).equals(sav[numeric].fillna(-1))
    rscript = need_binary("Rscript")
    _filename, names = syntax_files(demo_campaign, "r", tmp_path)
    script = next(n for n in names if n.endswith(".R"))
    check = (
        f'source("{script}", encoding = "UTF-8");'
        'cat(nrow(donnees), ncol(donnees), sum(manquants == "Sans réponse", na.rm = TRUE),'
        ' sep = "|")'
    )
    out = subprocess.run(
        [rscript, "--vanilla", "-e", check],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "LANG": "C.UTF-8"},
    )
    assert out.returncode == 0, out.stderr
    rows, columns, not_answered = (int(n) for n in out.stdout.split("|"))
    assert (rows, columns) == (13, len(sav.columns))
    assert not_answered == (sav.to_numpy() == -9).sum() > 0
