"""Run inside dicompyler-core's own virtual environment (pydicom 2): print its DVHs as JSON.

``python dicompyler_dvh.py RTSTRUCT RTDOSE`` → ``{roi_number: {name, volume, mean, max, min,
d2, d50, d95, d98}}`` for every ROI; called by the tests as the DVH oracle.
"""

import json
import sys

from dicompylercore import dicomparser, dvhcalc


def main(rtstruct: str, rtdose: str) -> None:
    structures = dicomparser.DicomParser(rtstruct).GetStructures()
    out = {}
    for number, structure in structures.items():
        dvh = dvhcalc.get_dvh(rtstruct, rtdose, number)
        empty = dvh.volume == 0
        out[str(number)] = {
            "name": structure["name"],
            "volume": float(dvh.volume),
            "mean": None if empty else float(dvh.mean),
            "max": None if empty else float(dvh.max),
            "min": None if empty else float(dvh.min),
            **{
                f"d{p}": None if empty else float(dvh.statistic(f"D{p}").value)
                for p in (2, 50, 95, 98)
            },
        }
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
