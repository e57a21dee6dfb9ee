"""Staging of uploaded DICOM files: size and count limits, safe zip extraction, reading.

Everything happens in a temporary folder; nothing reaches the storage before the whole
upload has been checked and de-identified. Limits come from the settings (with defaults):

- ``CONTOURING_MAX_UPLOAD_BYTES``: total size of the uploaded files (``UPLOAD_MAX_BYTES``);
- ``CONTOURING_MAX_FILES``: number of files in an upload (zip members included);
- ``CONTOURING_MAX_UNCOMPRESSED_BYTES``: total size of the files once the zips are
  extracted, checked on what the members declare and again while writing (extraction
  stops at the limit, whatever the members declared);
- ``CONTOURING_MAX_COMPRESSION_RATIO``: largest uncompressed / compressed ratio of a zip
  member (and of a whole zip), above which it is taken for a zip bomb;
- ``CONTOURING_MAX_PIXELS_PER_IMAGE`` and ``CONTOURING_MAX_VOXELS``: pixel budget.
"""

from __future__ import annotations

import hashlib
import re
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from pydicom.dataset import FileDataset

from contouring.deidentify import ACCEPTED_SOP_CLASSES
from contouring.engine.dicomfile import read_dicom, text
from contouring.engine.errors import EngineError, EngineIssue

CHUNK = 1024 * 1024


def limit(name: str) -> int:
    defaults = {
        "CONTOURING_MAX_UPLOAD_BYTES": getattr(settings, "UPLOAD_MAX_BYTES", 500 * CHUNK),
        "CONTOURING_MAX_FILES": 3000,
        "CONTOURING_MAX_UNCOMPRESSED_BYTES": 1024 * CHUNK,
        "CONTOURING_MAX_COMPRESSION_RATIO": 250,
        "CONTOURING_MAX_PIXELS_PER_IMAGE": 1024 * 1024,
        "CONTOURING_MAX_VOXELS": 512 * 512 * 1200,
    }
    return int(getattr(settings, name, defaults[name]))


def upload_limits() -> dict[str, int]:
    """The limits an upload form checks in the browser before sending anything."""
    return {
        "files": limit("CONTOURING_MAX_FILES"),
        "bytes": limit("CONTOURING_MAX_UPLOAD_BYTES"),
    }


@dataclass
class StagedFile:
    path: Path
    display_name: str
    sha256: str


@dataclass
class DicomFile:
    staged: StagedFile
    dataset: FileDataset

    @property
    def modality(self) -> str:
        return text(self.dataset, "Modality") or "?"


def engine_message(error: EngineError, folder: Path, names: dict[str, str] | None = None) -> str:
    """The engine's message in French, naming the files as the person uploaded them.

    ``names`` maps the temporary paths (staged or de-identified copies, the CT folder) to
    what the person knows them by; no internal path and no English detail is shown.
    """
    name = _display_name(error.file, folder, names or {})
    params = error.params
    if error.code == "truncated":
        return _("The file %(name)s is truncated or damaged: it is incomplete.") % {"name": name}
    if error.code == "invalid_contour":
        return _(
            "Contour no. %(index)s of the structure “%(roi)s” in %(name)s is invalid: its "
            "ContourData is not a list of numeric (x, y, z) points."
        ) % {"index": params.get("index", "?"), "roi": params.get("roi", "?"), "name": name}
    if error.code == "invalid_argument" or "detail" in params:
        return _("The file %(name)s cannot be read: it is damaged.") % {"name": name}
    return EngineIssue(error.code, name, params).message("fr")


def _display_name(file: str | None, folder: Path, names: dict[str, str]) -> str:
    if file is None:
        return _("the upload")
    if file in names:
        return names[file]
    path = Path(file)
    if not path.is_absolute():
        return file  # already the name the person gave (the engine was told it)
    for item, display in names.items():
        if Path(item) == path:
            return display
    return _("the upload") if path.is_relative_to(folder) else _("a stored file of the case")


def _safe_name(name: str) -> str:
    base = PurePosixPath(name.replace("\\", "/")).name
    return re.sub(r"[^A-Za-z0-9._-]+", "_", base)[:80] or "fichier"


def _hash_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


class _Budget:
    """Bytes the upload may still write once extracted (shared by all its zips)."""

    def __init__(self) -> None:
        self.remaining = limit("CONTOURING_MAX_UNCOMPRESSED_BYTES")

    def spend(self, size: int, upload_name: str) -> None:
        self.remaining -= size
        if self.remaining < 0:
            raise _too_large_once_extracted(upload_name)


def _too_large_once_extracted(upload_name: str) -> ValidationError:
    return ValidationError(
        _(
            "The zip file %(name)s is too large once extracted: the limit is %(limit)s for "
            "the whole upload."
        )
        % {
            "name": upload_name,
            "limit": filesizeformat(limit("CONTOURING_MAX_UNCOMPRESSED_BYTES")),
        },
        code="zip_too_large",
    )


