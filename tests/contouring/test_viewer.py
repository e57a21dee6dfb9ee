"""Slice viewer: the page, and slice PNGs with solutions toggled and window presets."""

from __future__ import annotations

import html
import io

import numpy as np
from django.urls import reverse
from PIL import Image

from contouring.overlays import REFERENCE_COLOUR, SOLUTION_COLOURS
from tests.conftest import login
from tests.contouring.conftest import create_case, submit


def _colours(content: bytes) -> set:
    image = np.asarray(Image.open(io.BytesIO(content)).convert("RGB"))
    return {tuple(int(v) for v in p) for p in image.reshape(-1, 3)}


def test_viewer_page_and_toggled_slices(head_neck_files, pm, centre_a, oncologist_b):
    case = create_case(head_neck_files, pm)
    first, _w = submit(case, head_neck_files, 1, centre_a, pm)
    second, _w = submit(case, head_neck_files, 2, centre_a, pm)
    structure = case.structures.get(name="Parotid_L")
    client = login(pm)
    page = html.unescape(
        client.get(
            reverse("contouring:structure-viewer", args=[case.pk, structure.pk])
        ).content.decode()
    )
    assert 'id="viewer-slice"' in page and f'max="{len(case.ct_files) - 1}"' in page
    assert first.short_label in page and second.short_label in page
    assert "Os (1800 / 400 UH)" in page and "contouring/viewer.js" in page
    assert "<script>" not in page.split("</nav>")[1] and 'style="' not in page

    k = len(case.ct_files) // 2
    url = reverse("contouring:overlay-image", args=[case.pk, structure.pk, k])
    everything = _colours(client.get(url).content)
    assert SOLUTION_COLOURS[0] in everything and SOLUTION_COLOURS[1] in everything
    only_second = _colours(client.get(url, {"s": str(second.pk)}).content)
    # Hiding the first keeps the second in its own colour.
    assert SOLUTION_COLOURS[0] not in only_second and SOLUTION_COLOURS[1] in only_second
    reference_only = _colours(client.get(url, {"s": "-"}).content)
    assert REFERENCE_COLOUR in reference_only
    assert not {SOLUTION_COLOURS[0], SOLUTION_COLOURS[1]} & reference_only
    assert client.get(url, {"wl": "bone"}).content != client.get(url).content
    # Another centre's oncologist sees the page without centre A's solutions.
    other = login(oncologist_b).get(
        reverse("contouring:structure-viewer", args=[case.pk, structure.pk])
    )
    assert other.status_code == 200 and first.short_label not in other.content.decode()
