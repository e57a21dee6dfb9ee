"""A fast reader for the few DICOM attributes the engine needs (CT geometry, RTSTRUCT).

pydicom builds a Python object for every element and every sequence item, and reads the
whole file, pixel data included: on a small case that was most of the end-to-end time
(measured: ~1 ms per CT file, ~50 ms per RTSTRUCT of a few hundred contours). This module
walks the byte stream itself, keeps only the elements listed in :data:`KEYWORDS` and skips
everything else by its length (the pixel data is never read).

It is a fast path, not a second DICOM implementation: it handles the little-endian
transfer syntaxes (implicit, explicit, and explicit with encapsulated pixel data), the
default, Latin-1 and UTF-8 character sets, and well-formed files. Anything else, including
every damaged or truncated file, raises :class:`Fallback`, and the caller reads the file
again with pydicom (:func:`.dicomfile.read_dicom`), which produces the same values or the
specific :class:`.errors.EngineError`. Values are converted as pydicom converts them
(same stripping of padding, same splitting of multiple values, same text decoding), so
the code using them cannot tell the two readers apart.
"""

from __future__ import annotations

import mmap
import os
import struct

from pydicom.charset import convert_encodings, decode_bytes
from pydicom.datadict import dictionary_VR, tag_for_keyword
from pydicom.valuerep import TEXT_VR_DELIMS

# The attributes the engine reads, at any depth.
KEYWORDS = (
    "SpecificCharacterSet",
    "SOPInstanceUID",
    "Modality",
    "Manufacturer",
    "ManufacturerModelName",
    "SoftwareVersions",
    "SeriesDescription",
    "SliceThickness",
    "SeriesInstanceUID",
    "ImagePositionPatient",
    "ImageOrientationPatient",
    "FrameOfReferenceUID",
    "Rows",
    "Columns",
    "PixelSpacing",
    "StructureSetLabel",
    "StructureSetDate",
    "StructureSetTime",
    "ReferencedFrameOfReferenceSequence",
    "RTReferencedStudySequence",
    "RTReferencedSeriesSequence",
    "ContourImageSequence",
    "StructureSetROISequence",
    "ROINumber",
    "ReferencedFrameOfReferenceUID",
    "ROIName",
    "ROIGenerationAlgorithm",
    "ROIContourSequence",
    "ContourSequence",
    "ContourGeometricType",
    "ContourData",
    "ReferencedROINumber",
    "ROIDisplayColor",
    "ReferencedSOPInstanceUID",
)


def _swapped(tag: int) -> int:
    """A (group, element) tag as read in one little-endian 32-bit word."""
    return (tag & 0xFFFF) << 16 | tag >> 16


def _vr_code(vr: str | bytes) -> int:
    """The two letters of a VR as read in one little-endian 16-bit word."""
    vr = vr.encode() if isinstance(vr, str) else vr
    return vr[0] | vr[1] << 8


# swapped tag -> (keyword, VR, VR code)
_WANTED: dict[int, tuple[str, str, int]] = {
    _swapped(tag_for_keyword(k)): (
        k,
        dictionary_VR(tag_for_keyword(k)),
        _vr_code(dictionary_VR(tag_for_keyword(k))),
    )
    for k in KEYWORDS
}