def stage_uploads(files, folder: Path) -> list[StagedFile]:
    """Write the uploaded files (zips extracted) into ``folder``; check every limit."""
    folder.mkdir(parents=True, exist_ok=True)
    total = sum(f.size for f in files)
    if total > limit("CONTOURING_MAX_UPLOAD_BYTES"):
        raise ValidationError(
            _("The upload is too large (%(size)s; the limit is %(limit)s).")
            % {
                "size": filesizeformat(total),
                "limit": filesizeformat(limit("CONTOURING_MAX_UPLOAD_BYTES")),
            },
            code="too_large",
        )
    budget = _Budget()
    staged: list[StagedFile] = []
    for index, upload in enumerate(files):
        path = folder / f"{index:04d}_{_safe_name(upload.name)}"
        digest = hashlib.sha256()
        with open(path, "wb") as handle:
            for chunk in upload.chunks():
                digest.update(chunk)
                handle.write(chunk)
        if zipfile.is_zipfile(path):
            staged.extend(
                _extract_zip(path, upload.name, folder / f"zip{index:04d}", len(staged), budget)
            )
            path.unlink()
        else:
            budget.spend(upload.size, upload.name)
            staged.append(StagedFile(path, upload.name, digest.hexdigest()))
        if len(staged) > limit("CONTOURING_MAX_FILES"):
            raise _too_many_files()
    if not staged:
        raise ValidationError(_("The upload contains no file."), code="empty")
    return staged


def _too_many_files() -> ValidationError:
    return ValidationError(
        _("The upload holds too many files (limit: %(limit)d).")
        % {"limit": limit("CONTOURING_MAX_FILES")},
        code="too_many_files",
    )


def _extract_zip(
    path: Path, upload_name: str, target: Path, already: int, budget: _Budget
) -> list[StagedFile]:
    """Extract the regular files of a zip, refusing anything that could escape ``target``.

    The sizes the members declare are checked first (total, compression ratio), then the
    bytes really written, block by block: a member that lies about its size, or a zip
    that would exceed the budget, is stopped at the limit, not after.
    """
    target.mkdir(parents=True, exist_ok=True)
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ValidationError(
            _("The zip file %(name)s is damaged and cannot be opened.") % {"name": upload_name},
            code="bad_zip",
        ) from exc
    with archive:
        members = archive.infolist()
        for member in members:
            name = member.filename
            parts = PurePosixPath(name.replace("\\", "/")).parts
            if name.startswith(("/", "\\")) or ".." in parts or re.match(r"^[A-Za-z]:", name):
                raise ValidationError(
                    _(
                        "The zip file %(name)s contains a path that leaves its folder (%(entry)s): "
                        "it is refused."
                    )
                    % {"name": upload_name, "entry": name},
                    code="zip_traversal",
                )
            if stat.S_ISLNK(member.external_attr >> 16):
                raise ValidationError(
                    _("The zip file %(name)s contains a symbolic link (%(entry)s): it is refused.")
                    % {"name": upload_name, "entry": name},
                    code="zip_symlink",
                )
        regular = [
            m
            for m in members
            if not m.is_dir()
            and not any(
                p.startswith(".") or p == "__MACOSX" for p in PurePosixPath(m.filename).parts
            )
        ]
        if already + len(regular) > limit("CONTOURING_MAX_FILES"):
            raise _too_many_files()
        declared = sum(m.file_size for m in regular)
        if declared > limit("CONTOURING_MAX_UNCOMPRESSED_BYTES"):
            raise ValidationError(
                _("The zip file %(name)s declares %(size)s once extracted; the limit is %(limit)s.")
                % {
                    "name": upload_name,
                    "size": filesizeformat(declared),
                    "limit": filesizeformat(limit("CONTOURING_MAX_UNCOMPRESSED_BYTES")),
                },
                code="zip_too_large",
            )
        if declared > budget.remaining:
            raise _too_large_once_extracted(upload_name)
        compressed = sum(m.compress_size for m in regular)
        for size, packed in [*((m.file_size, m.compress_size) for m in regular)] + [
            (declared, compressed)
        ]:
            if size > _ratio_allowance(packed):
                raise _zip_bomb(upload_name)
        staged = []
        for number, member in enumerate(regular):
            out = target / f"{number:05d}_{_safe_name(member.filename)}"
            digest = hashlib.sha256()
            written = 0
            try:
                allowance = min(member.file_size, _ratio_allowance(member.compress_size))
                with archive.open(member) as source, open(out, "wb") as sink:
                    while block := source.read(min(CHUNK, allowance - written + 1)):
                        written += len(block)
                        # A member may lie about its size: stop at what it declared.
                        if written > allowance:
                            raise ValidationError(
                                _(
                                    "The zip file %(name)s is inconsistent: %(entry)s is larger "
                                    "than declared."
                                )
                                % {"name": upload_name, "entry": member.filename},
                                code="zip_bomb",
                            )
                        budget.spend(len(block), upload_name)
                        digest.update(block)
                        sink.write(block)
            except (
                zipfile.BadZipFile,
                OSError,
                EOFError,
                RuntimeError,
                NotImplementedError,
            ) as exc:
                raise ValidationError(
                    _("The zip file %(name)s is damaged: %(entry)s cannot be extracted.")
                    % {"name": upload_name, "entry": member.filename},
                    code="bad_zip",
                ) from exc
            staged.append(StagedFile(out, member.filename, digest.hexdigest()))
    return staged


