"""Command line for a medical physicist: ``python -m contouring.engine compare|inspect``.

Exit status 0 on success, 2 on bad input with one readable line naming the file.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
import warnings
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from . import dvh_cli
from .errors import EngineError, EngineIssue
from .options import (
    CONVENTION_HD95,
    CONVENTIONS,
    DEFAULT_CONVENTION,
    DEFAULT_TAUS,
    HD95_METHODS,
    REFERENCE,
)

if TYPE_CHECKING:  # numpy, scipy and pydicom are imported when a command runs, not for --help
    from .compare import CaseResult, PairResult
    from .geometry import CTGeometry
    from .rtstruct import StructureSet

DASH = "—"

# key -> (French, English)
LABELS: dict[str, tuple[str, str]] = {
    "structure": ("Structure", "Structure"),
    "roi": ("ROI comparée", "Compared ROI"),
    "vol_ref": ("Vol. réf. (cm³)", "Ref. vol. (cm³)"),
    "vol_test": ("Vol. test (cm³)", "Test vol. (cm³)"),
    "ratio": ("Rapport vol.", "Vol. ratio"),
    "dsc": ("DSC", "DSC"),
    "jaccard": ("Jaccard", "Jaccard"),
    "hd": ("HD (mm)", "HD (mm)"),
    "hd95": ("HD95 (mm)", "HD95 (mm)"),
    "msd": ("DMS (mm)", "MSD (mm)"),
    "sdsc": ("DSC surf. {tau} mm", "Surface DSC {tau} mm"),
    "apl": ("APL {tau} mm (mm)", "APL {tau} mm (mm)"),
    "centroid": ("Dist. centroïdes (mm)", "Centroid dist. (mm)"),
    "sensitivity": ("Sensibilité", "Sensitivity"),
    "precision": ("Précision", "Precision"),
    "fp": ("Vol. FP (cm³)", "FP vol. (cm³)"),
    "fn": ("Vol. FN (cm³)", "FN vol. (cm³)"),
    "note": ("Remarque", "Note"),
    "vs": ("{first} comparé à {second}", "{first} compared with {second}"),
    "convention_default": (
        "Convention « default » (celle de la plateforme) : éléments de surface pondérés par "
        "leur aire (ceux de surface-distance) ; HD95 = 95e centile de l'union des deux "
        "ensembles de distances orientées ; DMS = moyenne de cette union.",
        "Convention 'default' (the platform's): surface elements weighted by their area "
        "(those of surface-distance); HD95 = 95th percentile of the union of both directed "
        "distance sets; MSD = mean of that union.",
    ),
    "convention_deepmind": (
        "Convention « deepmind » (reproduit surface-distance de DeepMind) : éléments de "
        "surface pondérés par leur aire ; HD95 = maximum des deux 95es centiles orientés ; "
        "DMS = moyenne des deux distances moyennes orientées.",
        "Convention 'deepmind' (reproduces DeepMind's surface-distance): surface elements "
        "weighted by their area; HD95 = maximum of the two directed 95th percentiles; MSD = "
        "mean of the two directed mean distances.",
    ),
    "convention_plastimatch": (
        "Convention « plastimatch » (reproduit les chiffres « boundary » de plastimatch "
        "dice) : voxels de bord, distances entre centres de voxels ; HD95 = moyenne des deux "
        "95es centiles orientés (rang floor(0,95·n)) ; DMS = moyenne des deux distances "
        "moyennes orientées.",
        "Convention 'plastimatch' (reproduces plastimatch dice's '(boundary)' figures): "
        "boundary voxels, distances between voxel centres; HD95 = mean of the two directed "
        "95th percentiles (rank floor(0.95·n)); MSD = mean of the two directed mean distances.",
    ),
    "hd95_override": ("HD95 demandé : {method}.", "HD95 as requested: {method}."),
    "hd95_max": (
        "maximum des deux 95es centiles orientés",
        "maximum of the two directed 95th percentiles",
    ),
    "hd95_mean": (
        "moyenne des deux 95es centiles orientés",
        "mean of the two directed 95th percentiles",
    ),
    "hd95_pooled": (
        "95e centile de l'union des deux ensembles de distances orientées",
        "95th percentile of the union of both directed distance sets",
    ),
    "warnings": ("Avertissements", "Warnings"),
    "results_sheet": ("Résultats", "Results"),
    "notes_sheet": ("Notes", "Notes"),
    "geometry": ("Géométrie CT", "CT geometry"),
    "rois": ("Structures", "Structures"),
    "slices": ("Coupes", "Slices"),
    "volume": ("Volume (cm³)", "Volume (cm³)"),
    "contours": ("Contours", "Contours"),
    "colour": ("Couleur", "Colour"),
    "algorithm": ("Algorithme", "Algorithm"),
    "empty": ("vide", "empty"),
    "problems": ("Problèmes de cohérence", "Consistency problems"),
    "none": ("aucun", "none"),
    "error": ("erreur", "error"),
    "provenance": ("Provenance", "Provenance"),
    "reference": ("la référence", "the reference"),
}


def label(key: str, lang: str, **values: object) -> str:
    french, english = LABELS[key]
    return (french if lang == "fr" else english).format(**values)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m contouring.engine",
        description="Contour comparison (DSC, HD, HD95, surface DSC, APL...) on DICOM-RT data.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    compare = sub.add_parser("compare", help="compare test RTSTRUCTs with a reference")
    compare.add_argument("--ct", required=True, help="CT series folder")
    compare.add_argument("--reference", required=True, help="reference RTSTRUCT file")
    compare.add_argument(
        "--test", required=True, action="append", help="test RTSTRUCT file (repeatable)"
    )
    compare.add_argument("--tau", nargs="+", type=float, default=list(DEFAULT_TAUS))
    compare.add_argument(
        "--convention",
        choices=CONVENTIONS,
        default=DEFAULT_CONVENTION,
        help="surface convention: default (the platform's), deepmind (surface-distance), "
        "plastimatch (plastimatch dice, boundary figures)",
    )
    compare.add_argument(
        "--hd95", choices=HD95_METHODS, default=None, help="override the convention's HD95"
    )
    compare.add_argument(
        "--pairwise", action="store_true", help="also compare every test set with every other"
    )
    compare.add_argument("--format", choices=("table", "json", "csv", "xlsx"), default="table")
    compare.add_argument("--output", help="write to this file (required for xlsx)")
    compare.add_argument("--rule", choices=("evenodd", "union"), default="evenodd")
    compare.add_argument("--lang", choices=("fr", "en"), default="fr")

    inspect = sub.add_parser("inspect", help="describe a CT series and an RTSTRUCT")
    inspect.add_argument("--ct", required=True, help="CT series folder")
    inspect.add_argument("--rtstruct", required=True, help="RTSTRUCT file")
    inspect.add_argument("--format", choices=("table", "json"), default="table")
    inspect.add_argument("--lang", choices=("fr", "en"), default="fr")
    dvh_cli.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        # pydicom warns on every odd value of a damaged file; the engine reports what
        # matters as coded warnings and errors, so stderr keeps to one readable line.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            runners = {"compare": run_compare, "inspect": run_inspect, "dvh": dvh_cli.run}
            output = runners[args.command](args)
    except EngineError as exc:
        colon = " :" if args.lang == "fr" else ":"  # French typography: space before colon
        print(f"{label('error', args.lang)} [{exc.code}]{colon} {exc.message(args.lang)}",
              file=sys.stderr)  # fmt: skip
        return 2
    if output:
        sys.stdout.write(output)
    return 0


def _test_labels(paths: list[str]) -> list[str]:
    """Readable unique labels for the test files: the file name, numbered if repeated."""
    labels: list[str] = []
    for path in paths:
        base = Path(path).stem or path
        name, n = base, 2
        while name in labels or name == REFERENCE:
            name, n = f"{base} ({n})", n + 1
        labels.append(name)
    return labels


def run_compare(args: argparse.Namespace) -> str:
    if args.format == "xlsx" and not args.output:
        raise EngineError("invalid_argument", None, detail="--format xlsx needs --output FILE")
    from .compare import compare_case
    from .geometry import load_ct_series
    from .rtstruct import read_rtstruct

    geometry = load_ct_series(args.ct)
    reference = read_rtstruct(args.reference)
    tests = {
        name: read_rtstruct(path)
        for name, path in zip(_test_labels(args.test), args.test, strict=True)
    }
    result = compare_case(
        geometry,
        reference,
        tests,
        taus=tuple(args.tau),
        hd95=args.hd95,
        rule=args.rule,
        convention=args.convention,
        pairwise=args.pairwise,
    )
    if args.format == "xlsx":
        _compare_xlsx(result, args.lang, args.output)
        return ""
    if args.format == "json":
        text = _compare_json(result, geometry, reference, tests)
    elif args.format == "csv":
        text = _compare_csv(result, args.lang)
    else:
        text = _compare_table(result, args.lang)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
        return ""
    return text


def _cell(text: str) -> float | str | None:
    """A table cell for a spreadsheet: numbers as numbers, a dash as an empty cell."""
    if text == DASH:
        return None
    try:
        return float(text)
    except ValueError:
        return text


def _compare_xlsx(result: CaseResult, lang: str, path: str) -> None:
    """One sheet of every pair's figures (the CSV's columns), one of notes and warnings."""
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = label("results_sheet", lang)
    sheet.append(["reference_set", "compared_set", *_header(result.taus, lang), "touches_scan_end"])
    for p in result.pairs:
        cells = [_cell(c) for c in _row(p, result.taus, lang)]
        sheet.append([p.first, p.second, *cells, bool(p.metrics.touches_scan_end)])
    notes = workbook.create_sheet(label("notes_sheet", lang))
    for line in _convention_text(result, lang).splitlines():
        notes.append([line])
    for warning in result.warnings:
        notes.append([warning.code, warning.message(lang)])
    # A text cell starting with "=" would be stored as a formula: keep every string a string.
    for worksheet in (sheet, notes):
        for row in worksheet.iter_rows():
            for cell in row:
                if isinstance(cell.value, str) and cell.value.startswith("="):
                    cell.data_type = "s"
    workbook.save(path)


def _number(value: float | None, digits: int = 3) -> str:
    return DASH if value is None else f"{value:.{digits}f}"


def _row(pair: PairResult, taus: tuple[float, ...], lang: str) -> list[str]:
    m = pair.metrics
    cells = [
        pair.structure,
        pair.second_roi or DASH,
        _number(m.reference_volume_cc, 2),
        _number(m.test_volume_cc, 2),
        _number(m.volume_ratio),
        _number(m.dsc),
        _number(m.jaccard),
        _number(m.hausdorff_mm, 2),
        _number(m.hd95_mm, 2),
        _number(m.mean_surface_distance_mm, 2),
    ]
    cells += [_number(m.surface_dsc.get(t) if m.surface_dsc else None) for t in taus]
    cells += [
        _number(m.added_path_length_mm.get(t) if m.added_path_length_mm else None, 1) for t in taus
    ]
    cells += [
        _number(m.centroid_distance_mm, 2),
        _number(m.sensitivity),
        _number(m.precision),
        _number(m.false_positive_cc, 2),
        _number(m.false_negative_cc, 2),
        "; ".join(note for note in (m.reason(lang), m.scan_end_note(lang)) if note),
    ]
    return cells


def _header(taus: tuple[float, ...], lang: str) -> list[str]:
    keys = ["structure", "roi", "vol_ref", "vol_test", "ratio", "dsc", "jaccard", "hd", "hd95"]
    head = [label(k, lang) for k in keys] + [label("msd", lang)]
    head += [label("sdsc", lang, tau=f"{t:g}") for t in taus]
    head += [label("apl", lang, tau=f"{t:g}") for t in taus]
    keys = ["centroid", "sensitivity", "precision", "fp", "fn", "note"]
    return head + [label(k, lang) for k in keys]


def _format_table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(header, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines) + "\n"


def _compare_table(result: CaseResult, lang: str) -> str:
    parts = []
    for first, second in _pair_order(result):
        rows = [
            _row(p, result.taus, lang)
            for p in result.pairs
            if p.first == first and p.second == second
        ]
        names = {"first": _set_name(second, lang), "second": _set_name(first, lang)}
        parts.append(f"== {label('vs', lang, **names)} ==\n")
        parts.append(_format_table(_header(result.taus, lang), rows))
        parts.append("\n")
    parts.append(_convention_text(result, lang))
    parts.append(_warnings_text(result.warnings, lang))
    return "".join(parts)


def _convention_text(result: CaseResult, lang: str) -> str:
    """What the figures mean: the convention, and the HD95 summary if not its own."""
    text = label(f"convention_{result.convention}", lang) + "\n"
    if result.hd95_method != CONVENTION_HD95[result.convention]:
        method = label(f"hd95_{result.hd95_method}", lang)
        text += label("hd95_override", lang, method=method) + "\n"
    return text


def _set_name(set_label: str, lang: str) -> str:
    return label("reference", lang) if set_label == REFERENCE else set_label


def _pair_order(result: CaseResult) -> list[tuple[str, str]]:
    seen: list[tuple[str, str]] = []
    for p in result.pairs:
        if (p.first, p.second) not in seen:
            seen.append((p.first, p.second))
    return seen


def _warnings_text(warnings: Sequence[EngineIssue], lang: str) -> str:
    if not warnings:
        return ""
    lines = [label("warnings", lang) + (" :" if lang == "fr" else ":")]
    lines += [f"  - {w.message(lang)}" for w in warnings]
    return "\n".join(lines) + "\n"


def _compare_csv(result: CaseResult, lang: str) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(
        ["reference_set", "compared_set", *_header(result.taus, lang), "touches_scan_end"]
    )
    for p in result.pairs:
        flag = "1" if p.metrics.touches_scan_end else "0"
        writer.writerow([p.first, p.second, *_row(p, result.taus, lang), flag])
    return buffer.getvalue()


def _metrics_dict(pair: PairResult) -> dict[str, object]:
    data = asdict(pair.metrics)
    for key in ("surface_dsc", "added_path_length_mm"):
        if data[key] is not None:
            data[key] = {f"{tau:g}": value for tau, value in data[key].items()}
    return {
        "structure": pair.structure,
        "reference_set": pair.first,
        "compared_set": pair.second,
        "reference_roi": pair.first_roi,
        "compared_roi": pair.second_roi,
        **data,
        "touches_scan_end": pair.metrics.touches_scan_end,
    }


def _compare_json(
    result: CaseResult,
    geometry: CTGeometry,
    reference: StructureSet,
    tests: dict[str, StructureSet],
) -> str:
    sets = {REFERENCE: reference, **tests}
    document = {
        "geometry": geometry.describe(),
        "sets": {name: {"file": s.file, **asdict(s.provenance)} for name, s in sets.items()},
        "taus_mm": list(result.taus),
        "convention": result.convention,
        "hd95_method": result.hd95_method,
        "pairs": [_metrics_dict(p) for p in result.pairs],
        "warnings": [
            {"code": w.code, "file": w.file, "message": w.message("en")} for w in result.warnings
        ],
    }
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def run_inspect(args: argparse.Namespace) -> str:
    from .compare import check_frame_of_reference, consistency_warnings
    from .geometry import load_ct_series
    from .raster import rasterise
    from .rtstruct import read_rtstruct

    lang = args.lang
    geometry = load_ct_series(args.ct)
    structure_set = read_rtstruct(args.rtstruct)
    problems: list[EngineIssue] = list(geometry.warnings)
    try:
        check_frame_of_reference(structure_set, geometry)
        placeable = True
    except EngineError as exc:
        problems.append(exc.as_issue())
        placeable = False
    problems += consistency_warnings(structure_set, geometry)

    rois = []
    for roi in structure_set.rois:
        entry: dict[str, object] = {
            "number": roi.number,
            "name": roi.name,
            "colour": list(roi.colour) if roi.colour else None,
            "algorithm": roi.algorithm,
            "contours": len(roi.contours),
            "volume_cc": None,
            "slices": None,
            "z_range_mm": list(roi.z_range) if roi.z_range else None,
        }
        if placeable and not roi.is_empty:
            try:
                mask = rasterise(roi, geometry, source=structure_set.file)
            except EngineError as exc:
                problems.append(exc.as_issue())
            else:
                problems.extend(mask.warnings)
                entry["volume_cc"] = mask.volume_cc
                entry["slices"] = list(mask.slice_range) if mask.slice_range else None
        rois.append(entry)

    if args.format == "json":
        document = {
            "geometry": geometry.describe(),
            "rtstruct": {"file": structure_set.file, **asdict(structure_set.provenance)},
            "frame_of_reference_uid": structure_set.frame_of_reference_uid,
            "rois": rois,
            "problems": [
                {"code": p.code, "file": p.file, "message": p.message(lang)} for p in problems
            ],
        }
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    return _inspect_table(geometry, structure_set, rois, problems, lang)


def _inspect_table(
    geometry: CTGeometry,
    structure_set: StructureSet,
    rois: list[dict[str, object]],
    problems: list[EngineIssue],
    lang: str,
) -> str:
    nz, ny, nx = geometry.shape
    dz, dy, dx = geometry.spacing
    lines = [
        f"== {label('geometry', lang)} ==",
        f"  {geometry.source}",
        f"  {nx} × {ny} × {nz} voxels, {dx:.4g} × {dy:.4g} × {dz:.4g} mm",
        f"  z : {geometry.slice_positions[0]:.2f} → {geometry.slice_positions[-1]:.2f} mm",
        f"  FrameOfReferenceUID : {geometry.frame_of_reference_uid}",
        "",
        f"== {label('provenance', lang)} ==",
    ]
    for key, value in asdict(structure_set.provenance).items():
        lines.append(f"  {key}: {value if value is not None else DASH}")
    lines += ["", f"== {label('rois', lang)} =="]
    header = [
        "#",
        label("structure", lang),
        label("volume", lang),
        label("slices", lang),
        label("contours", lang),
        label("colour", lang),
        label("algorithm", lang),
    ]
    rows = []
    for r in rois:
        slices = r["slices"]
        rows.append(
            [
                str(r["number"]),
                str(r["name"]),
                _number(r["volume_cc"], 3) if r["contours"] else label("empty", lang),
                f"{slices[0]}–{slices[1]}" if slices else DASH,
                str(r["contours"]),
                ",".join(str(c) for c in r["colour"]) if r["colour"] else DASH,
                str(r["algorithm"] or DASH),
            ]
        )
    text = "\n".join(lines) + "\n" + _format_table(header, rows) + "\n"
    text += f"== {label('problems', lang)} ==\n"
    if not problems:
        return text + f"  {label('none', lang)}\n"
    return text + "".join(f"  - [{p.code}] {p.message(lang)}\n" for p in problems)