_IMPLICIT_LE = "1.2.840.10008.1.2"
_EXPLICIT_LE = "1.2.840.10008.1.2.1"
# Encapsulated (compressed) pixel data: the data set itself is explicit VR little endian.
_ENCAPSULATED_PREFIXES = ("1.2.840.10008.1.2.4.", "1.2.840.10008.1.2.5")
_UNDEFINED = 0xFFFFFFFF
_ITEM = _swapped(0xFFFEE000)
_ITEM_END = _swapped(0xFFFEE00D)
_SEQUENCE_END = _swapped(0xFFFEE0DD)
_CHARSET_TAG = _swapped(0x00080005)
_SQ, _UN = _vr_code("SQ"), _vr_code("UN")
_LONG_VRS = frozenset(
    {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"}
)
_SHORT_VRS = frozenset(
    {
        b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FD", b"FL", b"IS", b"LO", b"LT",
        b"PN", b"SH", b"SL", b"SS", b"ST", b"TM", b"UI", b"UL", b"US",
    }
)  # fmt: skip
_CHARSETS = frozenset({"", "ISO_IR 6", "ISO_IR 100", "ISO_IR 192"})
_SHORT_VR_CODES = frozenset(_vr_code(vr) for vr in _SHORT_VRS)
_LONG_VR_CODES = frozenset(_vr_code(vr) for vr in _LONG_VRS)
_TAG = struct.Struct("<HH")
_TWO_WORDS = struct.Struct("<LL")
_LONG = struct.Struct("<L")
# Files up to this size are read in one call; larger ones are memory-mapped.
_READ_WHOLE = 1 << 16


class Fallback(Exception):
    """The fast path does not handle this file: read it with pydicom instead."""


class RawValue:
    """What ``Dataset.get_item`` gives for an element not converted yet: its bytes."""

    __slots__ = ("value",)

    def __init__(self, value: bytes) -> None:
        self.value = value


class Node:
    """A data set or sequence item holding only the wanted elements, already converted.

    It answers the subset of pydicom's ``Dataset`` interface the engine uses: ``get``,
    ``in``, ``get_item`` and attribute access by keyword. ContourData stays raw (the
    engine parses it with numpy from :meth:`get_item`).
    """

    __slots__ = ("_elements",)

    def __init__(self) -> None:
        self._elements: dict[str, object] = {}

    def __contains__(self, keyword: str) -> bool:
        return keyword in self._elements

    def __getattr__(self, keyword: str):
        if keyword.startswith("_") or keyword not in self._elements:
            raise AttributeError(keyword)
        return self.get(keyword)

    def get(self, keyword: str, default=None):
        value = self._elements.get(keyword, default)
        if isinstance(value, RawValue):
            text = value.value.decode("latin-1").strip().rstrip(" \x00")
            return [float(v) for v in text.split("\\")] if text else []
        return value

    def get_item(self, keyword: str) -> RawValue | None:
        value = self._elements.get(keyword)
        return value if isinstance(value, RawValue) else None


def _split(value: str) -> str | list[str]:
    items = value.split("\\")
    return items[0] if len(items) == 1 else items


def _convert(vr: str, raw: bytes, encodings: list[str] | None):
    """The value pydicom would give for these bytes (see ``pydicom.values``)."""
    if vr in ("UI", "CS", "DA", "TM"):
        return _split(raw.decode("latin-1").rstrip(" \x00"))
    if vr in ("LO", "SH"):
        try:
            text = decode_bytes(raw, encodings or ["iso8859"], TEXT_VR_DELIMS)
        except (LookupError, ValueError) as exc:
            raise Fallback("text encoding") from exc
        items = [item.rstrip("\x00 ") for item in text.split("\\")]
        return items[0] if len(items) == 1 else items
    if vr in ("DS", "IS"):
        items = raw.decode("latin-1").strip().rstrip(" \x00").split("\\")
        try:
            numbers = [float(v) if vr == "DS" else int(v) for v in items]
        except ValueError as exc:  # blank or odd values: let pydicom decide what they are
            raise Fallback(vr) from exc
        # pydicom reads IS through a float: past 2**53 its integer differs from int()'s.
        if vr == "IS" and any(abs(n) > 2**53 for n in numbers):
            raise Fallback("IS beyond float precision")
        return numbers[0] if len(numbers) == 1 else numbers
    if vr == "US":
        if len(raw) % 2:
            raise Fallback(vr)
        numbers = list(struct.unpack(f"<{len(raw) // 2}H", raw))
        return numbers[0] if len(numbers) == 1 else numbers
    raise Fallback(vr)


class _Reader:
    """Walks one little-endian data set held in ``buf`` (bytes, or an mmap)."""

    def __init__(self, buf, explicit: bool) -> None:
        self.buf = buf
        self.size = len(buf)
        self.explicit = explicit
        self.encodings: list[str] | None = None
        self.root: Node | None = None

    def element(self, pos: int) -> tuple[int, int | None, int, int]:
        """(tag, VR code or None, value position, value length) of the element at ``pos``.

        Tags are kept as read, a little-endian 32-bit word ``element << 16 | group``
        (see :func:`_swapped`), and VRs as the 16-bit word of their two letters.
        """
        if pos + 8 > self.size:
            raise Fallback("truncated element header")
        tag, word = _TWO_WORDS.unpack_from(self.buf, pos)
        if not self.explicit or tag & 0xFFFF == 0xFFFE:
            return tag, None, pos + 8, word
        vr = word & 0xFFFF
        if vr in _SHORT_VR_CODES:
            return tag, vr, pos + 8, word >> 16
        if vr in _LONG_VR_CODES:
            if pos + 12 > self.size:
                raise Fallback("truncated element header")
            return tag, vr, pos + 12, _LONG.unpack_from(self.buf, pos + 8)[0]
        raise Fallback(f"VR {vr:#x}")

    def data_set(self, pos: int, end: int | None, node: Node | None) -> int:
        """Read elements from ``pos`` to ``end`` (None: to the item delimiter), into ``node``.

        ``node`` None skips (still walking undefined-length content). Returns the position
        after the data set (after the item delimiter when ``end`` is None).
        """
        buf, size, wanted = self.buf, self.size, _WANTED if node is not None else {}
        explicit, unpack = self.explicit, _TWO_WORDS.unpack_from
        limit = size if end is None else end
        while pos < limit:
            # The common case inlined (this loop runs for every element of every file).
            if pos + 8 > size:
                raise Fallback("truncated element header")
            tag, word = unpack(buf, pos)
            if tag & 0xFFFF == 0xFFFE:
                if tag == _ITEM_END and end is None and not word:
                    return pos + 8
                raise Fallback("misplaced item or delimiter")
            if explicit:
                tag, vr, value, length = self.element(pos)
            else:
                vr, value, length = None, pos + 8, word
            entry = wanted.get(tag)
            if entry is not None and entry[1] == "SQ":
                if vr is not None and vr != _SQ:
                    raise Fallback(f"{entry[0]} with VR {vr:#x}")
                items: list[Node] = []
                pos = self.sequence(value, length, items)
                node._elements[entry[0]] = items
                continue
            if length == _UNDEFINED:
                if vr == _UN:
                    raise Fallback("undefined-length UN")
                pos = self.sequence(value, length, None)
                continue
            pos = value + length
            if pos > size:
                raise Fallback("value past the end of the file")
            if entry is not None:
                keyword, expected_vr, vr_code = entry
                if vr is not None and vr != vr_code:
                    raise Fallback(f"{keyword} with VR {vr:#x}")
                raw = bytes(buf[value:pos])
                if tag == _CHARSET_TAG:
                    self.set_charset(raw, node)
                node._elements[keyword] = (
                    RawValue(raw)
                    if keyword == "ContourData"
                    else _convert(expected_vr, raw, self.encodings)
                )
        if end is None:
            raise Fallback("item not closed")
        if pos != end:
            raise Fallback("item length mismatch")
        return pos

    def sequence(self, pos: int, length: int, items: list[Node] | None) -> int:
        """Walk a sequence's items (kept in ``items`` unless None); position after it."""
        end = None if length == _UNDEFINED else pos + length
        if end is not None and end > self.size:
            raise Fallback("sequence past the end of the file")
        while end is None or pos < end:
            if pos + 8 > self.size:
                raise Fallback("truncated item header")
            tag, item_length = _TWO_WORDS.unpack_from(self.buf, pos)
            value = pos + 8
            if tag == _SEQUENCE_END:
                if end is not None or item_length:
                    raise Fallback("misplaced sequence delimiter")
                return value
            if tag != _ITEM:
                raise Fallback("not an item")
            node = Node() if items is not None else None
            if item_length == _UNDEFINED:
                pos = self.data_set(value, None, node)
            else:
                pos = value + item_length
                if pos > self.size:
                    raise Fallback("item past the end of the file")
                if node is not None:
                    self.data_set(value, pos, node)
            if node is not None:
                items.append(node)
        if pos != end:
            raise Fallback("sequence length mismatch")
        return pos

    def set_charset(self, raw: bytes, node: Node) -> None:
        value = _convert("CS", raw, None)
        names = value if isinstance(value, list) else [value]
        if len(names) != 1 or names[0].strip() not in _CHARSETS:
            raise Fallback(f"character set {value!r}")
        encodings = convert_encodings(names)
        if node is not self.root and encodings != (self.encodings or convert_encodings([""])):
            raise Fallback("another character set inside a sequence")
        self.encodings = encodings


def _transfer_syntax(buf) -> tuple[str, int]:
    """The transfer syntax UID and the position of the data set after the file meta."""
    if len(buf) < 132 or buf[128:132] != b"DICM":
        raise Fallback("no DICM prefix")
    pos, syntax = 132, None
    meta = _Reader(buf, explicit=True)
    while pos + 8 <= len(buf) and _TAG.unpack_from(buf, pos)[0] == 0x0002:
        tag, _, value, length = meta.element(pos)
        if length == _UNDEFINED or value + length > len(buf):
            raise Fallback("odd file meta")
        if tag == _swapped(0x00020010):
            syntax = bytes(buf[value : value + length]).decode("latin-1").rstrip(" \x00")
        pos = value + length
    if syntax is None:
        raise Fallback("no transfer syntax")
    return syntax, pos


def read(path: str | os.PathLike) -> Node:
    """The wanted elements of a DICOM file, or :class:`Fallback`."""
    try:
        with open(path, "rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            if size <= _READ_WHOLE:
                return _read_buffer(handle.read())
            # Large files are CT images: map them so the pixel data is never read.
            with mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as buf:
                return _read_buffer(buf)
    except (OSError, ValueError) as exc:
        raise Fallback("unreadable") from exc


def _read_buffer(buf) -> Node:
    syntax, pos = _transfer_syntax(buf)
    if syntax == _IMPLICIT_LE:
        explicit = False
        # pydicom checks the first element and switches when the syntax is wrong; so do we.
        if pos + 6 <= len(buf) and buf[pos + 4 : pos + 6] in _SHORT_VRS | _LONG_VRS:
            raise Fallback("explicit VR data in an implicit VR file")
    elif syntax == _EXPLICIT_LE or syntax.startswith(_ENCAPSULATED_PREFIXES):
        explicit = True
    else:
        raise Fallback(f"transfer syntax {syntax}")
    reader = _Reader(buf, explicit)
    root = Node()
    reader.root = root
    if pos == len(buf):
        raise Fallback("no data element")
    reader.data_set(pos, len(buf), root)
    return root
