"""Synthetic inputs for the engine tests: analytic masks, grids and small DICOM files."""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, RTStructureSetStorage, generate_uid

from contouring.engine.geometry import CTGeometry
from contouring.engine.raster import Mask
from contouring.engine.rtstruct import ROI, Contour

AXIAL = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)


def make_geometry(
    shape: tuple[int, int, int],
    spacing: tuple[float, float, float] = (1.0, 1.0, 1.0),
    origin: tuple[float, float, float] = (0.0, 0.0, 0.0),
    signs: tuple[int, int, int] = (1, 1, 1),
) -> CTGeometry:
    nz = shape[0]
    return CTGeometry(
        shape=shape,
        spacing=spacing,
        origin=origin,
        signs=signs,
        slice_positions=tuple(origin[0] + k * spacing[0] for k in range(nz)),
        frame_of_reference_uid="1.2.3",
        orientation=(signs[2], 0.0, 0.0, 0.0, signs[1], 0.0),
        series_instance_uid="1.2.3.4",
        sop_instance_uids=frozenset(),
        files=(),
        source="phantom",
    )


def box(shape, lo, hi) -> np.ndarray:
    """Boolean grid with voxels lo <= index < hi (per axis) set."""
    out = np.zeros(shape, dtype=bool)
    out[tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))] = True
    return out


def ball(shape, spacing, centre_mm, radius_mm) -> np.ndarray:
    """Voxels whose centre is within ``radius_mm`` of ``centre_mm`` (z, y, x)."""
    grids = np.ogrid[tuple(slice(0, n) for n in shape)]
    d2 = sum(((g * s) - c) ** 2 for g, s, c in zip(grids, spacing, centre_mm, strict=True))
    return d2 <= radius_mm**2


def mask(array: np.ndarray, spacing=(1.0, 1.0, 1.0)) -> Mask:
    return Mask.from_array(array, spacing)


def roi_from_polygons(planes: dict[float, list[list[tuple[float, float]]]], name="R") -> ROI:
    """An ROI whose contours are ``{z: [polygon (x, y) list, ...]}`` in mm."""
    contours = tuple(
        Contour(z=z, points=np.asarray(polygon, dtype=float))
        for z, polygons in planes.items()
        for polygon in polygons
    )
    return ROI(number=1, name=name, colour=(255, 0, 0), algorithm="MANUAL", contours=contours)


# --- Small DICOM files -------------------------------------------------------------------


def _file_meta(sop_class: str, sop_instance: str) -> FileMetaDataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = sop_instance
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    return meta


