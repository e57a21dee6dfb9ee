"""Constants, storage helpers and DICOM checks shared by the contouring services."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import logging
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.storage import default_storage
from django.utils.translation import gettext as _

from contouring.deidentify import deidentify
from contouring.engine.errors import EngineError
from contouring.engine.geometry import CTGeometry, load_ct_series
from contouring.engine.raster import rasterise
from contouring.engine.rtstruct import StructureSet
from contouring.models import (
    ClinicalCase,
)
from contouring.uploads import (
    DicomFile,
    engine_message,
)

logger = logging.getLogger(__name__)


TAUS = (1.0, 2.0, 3.0)


# Below three solutions a consensus says nothing more than their overlap: not offered.
CONSENSUS_MIN_SOLUTIONS = 3


HD95_METHOD = "pooled"


CASES_DIR = "contouring/cases"


@contextlib.contextmanager
def staging_dir() -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix="onco-contouring-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


class StoredFiles:
    """Files saved to the storage during a write; deleted again if the write fails."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def save(self, name: str, path: Path) -> str:
        with open(path, "rb") as handle:
            saved = default_storage.save(name, File(handle))
        self.names.append(saved)
        return saved

    def discard(self) -> None:
        for name in self.names:
            default_storage.delete(name)


@contextlib.contextmanager
def storing() -> Iterator[StoredFiles]:
    stored = StoredFiles()
    try:
        yield stored
    except BaseException:
        stored.discard()
        raise


@contextlib.contextmanager
def local_paths(names: list[str]) -> Iterator[list[Path]]:
    """Local paths of stored files (copied to a temporary folder for remote storages)."""
    try:
        paths = [Path(default_storage.path(name)) for name in names]
    except NotImplementedError:
        paths = None
    if paths is not None:
        yield paths
        return
    with staging_dir() as folder:
        copies = []
        for index, name in enumerate(names):
            target = folder / f"{index:05d}.dcm"
            with default_storage.open(name, "rb") as source, open(target, "wb") as sink:
                shutil.copyfileobj(source, sink)
            copies.append(target)
        yield copies


def case_geometry(case: ClinicalCase) -> CTGeometry:
    with local_paths(case.ct_files) as paths:
        return load_ct_series(paths)


def _uid_key(case_or_secret) -> bytes:
    secret = getattr(case_or_secret, "uid_secret", case_or_secret)
    return bytes.fromhex(secret)


def _deidentify_to(
    files: list[DicomFile],
    folder: Path,
    *,
    key: bytes,
    pseudonym: str,
    prefix: str,
    names: dict[str, str],
) -> list[Path]:
    """Write the de-identified copies; ``names`` learns which upload each copy comes from."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index, item in enumerate(files):
        path = folder / f"{prefix}{index:04d}.dcm"
        try:
            dataset = deidentify(item.dataset, key=key, pseudonym=pseudonym)
            dataset.save_as(path, enforce_file_format=True)
        except Exception as exc:  # noqa: BLE001 — pydicom parses nested data lazily, and
            # a damaged file fails here in many ways (NotImplementedError for a bad VR...).
            logger.info("Undecodable upload %s: %r", item.staged.display_name, exc)
            raise ValidationError(
                _("The file %(name)s is damaged: its DICOM content cannot be decoded.")
                % {"name": item.staged.display_name},
                code="undecodable",
            ) from exc
        names[str(path)] = item.staged.display_name
        paths.append(path)
    return paths


def _engine_error(
    error: EngineError, folder: Path, names: dict[str, str] | None = None
) -> ValidationError:
    return ValidationError(engine_message(error, folder, names), code=error.code)


def _parse_dicom_date(value) -> datetime.date | None:
    try:
        return datetime.datetime.strptime(str(value or "").strip()[:8], "%Y%m%d").date()
    except ValueError:
        return None


def _hex_colour(colour) -> str:
    if not colour:
        return ""
    return "#{:02x}{:02x}{:02x}".format(*(max(0, min(255, int(c))) for c in colour))


def _volumes(
    structure_set: StructureSet, geometry: CTGeometry, folder: Path, display: str
) -> dict[int, float]:
    """Rasterise every ROI (so a contour off the CT is refused now) and return volumes."""
    volumes = {}
    for roi in structure_set.rois:
        try:
            volumes[roi.number] = rasterise(roi, geometry, source=display).volume_cc
        except EngineError as error:
            raise _engine_error(error, folder, {}) from error
    return volumes


def _wrong_modality(item: DicomFile, expected: str) -> ValidationError:
    return ValidationError(
        _("The file %(name)s has the modality %(modality)s, but %(expected)s is expected here.")
        % {"name": item.staged.display_name, "modality": item.modality, "expected": expected},
        code="wrong_modality",
    )


def _check_frame(structure_set: StructureSet, frame_uid: str, display: str) -> None:
    uid = structure_set.frame_of_reference_uid
    if uid is not None and uid != frame_uid:
        raise ValidationError(
            _(
                "The RTSTRUCT %(name)s was drawn on another scan: its frame of reference "
                "(FrameOfReferenceUID) is not the one of the case's CT."
            )
            % {"name": display},
            code="for_mismatch",
        )


def set_label(submission_id: int) -> str:
    return f"s{submission_id}"


def _renamed(structure_set: StructureSet, mapping: dict[int, str]) -> StructureSet:
    """The set restricted to the mapped ROIs, each renamed after its case structure."""
    rois = tuple(
        dataclasses.replace(roi, name=mapping[roi.number])
        for roi in structure_set.rois
        if roi.number in mapping
    )
    return dataclasses.replace(structure_set, rois=rois)


def _engine_version() -> str:
    from contouring import engine

    return str(getattr(engine, "__version__", "") or "dev")
