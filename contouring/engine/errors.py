"""Errors and warnings of the contour engine, with French and English messages.

Every problem has a stable ``code`` (the web app stores it and tests assert it), the file it
concerns and named parameters; the sentence shown to a person is built from the catalogue
below, so the same problem always reads the same way in both languages.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# code -> (French, English). Placeholders are filled from ``file`` and ``params``.
MESSAGES: dict[str, tuple[str, str]] = {
    # Input files
    "file_not_found": (
        "Le fichier ou dossier {file} est introuvable.",
        "The file or folder {file} does not exist.",
    ),
    "not_dicom": (
        "Le fichier {file} n'est pas un fichier DICOM.",
        "The file {file} is not a DICOM file.",
    ),
    "truncated": (
        "Le fichier {file} est tronqué ou endommagé : il est incomplet ({detail}).",
        "The file {file} is truncated or damaged: it is incomplete ({detail}).",
    ),
    "damaged": (
        "Le fichier {file} est endommagé et ne peut pas être lu ({detail}).",
        "The file {file} is damaged and cannot be read ({detail}).",
    ),
    "invalid_attribute": (
        "L'attribut DICOM {attribute} de {file} a une valeur invalide (« {value} »).",
        "The DICOM attribute {attribute} of {file} has an invalid value ('{value}').",
    ),
    "not_rtstruct": (
        "Le fichier {file} n'est pas un RTSTRUCT (modalité « {modality} »).",
        "The file {file} is not an RTSTRUCT (modality '{modality}').",
    ),
    # CT series
    "no_ct_images": (
        "Aucune image CT trouvée dans {file}.",
        "No CT image found in {file}.",
    ),
    "not_ct_image": (
        "Le fichier {file} n'est pas une image de la série CT (modalité « {modality} »).",
        "The file {file} is not an image of the CT series (modality '{modality}').",
    ),
    "missing_geometry": (
        "L'image {file} n'a pas l'attribut DICOM {attribute} nécessaire à sa géométrie.",
        "The image {file} lacks the DICOM attribute {attribute} needed for its geometry.",
    ),
    "multiple_series": (
        "Les images de {file} appartiennent à {count} séries différentes ; "
        "fournissez une seule série CT.",
        "The images in {file} belong to {count} different series; provide one CT series.",
    ),
    "missing_frame_of_reference": (
        "L'image {file} n'a pas de FrameOfReferenceUID : impossible de la relier au RTSTRUCT.",
        "The image {file} has no FrameOfReferenceUID: it cannot be matched to the RTSTRUCT.",
    ),
    "mixed_frame_of_reference": (
        "Les images de la série n'ont pas toutes le même repère (FrameOfReferenceUID) : "
        "{file} diffère de la première image.",
        "The series images do not share one frame of reference (FrameOfReferenceUID): "
        "{file} differs from the first image.",
    ),
    "mixed_orientation": (
        "Les images de la série n'ont pas toutes la même orientation : {file} diffère "
        "de la première image.",
        "The series images do not all have the same orientation: {file} differs from "
        "the first image.",
    ),
    "oblique_series": (
        "La série {file} est oblique (orientation {orientation}) : seules les coupes "
        "axiales sont prises en charge.",
        "The series {file} is oblique (orientation {orientation}): only axial slices "
        "are supported.",
    ),
    "unsupported_orientation": (
        "La série {file} n'est pas axiale (orientation {orientation}) : seules les coupes "
        "axiales sont prises en charge.",
        "The series {file} is not axial (orientation {orientation}): only axial slices "
        "are supported.",
    ),
    "misaligned_slices": (
        "Les coupes de la série ne sont pas alignées dans le plan axial : l'origine de "
        "{file} est décalée de {shift} mm par rapport à la première image.",
        "The series slices are not aligned in the axial plane: the origin of {file} is "
        "shifted by {shift} mm from the first image.",
    ),
    "mixed_pixel_spacing": (
        "Les images de la série n'ont pas toutes la même taille de pixel ou de matrice : "
        "{file} diffère de la première image.",
        "The series images do not all have the same pixel spacing or matrix size: "
        "{file} differs from the first image.",
    ),
    "duplicate_slice": (
        "Deux images de la série sont à la même position z = {z} mm ({file}).",
        "Two images of the series are at the same position z = {z} mm ({file}).",
    ),
    "missing_slice": (
        "Il manque {count} coupe(s) dans la série entre z = {z_from} mm et z = {z_to} mm "
        "(écart de {gap} mm au lieu de {spacing} mm) ; dernier fichier avant le trou : {file}.",
        "{count} slice(s) missing from the series between z = {z_from} mm and "
        "z = {z_to} mm (gap of {gap} mm instead of {spacing} mm); last file before "
        "the gap: {file}.",
    ),
    "nonuniform_spacing": (
        "L'espacement des coupes n'est pas régulier dans {file} (de {min} à {max} mm) ; "
        "une grille régulière est nécessaire.",
        "The slice spacing is not uniform in {file} (from {min} to {max} mm); a regular "
        "grid is required.",
    ),
    "single_slice": (
        "La série {file} n'a qu'une coupe et pas d'épaisseur de coupe (SliceThickness) : "
        "impossible de calculer des volumes.",
        "The series {file} has a single slice and no SliceThickness: volumes cannot be computed.",
    ),
    # RTSTRUCT
    "no_roi": (
        "Le RTSTRUCT {file} ne contient aucune structure (ROI).",
        "The RTSTRUCT {file} contains no structure (ROI).",
    ),
    "invalid_contour": (
        "Le contour n° {index} de la structure « {roi} » dans {file} est invalide ({detail}).",
        "Contour #{index} of structure '{roi}' in {file} is invalid ({detail}).",
    ),
    "non_planar_contour": (
        "Le contour n° {index} de la structure « {roi} » dans {file} n'est pas dans un plan "
        "axial (z de {z_min} à {z_max} mm).",
        "Contour #{index} of structure '{roi}' in {file} is not in an axial plane "
        "(z from {z_min} to {z_max} mm).",
    ),
    "for_mismatch": (
        "Le RTSTRUCT {file} n'est pas dans le repère du CT (FrameOfReferenceUID {rt_for} "
        "au lieu de {ct_for}) : il a été dessiné sur un autre examen.",
        "The RTSTRUCT {file} is not in the CT's frame of reference (FrameOfReferenceUID "
        "{rt_for} instead of {ct_for}): it was drawn on another scan.",
    ),
    "contour_outside_ct": (
        "La structure « {roi} » de {file} a un contour à z = {z} mm, hors de la série CT "
        "(z de {z_min} à {z_max} mm).",
        "Structure '{roi}' in {file} has a contour at z = {z} mm, outside the CT series "
        "(z from {z_min} to {z_max} mm).",
    ),
    "contour_off_slice": (
        "La structure « {roi} » de {file} a un contour à z = {z} mm, qui ne tombe sur "
        "aucune coupe du CT (coupe la plus proche : z = {nearest} mm).",
        "Structure '{roi}' in {file} has a contour at z = {z} mm, which lies on no CT "
        "slice (nearest slice: z = {nearest} mm).",
    ),
    "unknown_structure": (
        "La structure « {roi} » n'existe pas dans {file}.",
        "Structure '{roi}' does not exist in {file}.",
    ),
    "invalid_argument": (
        "Paramètre invalide : {detail}.",
        "Invalid parameter: {detail}.",
    ),
    # Warnings (reported, not fatal)
    "contour_ignored": (
        "{count} contour(s) de type {kind} de la structure « {roi} » ignoré(s) dans {file} "
        "(seuls les contours fermés CLOSED_PLANAR délimitent un volume).",
        "{count} contour(s) of type {kind} of structure '{roi}' ignored in {file} "
        "(only CLOSED_PLANAR contours bound a volume).",
    ),
    "empty_roi": (
        "La structure « {roi} » de {file} ne contient aucun contour (structure vide).",
        "Structure '{roi}' in {file} has no contour (empty structure).",
    ),
    "unreferenced_images": (
        "Le RTSTRUCT {file} référence {count} image(s) absente(s) de la série CT ; "
        "les contours sont placés par leur position z, ce qui ne change pas le résultat.",
        "The RTSTRUCT {file} references {count} image(s) that are not in the CT series; "
        "contours are placed by their z position, so the result is unaffected.",
    ),
    "spacing_jitter": (
        "L'espacement des coupes varie légèrement dans {file} (de {min} à {max} mm) ; "
        "la valeur médiane {spacing} mm est utilisée.",
        "The slice spacing varies slightly in {file} (from {min} to {max} mm); the "
        "median value {spacing} mm is used.",
    ),
    "thickness_mismatch": (
        "L'épaisseur de coupe déclarée ({thickness} mm) diffère de l'espacement réel des "
        "coupes ({spacing} mm) dans {file} ; l'espacement réel est utilisé.",
        "The declared slice thickness ({thickness} mm) differs from the actual slice "
        "spacing ({spacing} mm) in {file}; the actual spacing is used.",
    ),
    "single_slice_thickness": (
        "La série {file} n'a qu'une coupe ; son épaisseur ({thickness} mm) sert d'espacement.",
        "The series {file} has a single slice; its thickness ({thickness} mm) is used "
        "as the spacing.",
    ),
    "skipped_files": (
        "{count} fichier(s) non CT ignoré(s) dans {file} ({names}).",
        "{count} non-CT file(s) ignored in {file} ({names}).",
    ),
    "duplicate_roi_name": (
        "Le nom de structure « {roi} » apparaît plusieurs fois dans {file} ; seule la "
        "première est comparée.",
        "The structure name '{roi}' appears more than once in {file}; only the first is compared.",
    ),
    "overlapping_contours": (
        "La structure « {roi} » de {file} a {count} coupe(s) où des contours se chevauchent "
        "sans être imbriqués (première à z = {z} mm) : la règle pair-impair retire leur "
        "partie commune.",
        "Structure '{roi}' in {file} has {count} slice(s) where contours overlap without "
        "being nested (first at z = {z} mm): the even-odd rule removes their common part.",
    ),
    "contour_outside_grid": (
        "La structure « {roi} » de {file} déborde du champ de vue du CT dans le plan "
        "axial ; la partie hors champ est ignorée.",
        "Structure '{roi}' in {file} extends beyond the CT field of view in the axial "
        "plane; the part outside is ignored.",
    ),
}

# The reference plan's dose (RTDOSE) and the DVHs computed on it.
DOSE_MESSAGES: dict[str, tuple[str, str]] = {
    "not_rtdose": (
        "Le fichier {file} n'est pas une dose RTDOSE (modalité « {modality} »).",
        "The file {file} is not an RTDOSE (modality '{modality}').",
    ),
    "dose_units": (
        "La dose {file} est exprimée en « {units} » : seule une dose absolue en Gy est acceptée.",
        "The dose {file} is in '{units}': only an absolute dose in Gy is accepted.",
    ),
    "dose_summation": (
        "Le type de sommation de la dose {file} (« {summation} ») n'est pas reconnu.",
        "The dose summation type of {file} ('{summation}') is not recognised.",
    ),
    "dose_grid_invalid": (
        "La grille de dose de {file} est illisible ou incohérente ({detail}).",
        "The dose grid of {file} is unreadable or inconsistent ({detail}).",
    ),
    "dose_not_axial": (
        "La grille de dose de {file} n'est pas axiale : seules les grilles axiales sont "
        "prises en charge.",
        "The dose grid of {file} is not axial: only axial grids are supported.",
    ),
    "dose_frame_of_reference": (
        "La dose {file} n'est pas dans le repère (FrameOfReferenceUID) du scanner.",
        "The dose {file} is not in the CT's frame of reference (FrameOfReferenceUID).",
    ),
    "dose_outside_ct": (
        "La grille de dose de {file} ne recouvre pas le volume du scanner.",
        "The dose grid of {file} does not overlap the CT volume.",
    ),
    # Warnings
    "dose_partial_ct": (
        "La grille de dose de {file} ne couvre qu'une partie du scanner.",
        "The dose grid of {file} covers only part of the CT.",
    ),
    "dose_partly_outside": (
        "Dose non disponible pour {percent} % du volume de « {roi} » (hors de la grille de dose).",
        "Dose not available for {percent} % of the volume of '{roi}' (outside the dose grid).",
    ),
}
MESSAGES.update(DOSE_MESSAGES)


def _format(template: str, file: str | None, params: dict[str, Any]) -> str:
    values = {k: _display(v) for k, v in params.items()}
    values["file"] = file if file is not None else "?"
    return template.format(**values)


def _display(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


@dataclass(frozen=True)
class EngineIssue:
    """A problem found in the input, fatal or not; shared by errors and warnings."""

    code: str
    file: str | None = None
    params: dict[str, Any] = field(default_factory=dict)

    def message(self, lang: str = "fr") -> str:
        french, english = MESSAGES[self.code]
        return _format(french if lang == "fr" else english, self.file, self.params)


class EngineError(Exception):
    """The one exception the engine raises for bad input; ``code`` is stable."""

    def __init__(self, code: str, file: str | Path | None = None, **params: Any) -> None:
        if code not in MESSAGES:
            raise KeyError(f"unknown engine error code {code!r}")
        self.code = code
        self.file = str(file) if file is not None else None
        self.params = params
        super().__init__(self.message("en"))

    def message(self, lang: str = "fr") -> str:
        return EngineIssue(self.code, self.file, self.params).message(lang)

    def as_issue(self) -> EngineIssue:
        return EngineIssue(self.code, self.file, dict(self.params))