def write_ct_series(
    folder: Path,
    z_positions: list[float],
    *,
    rows: int = 16,
    columns: int = 16,
    pixel_spacing: tuple[float, float] = (1.0, 1.0),
    origin_xy: tuple[float, float] = (0.0, 0.0),
    orientation: tuple[float, ...] = AXIAL,
    orientations: dict[int, tuple[float, ...]] | None = None,
    frame_of_reference: str = "1.2.826.0.1.3680043.8.498.1",
    names: list[str] | None = None,
) -> list[Path]:
    """Write one CT slice per position (file names scrambled unless given)."""
    folder.mkdir(parents=True, exist_ok=True)
    series = generate_uid()
    paths = []
    for index, z in enumerate(z_positions):
        sop = generate_uid()
        ds = Dataset()
        ds.file_meta = _file_meta(CTImageStorage, sop)
        ds.SOPClassUID = CTImageStorage
        ds.SOPInstanceUID = sop
        ds.Modality = "CT"
        ds.SeriesInstanceUID = series
        ds.StudyInstanceUID = "1.2.826.0.1.3680043.8.498.2"
        ds.FrameOfReferenceUID = frame_of_reference
        ds.ImagePositionPatient = [origin_xy[0], origin_xy[1], z]
        ds.ImageOrientationPatient = list((orientations or {}).get(index, orientation))
        ds.PixelSpacing = list(pixel_spacing)
        ds.SliceThickness = abs(z_positions[1] - z_positions[0]) if len(z_positions) > 1 else 1
        ds.Rows, ds.Columns = rows, columns
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated = ds.BitsStored = 16
        ds.HighBit = 15
        ds.PixelRepresentation = 0
        ds.PixelData = np.zeros((rows, columns), dtype=np.uint16).tobytes()
        name = names[index] if names else f"img_{(index * 7919) % 1000:03d}_{index}.dcm"
        path = folder / name
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def write_rtstruct(
    path: Path,
    rois: dict[str, list[tuple[float, list[tuple[float, float]]]]],
    *,
    frame_of_reference: str = "1.2.826.0.1.3680043.8.498.1",
    manufacturer: str = "Phantom Inc.",
    software: str = "1.0",
    extra_contour_types: dict[str, list[str]] | None = None,
) -> Path:
    """Write an RTSTRUCT: ``rois`` maps a name to [(z, [(x, y), ...]), ...]."""
    sop = generate_uid()
    ds = Dataset()
    ds.file_meta = _file_meta(RTStructureSetStorage, sop)
    ds.SOPClassUID = RTStructureSetStorage
    ds.SOPInstanceUID = sop
    ds.Modality = "RTSTRUCT"
    ds.Manufacturer = manufacturer
    ds.ManufacturerModelName = "Model"
    ds.SoftwareVersions = software
    ds.StructureSetLabel = "Test"
    ds.StructureSetDate = "20260101"
    frame = Dataset()
    frame.FrameOfReferenceUID = frame_of_reference
    ds.ReferencedFrameOfReferenceSequence = [frame]
    headers, contour_items = [], []
    for number, (name, planes) in enumerate(rois.items(), start=1):
        header = Dataset()
        header.ROINumber = number
        header.ROIName = name
        header.ReferencedFrameOfReferenceUID = frame_of_reference
        header.ROIGenerationAlgorithm = "AUTOMATIC"
        headers.append(header)
        item = Dataset()
        item.ReferencedROINumber = number
        item.ROIDisplayColor = [number * 20 % 256, 100, 200]
        contours = []
        for z, polygon in planes:
            contour = Dataset()
            contour.ContourGeometricType = "CLOSED_PLANAR"
            contour.NumberOfContourPoints = len(polygon)
            contour.ContourData = [v for x, y in polygon for v in (x, y, z)]
            contours.append(contour)
        for kind in (extra_contour_types or {}).get(name, []):
            contour = Dataset()
            contour.ContourGeometricType = kind
            contour.NumberOfContourPoints = 1
            contour.ContourData = [0.0, 0.0, planes[0][0] if planes else 0.0]
            contours.append(contour)
        if contours:
            item.ContourSequence = contours
        contour_items.append(item)
    ds.StructureSetROISequence = headers
    ds.ROIContourSequence = contour_items
    ds.save_as(path, enforce_file_format=True)
    return path


def square(x0: float, y0: float, x1: float, y1: float) -> list[tuple[float, float]]:
    return [(x0, y0), (x1, y0), (x1, y1), (x0, y1)]


# --- MetaImage files, the format plastimatch reads and writes ----------------------------


def read_mha(path: Path) -> tuple[np.ndarray, dict[str, str]]:
    raw = path.read_bytes()
    marker = b"ElementDataFile = LOCAL\n"
    end = raw.index(marker) + len(marker)
    header = dict(line.split(" = ", 1) for line in raw[:end].decode().splitlines())
    data = raw[end:]
    if header.get("CompressedData") == "True":
        data = zlib.decompress(data)
    nx, ny, nz = (int(v) for v in header["DimSize"].split())
    dtype = {"MET_UCHAR": np.uint8, "MET_FLOAT": np.float32}[header["ElementType"]]
    return np.frombuffer(data, dtype=dtype).reshape(nz, ny, nx), header


def write_mha(path: Path, array: np.ndarray, geometry: CTGeometry) -> Path:
    dz, dy, dx = geometry.spacing
    z0, y0, x0 = geometry.origin
    nz, ny, nx = array.shape
    header = (
        "ObjectType = Image\nNDims = 3\nBinaryData = True\nBinaryDataByteOrderMSB = False\n"
        "CompressedData = False\nTransformMatrix = 1 0 0 0 1 0 0 0 1\n"
        f"Offset = {x0!r} {y0!r} {z0!r}\nElementSpacing = {dx!r} {dy!r} {dz!r}\n"
        f"DimSize = {nx} {ny} {nz}\nElementType = MET_UCHAR\nElementDataFile = LOCAL\n"
    )
    path.write_bytes(header.encode() + array.astype(np.uint8).tobytes())
    return path
