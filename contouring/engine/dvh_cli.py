"""``python -m contouring.engine dvh``: DVH statistics of every structure on one RTDOSE.

Exit status 0 on success, 2 on bad input with one readable line naming the file (the same
contract as ``compare``).
"""

from __future__ import annotations

import argparse
import csv
import io
import json

from .errors import EngineError

COLUMNS = (
    ("structure", "Structure", "Structure"),
    ("volume_cc", "Volume (cm³)", "Volume (cm³)"),
    ("volume_without_dose_cc", "Sans dose (cm³)", "Without dose (cm³)"),
    ("dmean_gy", "Dmoy (Gy)", "Dmean (Gy)"),
    ("dmin_gy", "Dmin (Gy)", "Dmin (Gy)"),
    ("dmax_gy", "Dmax 0,03 cm³ (Gy)", "Dmax 0.03 cm³ (Gy)"),
    ("d2_gy", "D2 % (Gy)", "D2% (Gy)"),
    ("d50_gy", "D50 % (Gy)", "D50% (Gy)"),
    ("d95_gy", "D95 % (Gy)", "D95% (Gy)"),
    ("d98_gy", "D98 % (Gy)", "D98% (Gy)"),
)


def add_parser(sub) -> None:
    parser = sub.add_parser("dvh", help="DVH of every structure of an RTSTRUCT on an RTDOSE")
    parser.add_argument("--ct", help="CT series folder (needed with --dvh-grid ct)")
    parser.add_argument("--rtstruct", required=True, help="RTSTRUCT file")
    parser.add_argument("--rtdose", required=True, help="RTDOSE file (Gy)")
    parser.add_argument(
        "--dvh-grid",
        choices=("ct", "dose"),
        default="ct",
        help="ct: masks on the CT grid, dose interpolated at voxel centres (default); "
        "dose: structures rasterised on the dose grid planes (dicompyler-core's method)",
    )
    parser.add_argument(
        "--dose-levels",
        default="",
        help="comma-separated dose levels in Gy for V(x Gy), e.g. 5,20,30",
    )
    parser.add_argument("--format", choices=("table", "csv", "json"), default="table")
    parser.add_argument("--lang", choices=("fr", "en"), default="fr")


def run(args: argparse.Namespace) -> str:
    from .dvh import check_dose_matches_ct, compare_with_plan, dvh_structure_set, read_rtdose
    from .geometry import load_ct_series
    from .rtstruct import read_rtstruct

    try:
        levels = tuple(float(v) for v in args.dose_levels.split(",") if v.strip())
    except ValueError as exc:
        raise EngineError(
            "invalid_argument", None, detail=f"--dose-levels={args.dose_levels}"
        ) from exc
    if args.dvh_grid == "ct" and not args.ct:
        raise EngineError("invalid_argument", None, detail="--dvh-grid ct needs --ct")
    structure_set = read_rtstruct(args.rtstruct)
    dose = read_rtdose(args.rtdose)
    geometry = load_ct_series(args.ct) if args.ct else None
    warnings = list(geometry.warnings) if geometry else []
    if geometry is not None:
        warnings += check_dose_matches_ct(dose, geometry)
    rois = [roi for roi in structure_set.rois]
    results = dvh_structure_set(
        rois,
        dose,
        geometry=geometry,
        grid=args.dvh_grid,
        dose_levels=levels,
        source=str(args.rtstruct),
    )
    for result in results:
        warnings += list(result.warnings)
    rows = [result.as_dict() for result in results]
    plan = [c.as_dict() for c in compare_with_plan(results, rois, dose)]
    if args.format == "json":
        return json.dumps(
            {
                "method": args.dvh_grid,
                "dose": dose.describe(),
                "structures": rows,
                "planning_system_dvhs": plan,
                "warnings": [w.message(args.lang) for w in warnings],
            },
            ensure_ascii=False,
            indent=2,
        )
    keys = [key for key, _fr, _en in COLUMNS] + [
        key for key in (rows[0] if rows else {}) if key.startswith("v") and key != "volume_cc"
    ]
    keys = [k for k in dict.fromkeys(keys) if k != "volume_without_dose_cc" or args.format == "csv"]
    titles = {key: (fr if args.lang == "fr" else en) for key, fr, en in COLUMNS}
    for level in levels:
        key = f"{level:g}".replace(".", "_")
        shown = f"{level:g}".replace(".", ",") if args.lang == "fr" else f"{level:g}"
        titles[f"v{key}gy_cc"] = f"V{shown} Gy (cm³)"
        titles[f"v{key}gy_pct"] = f"V{shown} Gy (%)"
    if args.format == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(keys)
        for row in rows:
            writer.writerow(["" if row[k] is None else row[k] for k in keys])
        return out.getvalue()
    header = [titles.get(k, k) for k in keys]
    lines = [" | ".join(header)]
    for row in rows:
        lines.append(" | ".join(_cell(row[k], args.lang) for k in keys))
    if warnings:
        lines.append("")
        lines.extend(f"- {w.message(args.lang)}" for w in warnings)
    return "\n".join(lines) + "\n"


def _cell(value, lang: str) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        text = f"{value:.3f}" if abs(value) < 1000 else f"{value:.1f}"
        return text.replace(".", ",") if lang == "fr" else text
    return str(value)
