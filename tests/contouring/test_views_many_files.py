"""A CT series sent as separate files: more than Django's default 100 files go through,
the app's own limit gives a French form message with what was typed kept, and a folder
picker is offered (its index and hidden files are left out)."""

from __future__ import annotations

import html

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from contouring.models import ClinicalCase
from tests.conftest import login
from tests.contouring.conftest import uploaded
from tests.requirements import need_shared_data


def _post(client, **files):
    return client.post(
        reverse("contouring:case-create"),
        {"title": "Fantôme matRad", "site": "other", "description": "Série", **files},
    )


def test_the_matrad_series_as_101_separate_files_goes_through(pm):
    folder = need_shared_data("matrad-phantom")
    slices = sorted(folder.glob("ct_slice_*.dcm"))
    assert len(slices) == 100
    response = _post(
        login(pm),
        ct_files=[uploaded(p) for p in slices],
        reference=uploaded(folder / "RTstruct.dcm"),
    )
    assert response.status_code == 302, html.unescape(response.content.decode())[:3000]
    assert ClinicalCase.objects.get().ct_slice_count == 100


def test_the_app_limit_gives_a_french_message_and_keeps_what_was_typed(pm, pelvis_files, settings):
    settings.CONTOURING_MAX_FILES = 20
    response = _post(
        login(pm),
        ct_files=[uploaded(p) for p in pelvis_files.ct_files],
        reference=uploaded(pelvis_files.reference),
    )
    assert response.status_code == 200
    page = html.unescape(response.content.decode())
    assert "Le dépôt contient trop de fichiers (limite : 20)." in page
    assert 'value="Fantôme matRad"' in page and "Série</textarea>" in page
    assert 'data-max-files="20"' in page  # the browser checks it before sending next time
    assert ClinicalCase.objects.count() == 0


def test_a_folder_of_the_series_with_its_index_and_hidden_files(pm, pelvis_files):
    clutter = [
        SimpleUploadedFile("DICOMDIR", b"index"),
        SimpleUploadedFile(".DS_Store", b"finder"),
    ]
    response = _post(
        login(pm),
        ct_folder=[*clutter, *(uploaded(p) for p in pelvis_files.ct_files)],
        reference=uploaded(pelvis_files.reference),
    )
    assert response.status_code == 302, html.unescape(response.content.decode())[:3000]
    assert ClinicalCase.objects.get().ct_slice_count == len(pelvis_files.ct_files)


def test_the_form_offers_a_folder_picker_and_asks_for_a_series(pm):
    client = login(pm)
    page = html.unescape(client.get(reverse("contouring:case-create")).content.decode())
    assert "webkitdirectory" in page and "… ou le dossier de la série CT" in page
    assert 'data-max-files="3000"' in page and "js/uploads.js" in page
    response = _post(client)
    assert "Choisissez la série CT : un zip, ses fichiers ou son dossier." in html.unescape(
        response.content.decode()
    )
