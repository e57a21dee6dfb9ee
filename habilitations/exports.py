"""XLSX export of the competence matrix (formula injection neutralised)."""

from __future__ import annotations

from io import BytesIO

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from habilitations.models import Level
from onco_hdf.exports import safe_cell


def matrix_xlsx(matrix) -> bytes:
    labels = dict(Level.choices)
    book = Workbook()
    sheet = book.active
    sheet.title = _("Matrix")[:31]
    header = [_("Physician"), _("Centre"), _("Status")] + [
        f"{a.code} — {a.label}" for a in matrix.activities
    ]
    sheet.append([safe_cell(str(h)) for h in header])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row_sheet, levels in matrix.rows:
        sheet.append(
            [
                safe_cell(row_sheet.physician_name),
                safe_cell(row_sheet.centre.label),
                str(row_sheet.get_status_display()),
                *[str(labels[level]) if level else "" for level in levels],
            ]
        )
    counts = book.create_sheet(_("Counts")[:31])
    counts.append([str(_("Activity")), *[str(label) for label in Level.labels]])
    for activity, values in matrix.counts:
        counts.append([safe_cell(f"{activity.code} — {activity.label}"), *values])
    buffer = BytesIO()
    book.save(buffer)
    return buffer.getvalue()