def _ratio_allowance(compressed: int) -> int:
    """The most a stream of ``compressed`` bytes may inflate to (small members exempt)."""
    return max(limit("CONTOURING_MAX_COMPRESSION_RATIO") * compressed, CHUNK)


def _zip_bomb(upload_name: str) -> ValidationError:
    return ValidationError(
        _(
            "The zip file %(name)s is refused: it is compressed more than %(ratio)d times, "
            "as a zip bomb would be."
        )
        % {"name": upload_name, "ratio": limit("CONTOURING_MAX_COMPRESSION_RATIO")},
        code="zip_ratio",
    )


def read_staged(staged: list[StagedFile], folder: Path) -> list[DicomFile]:
    """Read every staged file as DICOM and check the pixel budget before any decoding."""
    files = []
    voxels = 0
    per_image = limit("CONTOURING_MAX_PIXELS_PER_IMAGE")
    for item in staged:
        try:
            dataset = read_dicom(item.path)
        except EngineError as error:
            if error.code == "not_dicom":
                raise ValidationError(
                    _("The file %(name)s is not a DICOM file.") % {"name": item.display_name},
                    code="not_dicom",
                ) from error
            raise ValidationError(
                engine_message(error, folder, {str(item.path): item.display_name}),
                code=error.code,
            ) from error
        _check_sop_class(dataset, item.display_name)
        if "PixelData" in dataset or "Rows" in dataset:
            try:
                # Per image plane: a multi-frame RTDOSE is one image per frame.
                pixels = int(dataset.get("Rows") or 0) * int(dataset.get("Columns") or 0)
                frames = int(dataset.get("NumberOfFrames") or 1)
            except (TypeError, ValueError) as exc:
                raise ValidationError(
                    _("The image %(name)s has an unreadable size.") % {"name": item.display_name},
                    code="bad_size",
                ) from exc
            if pixels > per_image:
                raise ValidationError(
                    _(
                        "The image %(name)s declares %(pixels)s pixels, more than the budget of "
                        "%(limit)s pixels per image."
                    )
                    % {
                        "name": item.display_name,
                        "pixels": f"{pixels:,}".replace(",", " "),
                        "limit": f"{per_image:,}".replace(",", " "),
                    },
                    code="pixel_budget",
                )
            voxels += pixels * max(frames, 1)
            if voxels > limit("CONTOURING_MAX_VOXELS"):
                raise ValidationError(
                    _("The series exceeds the pixel budget of %(limit)s voxels.")
                    % {"limit": f"{limit('CONTOURING_MAX_VOXELS'):,}".replace(",", " ")},
                    code="voxel_budget",
                )
        files.append(DicomFile(item, dataset))
    return files


def _check_sop_class(dataset: FileDataset, name: str) -> None:
    """Only the SOP classes the platform uses, each with the modality it must declare."""
    sop_class = str(dataset.get("SOPClassUID") or "").strip()
    expected = ACCEPTED_SOP_CLASSES.get(sop_class)
    if expected is None:
        raise ValidationError(
            _(
                "The file %(name)s is not of an accepted DICOM type (SOP class %(uid)s): only "
                "CT images, RT Structure Sets (RTSTRUCT), RT Doses (RTDOSE) and RT Plans "
                "(RTPLAN) are accepted."
            )
            % {"name": name, "uid": sop_class[:64] or "—"},
            code="sop_class",
        )
    modality = text(dataset, "Modality") or ""
    if modality != expected:
        raise ValidationError(
            _(
                "The file %(name)s is inconsistent: its SOP class is that of %(expected)s but "
                "its modality is %(modality)s."
            )
            % {"name": name, "expected": expected, "modality": modality[:16] or "—"},
            code="sop_class_modality",
        )


def combined_sha256(staged: list[StagedFile]) -> str:
    """One fingerprint for a multi-file upload: SHA-256 of the sorted file hashes."""
    return hashlib.sha256("\n".join(sorted(s.sha256 for s in staged)).encode()).hexdigest()


def file_sha256(path: Path) -> str:
    return _hash_file(path)
