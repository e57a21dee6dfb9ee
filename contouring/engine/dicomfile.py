"""Reading one DICOM file, turning every way it can fail into an :class:`EngineError`."""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import pydicom
from pydicom.datadict import tag_for_keyword
from pydicom.dataset import Dataset, FileDataset
from pydicom.errors import BytesLengthException, InvalidDicomError
from pydicom.filereader import _read_file_meta_info, read_preamble
from pydicom.sequence import Sequence
from pydicom.uid import DeflatedExplicitVRLittleEndian

from . import fastdicom
from .errors import EngineError

_UNDEFINED_LENGTH = 0xFFFFFFFF
# Little-endian (FFFE,E0DD) sequence delimitation item with a zero length.
_SEQUENCE_DELIMITER = bytes.fromhex("feffdde000000000")


# How pydicom fails on damaged headers, when reading or when converting a value: all mean
# the file is not usable (zlib.error: a deflated data set whose compressed stream is cut).
_DAMAGE = (
    EOFError, ValueError, OSError, KeyError, TypeError, OverflowError, IndexError,
    NotImplementedError, AttributeError, struct.error, zlib.error, BytesLengthException,
)  # fmt: skip


def read_dicom(path: str | Path) -> FileDataset:
    """Read ``path`` fully (pixel bytes included, never decoded) or raise a specific error.

    The attributes the engine uses are converted here, so a damaged value is reported as
    a damaged file now rather than failing wherever it is first used.
    """
    path = Path(path)
    if not path.is_file():
        raise EngineError("file_not_found", path)
    try:
        ds = pydicom.dcmread(path)
    except InvalidDicomError as exc:
        raise EngineError("not_dicom", path) from exc
    except _DAMAGE as exc:
        raise EngineError("truncated", path, detail=type(exc).__name__) from exc
    try:
        _check_complete(ds, path)
        _convert_used(ds)
    except _DAMAGE as exc:
        raise EngineError("damaged", path, detail=_damage_detail(exc)) from exc
    return ds


def _damage_detail(exc: BaseException) -> str:
    text = str(exc).splitlines()[0][:120] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _convert_used(ds: Dataset) -> None:
    """Convert every attribute the engine reads (ContourData stays raw: it is parsed from
    its bytes, see :func:`.rtstruct._contour_data`), in nested sequences too."""
    # keys(), not the data set itself: iterating a Dataset converts every element.
    for tag in [t for t in ds.keys() if t in _USED_TAGS]:  # noqa: SIM118
        value = ds[tag].value
        if isinstance(value, Sequence):
            for item in value:
                _convert_used(item)


_USED_TAGS = frozenset(tag_for_keyword(k) for k in fastdicom.KEYWORDS if k != "ContourData")


def read_fast(path: str | Path) -> Dataset | fastdicom.Node:
    """The attributes the engine uses, read quickly (:mod:`.fastdicom`) when the file allows.

    The result answers ``get``, ``in``, ``get_item`` and keyword attributes like a pydicom
    data set, for the attributes in :data:`.fastdicom.KEYWORDS` only. Any file the fast
    reader does not handle, damaged ones included, is read by :func:`read_dicom`, so the
    values and the errors are the same.
    """
    try:
        return fastdicom.read(path)
    except fastdicom.Fallback:
        return read_dicom(path)


def _check_complete(ds: Dataset, path: Path) -> None:
    """pydicom silently stops at the end of a truncated file; detect it ourselves.

    A top-level element whose declared length runs past the end of the data set is cut; a
    data set whose last element is an undefined-length sequence must end with the sequence
    delimiter, otherwise it stopped in the middle of that sequence. The offsets pydicom
    records are in the stream it parsed: the file itself, or for the Deflated Explicit VR
    Little Endian transfer syntax the inflated data set (compared with its own length, not
    the compressed file size).
    """
    inflated = _inflated_data_set(ds, path)
    size = os.path.getsize(path) if inflated is None else len(inflated)
    tags = list(ds.keys())
    if not tags:
        raise EngineError("truncated", path, detail="no data element")
    for tag in tags:
        elem = ds.get_item(tag)
        tell = getattr(elem, "value_tell", None)
        length = getattr(elem, "length", None)
        if tell is None or length is None or length == _UNDEFINED_LENGTH:
            continue
        if tell + length > size:
            raise EngineError(
                "truncated", path, detail=f"{tell + length - size} bytes missing in {tag}"
            )
    last = ds.get_item(tags[-1])
    if getattr(last, "length", None) == _UNDEFINED_LENGTH:
        if inflated is not None:
            tail = inflated[-len(_SEQUENCE_DELIMITER) :]
        else:
            with open(path, "rb") as handle:
                handle.seek(max(0, size - len(_SEQUENCE_DELIMITER)))
                tail = handle.read()
        if tail != _SEQUENCE_DELIMITER:
            raise EngineError("truncated", path, detail=f"sequence {tags[-1]} not closed")


def _inflated_data_set(ds: Dataset, path: Path) -> bytes | None:
    """The inflated data set of a deflated file (what pydicom parsed), else None."""
    meta = getattr(ds, "file_meta", None)
    if meta is None or meta.get("TransferSyntaxUID") != DeflatedExplicitVRLittleEndian:
        return None
    try:
        with open(path, "rb") as handle:
            read_preamble(handle, force=True)
            _read_file_meta_info(handle)
            return zlib.decompress(handle.read(), -zlib.MAX_WBITS)
    except (zlib.error, EOFError, ValueError, OSError) as exc:
        raise EngineError("truncated", path, detail=type(exc).__name__) from exc


def text(ds: Dataset, keyword: str) -> str | None:
    """A header string, None when absent or blank (DICOM pads and omits freely)."""
    value = ds.get(keyword)
    if value is None:
        return None
    if isinstance(value, (pydicom.multival.MultiValue, list)):
        value = "\\".join(str(v) for v in value)
    value = str(value).strip()
    return value or None
