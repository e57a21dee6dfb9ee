"""Synthetic clinical cases written as real DICOM files (CT series + RTSTRUCTs).

Real vendor outputs are not public, so the demo and the tests use phantoms: analytic
organs (ellipsoids, cylinders, a mandible-like crescent) on a small CT grid, an expert
"reference" contour set, and several **simulated** solutions whose deviations are known
(systematic margin, shift, missing end slices, mislabelled/missing/empty structure,
extra island), so the expected direction of every metric is known.

Pure Python (numpy + pydicom): used by ``contouring.demo``, the tests and the benchmark.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileDataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, ExplicitVRLittleEndian

CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
RT_STRUCTURE_SET_STORAGE = "1.2.840.10008.5.1.4.1.1.481.3"
POLYGON_POINTS = 72


@dataclass(frozen=True)
class Organ:
    """An analytic structure: ellipsoid, z-bounded elliptic cylinder or crescent (mm)."""

    name: str
    centre: tuple[float, float, float]  # x, y, z
    radii: tuple[float, float, float]  # rx, ry, rz (rz ignored by cylinders)
    hu: float
    colour: tuple[int, int, int]
    shape: str = "ellipsoid"  # "ellipsoid", "cylinder", "crescent"
    z_range: tuple[float, float] | None = None
    thickness: float = 10.0  # crescent wall, mm

    def section(self, z: float) -> tuple[float, float] | None:
        """In-plane radii (rx, ry) of the cross-section at ``z``, None when not cut."""
        if self.z_range is not None and not (self.z_range[0] <= z <= self.z_range[1]):
            return None
        rx, ry, rz = self.radii
        if self.shape == "ellipsoid":
            t = (z - self.centre[2]) / rz
            if abs(t) >= 1:
                return None
            scale = math.sqrt(1 - t * t)
            if scale * min(rx, ry) < 1.0:
                return None
            return rx * scale, ry * scale
        return rx, ry

    def polygons(self, z: float) -> list[np.ndarray]:
        radii = self.section(z)
        if radii is None:
            return []
        cx, cy = self.centre[0], self.centre[1]
        rx, ry = radii
        if self.shape == "crescent":
            outer = np.linspace(math.pi, 2 * math.pi, POLYGON_POINTS // 2)
            inner = outer[::-1]
            ox, oy = cx + rx * np.cos(outer), cy + ry * np.sin(outer)
            ix = cx + (rx - self.thickness) * np.cos(inner)
            iy = cy + (ry - self.thickness) * np.sin(inner)
            return [np.column_stack([np.concatenate([ox, ix]), np.concatenate([oy, iy])])]
        angles = np.linspace(0, 2 * math.pi, POLYGON_POINTS, endpoint=False)
        return [np.column_stack([cx + rx * np.cos(angles), cy + ry * np.sin(angles)])]

    def inside(self, x: np.ndarray, y: np.ndarray, z: float) -> np.ndarray:
        radii = self.section(z)
        if radii is None:
            return np.zeros(x.shape, dtype=bool)
        rx, ry = radii
        u, v = (x - self.centre[0]) / rx, (y - self.centre[1]) / ry
        outer = u * u + v * v <= 1
        if self.shape != "crescent":
            return outer
        irx, iry = rx - self.thickness, ry - self.thickness
        iu, iv = (x - self.centre[0]) / irx, (y - self.centre[1]) / iry
        return outer & (iu * iu + iv * iv > 1) & (y <= self.centre[1])

    def grown(self, margin: float) -> Organ:
        rx, ry, rz = self.radii
        z_range = self.z_range
        if z_range is not None and self.shape != "ellipsoid":
            z_range = (z_range[0] - margin, z_range[1] + margin)
        return replace(
            self,
            radii=(rx + margin, ry + margin, rz + margin),
            z_range=z_range,
            thickness=self.thickness + (2 * margin if self.shape == "crescent" else 0),
        )

    def shifted(self, dx: float, dy: float, dz: float) -> Organ:
        x, y, z = self.centre
        z_range = None if self.z_range is None else (self.z_range[0] + dz, self.z_range[1] + dz)
        return replace(self, centre=(x + dx, y + dy, z + dz), z_range=z_range)


@dataclass(frozen=True)
class Deviation:
    """How a simulated solution departs from the reference (all optional)."""

    margin_mm: float = 0.0
    shift_mm: tuple[float, float, float] = (0.0, 0.0, 0.0)
    drop_end_slices: int = 0
    missing: tuple[str, ...] = ()
    empty: tuple[str, ...] = ()
    swap: tuple[str, str] | None = None
    island_in: tuple[str, ...] = ()
    only: tuple[str, ...] = ()  # structures the deviation applies to (all when empty)


@dataclass(frozen=True)
class SimulatedSolution:
    key: str
    vendor: str
    product: str
    version: str
    ce_marking: str
    description: str
    deviation: Deviation
    names: dict[str, str] = field(default_factory=dict)  # reference name -> name written
    centre: str = ""  # demo centre short name


@dataclass(frozen=True)
class PhantomSpec:
    key: str
    title: str
    site: str
    description: str
    shape: tuple[int, int, int]  # nz, ny, nx
    spacing: tuple[float, float, float]  # dz, dy, dx
    organs: tuple[Organ, ...]
    solutions: tuple[SimulatedSolution, ...]
    background_hu: float = -1000.0


@dataclass(frozen=True)
class GeneratedSolution:
    solution: SimulatedSolution
    path: Path


@dataclass(frozen=True)
class GeneratedCase:
    spec: PhantomSpec
    folder: Path
    ct_files: tuple[Path, ...]
    reference: Path
    solutions: tuple[GeneratedSolution, ...]


def _vendor(
    letter: str,
    description: str,
    deviation: Deviation,
    names: dict[str, str],
    centre: str,
    ce: str = "mdr_iib",
) -> SimulatedSolution:
    return SimulatedSolution(
        key=f"sim-{letter.lower()}",
        vendor=f"Fournisseur simulé {letter}",
        product=f"AutoContour {letter} (simulé)",
        version=f"{ord(letter) - 63}.0-sim",
        ce_marking=ce,
        description=description,
        deviation=deviation,
        names=names,
        centre=centre,
    )


PELVIS_ORGANS = (
    Organ("Body", (0, 0, 0), (170, 115, 0), 10, (255, 220, 180), "cylinder"),
    Organ("Bladder", (0, -25, 18), (36, 30, 24), 15, (255, 255, 0)),
    Organ("Rectum", (0, 48, -8), (16, 15, 42), -40, (150, 75, 0)),
    Organ("Prostate", (0, 12, -20), (20, 17, 17), 45, (0, 200, 255)),
    Organ("Femur_Head_L", (92, 8, -18), (24, 24, 24), 700, (0, 255, 0)),
    Organ("Femur_Head_R", (-92, 8, -18), (24, 24, 24), 700, (0, 128, 255)),
)

HEAD_NECK_ORGANS = (
    Organ("Body", (0, 0, 0), (72, 92, 0), 10, (255, 220, 180), "cylinder"),
    Organ("Parotid_L", (50, 12, 12), (14, 19, 21), -30, (255, 128, 0)),
    Organ("Parotid_R", (-50, 12, 12), (14, 19, 21), -30, (255, 0, 255)),
    Organ("SpinalCord", (0, 46, 0), (5, 5, 0), 30, (255, 255, 0), "cylinder", (-72.0, 36.0)),
    Organ("Brainstem", (0, 38, 54), (12, 12, 17), 35, (0, 255, 255)),
    Organ(
        "Bone_Mandible",
        (0, -12, -14),
        (52, 58, 0),
        1000,
        (255, 255, 255),
        "crescent",
        (-33.0, 3.0),
        9.0,
    ),
)
# Bone around the spinal cord, drawn in the CT only (not a structure).
HEAD_NECK_EXTRA_HU = (
    Organ("Vertebra", (0, 46, 0), (14, 14, 0), 650, (0, 0, 0), "cylinder", (-72.0, 36.0)),
)

PELVIS = PhantomSpec(
    key="pelvis",
    title="Fantôme pelvien (prostate) — cas de démonstration",
    site="prostate",
    description=(
        "Cas synthétique généré par la plateforme : CT 128 × 128 × 48 (3 mm), contours "
        "de référence analytiques. Les solutions sont simulées, avec des écarts connus."
    ),
    shape=(48, 128, 128),
    spacing=(3.0, 3.0, 3.0),
    organs=PELVIS_ORGANS,
    solutions=(
        _vendor(
            "A",
            "Marge systématique de +3 mm sur toutes les structures.",
            Deviation(margin_mm=3.0),
            {},
            "CHU Lille",
        ),
        _vendor(
            "B",
            "Décalage latéral de 6 mm de toutes les structures.",
            Deviation(shift_mm=(6.0, 0.0, 0.0)),
            {
                "Bladder": "Vessie",
                "Femur_Head_L": "Tete femorale G",
                "Femur_Head_R": "Tete femorale D",
                "Body": "Contour externe",
            },
            "CHU Amiens",
            "mdr_iia",
        ),
        _vendor(
            "C",
            "Deux coupes manquantes à chaque extrémité des organes.",
            Deviation(drop_end_slices=2, only=("Bladder", "Rectum", "Prostate")),
            {
                "Bladder": "BLADDER",
                "Rectum": "RECTUM",
                "Prostate": "PROSTATE",
                "Femur_Head_L": "FemoralHead Lt",
                "Femur_Head_R": "FemoralHead Rt",
                "Body": "External",
            },
            "CLCC Lille",
        ),
        _vendor(
            "D",
            "Têtes fémorales inversées (G/D), rectum absent, prostate vide.",
            Deviation(
                swap=("Femur_Head_L", "Femur_Head_R"), missing=("Rectum",), empty=("Prostate",)
            ),
            {},
            "Valenciennes",
            "mdd",
        ),
        _vendor(
            "E",
            "Îlot parasite dans la vessie, le reste identique à la référence.",
            Deviation(island_in=("Bladder",)),
            {},
            "CHU Lille",
            "none",
        ),
    ),
)

HEAD_NECK = PhantomSpec(
    key="head_neck",
    title="Fantôme tête et cou (ORL) — cas de démonstration",
    site="head_neck",
    description=(
        "Cas synthétique généré par la plateforme : CT 128 × 128 × 50 (2 × 2 × 3 mm), "
        "parotides, moelle, tronc cérébral, mandibule. Solutions simulées."
    ),
    shape=(50, 128, 128),
    spacing=(3.0, 2.0, 2.0),
    organs=HEAD_NECK_ORGANS,
    solutions=(
        _vendor(
            "A",
            "Marge systématique de +3 mm sur toutes les structures.",
            Deviation(margin_mm=3.0),
            {},
            "CHU Lille",
        ),
        _vendor(
            "B",
            "Décalage antéro-postérieur de 4 mm.",
            Deviation(shift_mm=(0.0, 4.0, 0.0)),
            {
                "Parotid_L": "Parotide G",
                "Parotid_R": "Parotide D",
                "SpinalCord": "Moelle",
                "Brainstem": "Tronc cerebral",
                "Bone_Mandible": "Mandibule",
                "Body": "Contour externe",
            },
            "CHU Amiens",
            "mdr_iia",
        ),
        _vendor(
            "C",
            "Deux coupes manquantes à chaque extrémité des organes.",
            Deviation(drop_end_slices=2, only=("Parotid_L", "Parotid_R", "Brainstem")),
            {
                "Parotid_L": "L Parotid",
                "Parotid_R": "R Parotid",
                "SpinalCord": "Cord",
                "Brainstem": "Brain Stem",
                "Bone_Mandible": "Mandible",
                "Body": "External",
            },
            "CLCC Lille",
        ),
        _vendor(
            "D",
            "Parotides inversées (G/D), tronc cérébral absent.",
            Deviation(swap=("Parotid_L", "Parotid_R"), missing=("Brainstem",)),
            {},
            "Valenciennes",
            "mdd",
        ),
        _vendor(
            "E",
            "Îlot parasite dans la moelle, le reste identique à la référence.",
            Deviation(island_in=("SpinalCord",)),
            {},
            "CHU Lille",
            "none",
        ),
    ),
)

SPECS = {spec.key: spec for spec in (PELVIS, HEAD_NECK)}


def benchmark_spec(
    size: int = 512, slices: int = 150, structures: int = 20, solutions: int = 6
) -> PhantomSpec:
    """A big case: ``structures`` ellipsoids on a ``size``² × ``slices`` CT (1 × 1 × 2 mm)."""
    organs = [
        Organ("Body", (0, 0, 0), (0.45 * size, 0.4 * size, 0), 10, (255, 220, 180), "cylinder")
    ]
    columns = 5
    for index in range(structures - 1):
        row, col = divmod(index, columns)
        x = (col - (columns - 1) / 2) * 0.16 * size
        y = (row - 1.5) * 0.17 * size
        z = ((index % 3) - 1) * slices * 0.2
        organs.append(
            Organ(
                f"Organ_{index + 1:02d}",
                (x, y, z),
                (0.05 * size, 0.045 * size, 0.2 * slices * 2),
                40,
                (40 * index % 255, 100, 200),
            )
        )
    kinds = [
        Deviation(margin_mm=3.0),
        Deviation(shift_mm=(4.0, 0.0, 0.0)),
        Deviation(drop_end_slices=2),
        Deviation(margin_mm=-2.0),
        Deviation(island_in=("Organ_01",)),
        Deviation(shift_mm=(0.0, 3.0, 2.0)),
    ]
    return PhantomSpec(
        key="benchmark",
        title="Benchmark",
        site="other",
        description="",
        shape=(slices, size, size),
        spacing=(2.0, 1.0, 1.0),
        organs=tuple(organs),
        solutions=tuple(
            _vendor(chr(ord("A") + i), "bench", kinds[i % len(kinds)], {}, "")
            for i in range(solutions)
        ),
    )


# --- Geometry --------------------------------------------------------------------------
def _z_positions(spec: PhantomSpec) -> np.ndarray:
    nz = spec.shape[0]
    return (np.arange(nz) - (nz - 1) / 2) * spec.spacing[0]


def _origin_xy(spec: PhantomSpec) -> tuple[float, float]:
    _, ny, nx = spec.shape
    return -(nx - 1) / 2 * spec.spacing[2], -(ny - 1) / 2 * spec.spacing[1]


def _uid(seed: str) -> str:
    return "2.25." + str(int.from_bytes(hashlib.sha256(seed.encode()).digest()[:16], "big"))


def ct_volume(spec: PhantomSpec, extra: tuple[Organ, ...] = ()) -> np.ndarray:
    """Hounsfield units of the phantom, indexed [z, y, x], with a little fixed noise."""
    nz, ny, nx = spec.shape
    x0, y0 = _origin_xy(spec)
    xs = x0 + np.arange(nx) * spec.spacing[2]
    ys = y0 + np.arange(ny) * spec.spacing[1]
    x, y = np.meshgrid(xs, ys)
    volume = np.full(spec.shape, spec.background_hu, dtype=np.float32)
    organs = list(spec.organs[:1]) + list(extra) + list(spec.organs[1:])
    for k, z in enumerate(_z_positions(spec)):
        plane = volume[k]
        for organ in organs:
            plane[organ.inside(x, y, float(z))] = organ.hu
    rng = np.random.default_rng(20260115)
    volume += rng.normal(0, 8, size=volume.shape).astype(np.float32)
    return volume


# --- Contours of a solution -------------------------------------------------------------
def solution_contours(
    spec: PhantomSpec, deviation: Deviation | None
) -> list[tuple[str, tuple[int, int, int], list[tuple[float, np.ndarray]]]]:
    """(reference name, colour, [(z, polygon)]) of each ROI the set holds, in order."""
    deviation = deviation or Deviation()
    zs = [float(z) for z in _z_positions(spec)]
    out = []
    for organ in spec.organs:
        if organ.name in deviation.missing:
            continue
        applies = not deviation.only or organ.name in deviation.only
        shaped = organ
        if applies and deviation.margin_mm:
            shaped = shaped.grown(deviation.margin_mm)
        if applies and any(deviation.shift_mm):
            shaped = shaped.shifted(*deviation.shift_mm)
        planes = [(z, polygon) for z in zs for polygon in shaped.polygons(z)]
        if applies and deviation.drop_end_slices:
            levels = sorted({z for z, _ in planes})
            n = deviation.drop_end_slices
            keep = set(levels[n:-n]) if len(levels) > 2 * n else set()
            planes = [(z, p) for z, p in planes if z in keep]
        if organ.name in deviation.island_in:
            planes += _island(spec, organ, zs)
        if organ.name in deviation.empty:
            planes = []
        out.append((organ.name, organ.colour, planes))
    if deviation.swap:
        first, second = deviation.swap
        out = [
            (second if name == first else first if name == second else name, colour, planes)
            for name, colour, planes in out
        ]
    return out


def _island(spec: PhantomSpec, organ: Organ, zs: list[float]) -> list[tuple[float, np.ndarray]]:
    """A small blob 25 mm beside the organ on three slices around its centre."""
    angles = np.linspace(0, 2 * math.pi, 24, endpoint=False)
    radius = max(2.5 * spec.spacing[1], 5.0)
    cx = organ.centre[0] + organ.radii[0] + 25.0
    cy = organ.centre[1]
    centre_k = int(np.argmin([abs(z - organ.centre[2]) for z in zs]))
    return [
        (zs[k], np.column_stack([cx + radius * np.cos(angles), cy + radius * np.sin(angles)]))
        for k in range(max(centre_k - 1, 0), min(centre_k + 2, len(zs)))
    ]


# --- DICOM writing ----------------------------------------------------------------------
def _file_dataset(path: Path, sop_class: str, sop_uid: str) -> FileDataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds = FileDataset(str(path), {}, file_meta=meta, preamble=b"\x00" * 128)
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = sop_uid
    return ds


def _patient(
    ds: Dataset, spec: PhantomSpec, uids: dict[str, str], identity: dict[str, str]
) -> None:
    ds.PatientName = identity.get("PatientName", f"FANTOME^{spec.key.upper()}")
    ds.PatientID = identity.get("PatientID", f"PHANTOM-{spec.key.upper()}")
    ds.PatientBirthDate = identity.get("PatientBirthDate", "")
    ds.PatientSex = identity.get("PatientSex", "O")
    for keyword, value in identity.items():
        setattr(ds, keyword, value)
    ds.StudyInstanceUID = uids["study"]
    ds.FrameOfReferenceUID = uids["frame"]
    ds.StudyDate = "20260115"
    ds.StudyTime = "090000"
    ds.StudyID = "1"
    ds.AccessionNumber = ""
    ds.ReferringPhysicianName = ""


def write_ct(
    spec: PhantomSpec, folder: Path, uids: dict[str, str], identity: dict[str, str] | None = None
) -> tuple[list[Path], list[str]]:
    folder.mkdir(parents=True, exist_ok=True)
    extra = HEAD_NECK_EXTRA_HU if spec.key == "head_neck" else ()
    volume = ct_volume(spec, extra)
    stored = np.clip(np.round(volume + 1024), 0, 4095).astype(np.uint16)
    x0, y0 = _origin_xy(spec)
    files, sop_uids = [], []
    for k, z in enumerate(_z_positions(spec)):
        sop_uid = _uid(f"{uids['seed']}-ct-{k}")
        path = folder / f"CT_{k + 1:03d}.dcm"
        ds = _file_dataset(path, CT_IMAGE_STORAGE, sop_uid)
        _patient(ds, spec, uids, identity or {})
        ds.Modality = "CT"
        ds.Manufacturer = "ONCO-HDF phantom generator"
        ds.SeriesInstanceUID = uids["ct_series"]
        ds.SeriesNumber = 1
        ds.SeriesDescription = f"CT {spec.title}"
        ds.InstanceNumber = k + 1
        ds.ImagePositionPatient = [round(x0, 4), round(y0, 4), round(float(z), 4)]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.PixelSpacing = [spec.spacing[1], spec.spacing[2]]
        ds.SliceThickness = spec.spacing[0]
        ds.PatientPosition = "HFS"
        ds.Rows, ds.Columns = spec.shape[1], spec.shape[2]
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated = 16
        ds.BitsStored = 12
        ds.HighBit = 11
        ds.PixelRepresentation = 0
        ds.RescaleIntercept = -1024
        ds.RescaleSlope = 1
        ds.WindowCenter = 40
        ds.WindowWidth = 400
        ds.PixelData = stored[k].tobytes()
        ds.save_as(path, enforce_file_format=True)
        files.append(path)
        sop_uids.append(sop_uid)
    return files, sop_uids


def write_rtstruct(
    spec: PhantomSpec,
    path: Path,
    uids: dict[str, str],
    ct_sop_uids: list[str],
    *,
    label: str,
    solution: SimulatedSolution | None = None,
    identity: dict[str, str] | None = None,
) -> Path:
    """An RTSTRUCT of the reference (``solution`` None) or of a simulated solution."""
    sop_uid = _uid(f"{uids['seed']}-rs-{label}")
    ds = _file_dataset(path, RT_STRUCTURE_SET_STORAGE, sop_uid)
    _patient(ds, spec, uids, identity or {})
    ds.Modality = "RTSTRUCT"
    ds.SeriesInstanceUID = _uid(f"{uids['seed']}-rs-series-{label}")
    ds.SeriesNumber = 2
    if solution is None:
        ds.Manufacturer = "ONCO-HDF phantom generator"
        ds.ManufacturerModelName = "Expert reference (analytic)"
        ds.SoftwareVersions = "1.0"
    else:
        ds.Manufacturer = solution.vendor
        ds.ManufacturerModelName = solution.product
        ds.SoftwareVersions = solution.version
    ds.StructureSetLabel = label[:16]
    ds.StructureSetName = label
    ds.StructureSetDate = "20260115"
    ds.StructureSetTime = "100000"
    ds.SeriesDescription = f"RTSTRUCT {label}"

    zs = [round(float(z), 4) for z in _z_positions(spec)]
    sop_by_z = dict(zip(zs, ct_sop_uids, strict=True))
    frame = Dataset()
    frame.FrameOfReferenceUID = uids["frame"]
    study = Dataset()
    study.ReferencedSOPClassUID = "1.2.840.10008.3.1.2.3.1"
    study.ReferencedSOPInstanceUID = uids["study"]
    series = Dataset()
    series.SeriesInstanceUID = uids["ct_series"]
    images = []
    for sop in ct_sop_uids:
        image = Dataset()
        image.ReferencedSOPClassUID = CT_IMAGE_STORAGE
        image.ReferencedSOPInstanceUID = sop
        images.append(image)
    series.ContourImageSequence = Sequence(images)
    study.RTReferencedSeriesSequence = Sequence([series])
    frame.RTReferencedStudySequence = Sequence([study])
    ds.ReferencedFrameOfReferenceSequence = Sequence([frame])

    rois, contours, observations = [], [], []
    names = solution.names if solution is not None else {}
    for number, (name, colour, planes) in enumerate(
        solution_contours(spec, solution.deviation if solution else None), start=1
    ):
        roi = Dataset()
        roi.ROINumber = number
        roi.ReferencedFrameOfReferenceUID = uids["frame"]
        roi.ROIName = names.get(name, name)
        roi.ROIGenerationAlgorithm = "AUTOMATIC" if solution else "MANUAL"
        rois.append(roi)
        item = Dataset()
        item.ReferencedROINumber = number
        item.ROIDisplayColor = list(colour)
        sequence = []
        for z, polygon in planes:
            contour = Dataset()
            contour.ContourGeometricType = "CLOSED_PLANAR"
            contour.NumberOfContourPoints = len(polygon)
            points = np.column_stack([polygon, np.full(len(polygon), z)])
            contour.ContourData = [f"{v:.3f}" for v in points.ravel()]
            sop = sop_by_z.get(round(z, 4))
            if sop is not None:
                image = Dataset()
                image.ReferencedSOPClassUID = CT_IMAGE_STORAGE
                image.ReferencedSOPInstanceUID = sop
                contour.ContourImageSequence = Sequence([image])
            sequence.append(contour)
        if sequence:
            item.ContourSequence = Sequence(sequence)
        contours.append(item)
        observation = Dataset()
        observation.ObservationNumber = number
        observation.ReferencedROINumber = number
        observation.RTROIInterpretedType = "EXTERNAL" if name == "Body" else "ORGAN"
        observation.ROIInterpreter = ""
        observations.append(observation)
    ds.StructureSetROISequence = Sequence(rois)
    ds.ROIContourSequence = Sequence(contours)
    ds.RTROIObservationsSequence = Sequence(observations)
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path


def case_uids(spec: PhantomSpec, seed: str = "") -> dict[str, str]:
    seed = f"onco-hdf-phantom-{spec.key}-{seed}"
    return {
        "seed": seed,
        "study": _uid(f"{seed}-study"),
        "frame": _uid(f"{seed}-frame"),
        "ct_series": _uid(f"{seed}-ct-series"),
    }


def write_case(
    spec: PhantomSpec | str, folder: Path, *, identity: dict[str, str] | None = None, seed: str = ""
) -> GeneratedCase:
    """Write the CT series (``folder/ct``), the reference and every simulated solution."""
    if isinstance(spec, str):
        spec = SPECS[spec]
    folder = Path(folder)
    uids = case_uids(spec, seed)
    ct_files, sop_uids = write_ct(spec, folder / "ct", uids, identity)
    reference = write_rtstruct(
        spec, folder / "RS_reference.dcm", uids, sop_uids, label="Reference", identity=identity
    )
    solutions = tuple(
        GeneratedSolution(
            solution,
            write_rtstruct(
                spec,
                folder / f"RS_{solution.key}.dcm",
                uids,
                sop_uids,
                label=solution.product,
                solution=solution,
                identity=identity,
            ),
        )
        for solution in spec.solutions
    )
    return GeneratedCase(spec, folder, tuple(ct_files), reference, solutions)


RT_DOSE_STORAGE = "1.2.840.10008.5.1.4.1.1.481.2"


# A target volume for the head-and-neck phantom's plan (oropharynx, between the parotids).
HEAD_NECK_TARGET = Organ("PTV", (0, 0, 0), (22, 22, 26), 0, (255, 0, 0))


def phantom_dose(
    spec: PhantomSpec,
    grid_mm: float = 2.5,
    prescription_gy: float = 78.0,
    target: Organ | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A plan-like dose on a ``grid_mm`` grid covering the CT: the prescription inside an
    ellipsoid 7 mm around ``target`` (by default the prostate, else the first organ),
    falling linearly to 5 % over 40 mm. Returns (dose (z, y, x) in Gy, z, y, x in mm)."""
    nz, ny, nx = spec.shape
    x0, y0 = _origin_xy(spec)
    z_ct = _z_positions(spec)
    x = x0 + grid_mm * np.arange(int(np.ceil((nx - 1) * spec.spacing[2] / grid_mm)) + 1)
    y = y0 + grid_mm * np.arange(int(np.ceil((ny - 1) * spec.spacing[1] / grid_mm)) + 1)
    z = z_ct[0] + grid_mm * np.arange(int(np.ceil((z_ct[-1] - z_ct[0]) / grid_mm)) + 1)
    if target is None:
        named = {o.name: o for o in spec.organs}
        target = named.get("Prostate") or next(o for o in spec.organs if o.name != "Body")
    cx, cy, cz = target.centre
    rx, ry, rz = (r + 7.0 for r in target.radii)  # a 7 mm PTV margin
    zz, yy, xx = np.meshgrid(z, y, x, indexing="ij")
    r = np.sqrt(((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2 + ((zz - cz) / rz) ** 2)
    distance = np.clip(r - 1.0, 0.0, None) * min(rx, ry, rz)  # ≈ mm outside the ellipsoid
    dose = prescription_gy * np.clip(1.0 - 0.95 * distance / 40.0, 0.05, 1.0)
    return dose, z, y, x


def write_rtdose(
    spec: PhantomSpec,
    path: Path,
    uids: dict[str, str],
    *,
    grid_mm: float = 2.5,
    prescription_gy: float = 78.0,
    target: Organ | None = None,
    identity: dict[str, str] | None = None,
) -> Path:
    """The RTDOSE of :func:`phantom_dose`, in the phantom's frame of reference."""
    dose, z, y, x = phantom_dose(spec, grid_mm, prescription_gy, target)
    sop_uid = _uid(f"{uids['seed']}-rd")
    ds = _file_dataset(path, RT_DOSE_STORAGE, sop_uid)
    _patient(ds, spec, uids, identity or {})
    ds.Modality = "RTDOSE"
    ds.Manufacturer = "ONCO-HDF phantom generator"
    ds.SeriesInstanceUID = _uid(f"{uids['seed']}-rd-series")
    ds.SeriesNumber = 3
    ds.InstanceNumber = 1
    ds.ImagePositionPatient = [float(x[0]), float(y[0]), float(z[0])]
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    ds.PixelSpacing = [grid_mm, grid_mm]
    ds.SliceThickness = grid_mm
    ds.GridFrameOffsetVector = [float(v) for v in z - z[0]]
    ds.NumberOfFrames = len(z)
    ds.FrameIncrementPointer = (0x3004, 0x000C)
    ds.Rows, ds.Columns = len(y), len(x)
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 32
    ds.BitsStored = 32
    ds.HighBit = 31
    ds.PixelRepresentation = 0
    ds.DoseUnits = "GY"
    ds.DoseType = "PHYSICAL"
    ds.DoseSummationType = "PLAN"
    scaling = float(dose.max()) / 2_000_000_000
    ds.DoseGridScaling = f"{scaling:.10g}"
    scaling = float(ds.DoseGridScaling)
    ds.PixelData = np.round(dose / scaling).astype(np.uint32).tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)
    return path
