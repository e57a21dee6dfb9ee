"""Seeded mutation fuzzer over real DICOM files, for "no traceback on any file" tests.

``mutated_files(seed, count, sources)`` returns ``count`` :class:`Mutant` (``data`` bytes
and a ``label`` naming the source file, the mutation and where it hit), the same list for
the same seed. The mutations are the ways files arrive broken: bit flips, truncations, bad
element lengths and VRs, broken nested sequences (items and delimiters), a wrong transfer
syntax, bad values (non-numeric, huge, NaN) and huge or NaN coordinates.

Mutations are aimed with a small walker over the source's elements (little-endian,
implicit or explicit VR), so most land in the header rather than in the pixel data.
Reused by the engine's fuzz test and by the upload fuzz test of the web app.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

_LONG_VRS = {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT"}
_LONG_VRS |= {b"UV"}
_DELIMITERS = {0xFFFEE000, 0xFFFEE00D, 0xFFFEE0DD}
_PIXEL_DATA = 0x7FE00010
_TRANSFER_SYNTAX = 0x00020010
# Coordinates and numbers that break arithmetic: overflow to inf, NaN, beyond int64.
HUGE_VALUES = (
    "1e19", "-1e19", "9.3e18", "1e25", "1e308", "-1e308", "1e400", "nan", "NaN", "inf",
    "-inf", "1e-320", "0", "-0",
)  # fmt: skip
BAD_VALUES = (
    "", "x", "1.5", "-1", "abc\\def", "99999999999999999999", "\\\\", "1e400", "nan",
    "1,5", "0x10", " ", "\x00\x00", "é",
)  # fmt: skip
TRANSFER_SYNTAXES = (
    "1.2.840.10008.1.2",  # implicit VR little endian
    "1.2.840.10008.1.2.1",  # explicit VR little endian
    "1.2.840.10008.1.2.2",  # explicit VR big endian (retired)
    "1.2.840.10008.1.2.1.99",  # deflated
    "1.2.840.10008.1.2.4.50",  # JPEG baseline
    "1.2.840.10008.1.2.5",  # RLE
    "1.2.3.4",
    "",
)
KINDS = (
    "bitflip", "truncate", "bad_length", "bad_vr", "broken_sequence", "transfer_syntax",
    "bad_value", "huge_coordinates", "insert_bytes",
)  # fmt: skip


class Mutant(NamedTuple):
    data: bytes
    label: str  # "<source name>#<n>:<kind>:<detail>"

    @property
    def source(self) -> str:
        return self.label.split("#", 1)[0]

    @property
    def kind(self) -> str:
        return self.label.split(":", 2)[1]


@dataclass(frozen=True)
class Element:
    offset: int  # of the tag
    tag: int  # group << 16 | element
    vr: bytes | None  # None in implicit VR, and for items and delimiters
    length_at: int
    length_size: int
    value_at: int
    length: int


def elements(data: bytes) -> list[Element]:
    """Every element of a well-formed little-endian file (file meta included), nested
    sequence content too, in file order; what it cannot parse it stops at."""
    found: list[Element] = []
    if len(data) < 132 or data[128:132] != b"DICM":
        return found
    pos, size = 132, len(data)
    explicit = True
    try:
        while pos + 8 <= size:
            group, elem = struct.unpack_from("<HH", data, pos)
            tag = group << 16 | elem
            if group != 0x0002 and found and found[-1].tag >> 16 == 0x0002:
                syntax = _meta_syntax(data, found)
                explicit = syntax != "1.2.840.10008.1.2"
            if tag in _DELIMITERS:
                length = struct.unpack_from("<L", data, pos + 4)[0]
                found.append(Element(pos, tag, None, pos + 4, 4, pos + 8, length))
                pos += 8 if (tag != 0xFFFEE000 or length == 0xFFFFFFFF) else 8
                continue
            vr = data[pos + 4 : pos + 6]
            if explicit and vr.isalpha() and vr.isupper():
                if vr in _LONG_VRS:
                    length = struct.unpack_from("<L", data, pos + 8)[0]
                    element = Element(pos, tag, vr, pos + 8, 4, pos + 12, length)
                else:
                    length = struct.unpack_from("<H", data, pos + 6)[0]
                    element = Element(pos, tag, vr, pos + 6, 2, pos + 8, length)
            else:
                length = struct.unpack_from("<L", data, pos + 4)[0]
                element = Element(pos, tag, None, pos + 4, 4, pos + 8, length)
            found.append(element)
            if length == 0xFFFFFFFF or element.vr == b"SQ":
                pos = element.value_at  # walk into the sequence's items
            elif tag == _PIXEL_DATA:
                break
            else:
                pos = element.value_at + length
    except struct.error:
        pass
    return found


def _meta_syntax(data: bytes, found: list[Element]) -> str:
    for e in found:
        if e.tag == _TRANSFER_SYNTAX:
            return data[e.value_at : e.value_at + e.length].decode("latin-1").rstrip("\x00 ")
    return ""


def _header_end(data: bytes, found: list[Element]) -> int:
    pixel = next((e for e in found if e.tag == _PIXEL_DATA), None)
    return pixel.value_at + 16 if pixel is not None else len(data)


def _set_length(data: bytearray, element: Element, length: int) -> None:
    fmt = "<H" if element.length_size == 2 else "<L"
    limit = 0xFFFF if element.length_size == 2 else 0xFFFFFFFF
    struct.pack_into(fmt, data, element.length_at, length & limit)


def _replace_value(data: bytes, element: Element, value: bytes) -> bytes:
    """``data`` with ``element``'s value replaced and its length field updated."""
    if len(value) % 2:
        value += b" " if element.vr != b"UI" else b"\x00"
    if element.length_size == 2 and len(value) > 0xFFFF:
        value = value[:0xFFFE]
    out = bytearray(data[: element.value_at] + value + data[element.value_at + element.length :])
    _set_length(out, element, len(value))
    return bytes(out)


def _value_elements(data: bytes, found: list[Element], vrs: set[bytes] | None, tags=None):
    keep = []
    for e in found:
        if e.tag in _DELIMITERS or e.vr == b"SQ" or e.length == 0xFFFFFFFF:
            continue
        if e.value_at + e.length > len(data) or e.tag == _PIXEL_DATA:
            continue
        if tags is not None and e.tag not in tags:
            continue
        if vrs is not None and e.vr is not None and e.vr not in vrs:
            continue
        if vrs is not None and e.vr is None and tags is None:
            continue
        keep.append(e)
    return keep


# Tags whose values are coordinates or numbers the engine computes with.
_COORDINATE_TAGS = {
    0x30060050,  # ContourData
    0x00200032,  # ImagePositionPatient
    0x00200037,  # ImageOrientationPatient
    0x00280030,  # PixelSpacing
    0x00180050,  # SliceThickness
}
_NUMBER_TAGS = {0x30060022, 0x30060084, 0x00280010, 0x00280011, 0x30060046}  # ROINumber, ...


def mutate(data: bytes, rng: random.Random, kind: str) -> tuple[bytes, str]:
    """One mutation of ``kind``; returns the bytes and where it hit."""
    if not data:
        return data, "empty"
    found = elements(data)
    end = min(_header_end(data, found), len(data))
    start = min(128, end - 1)
    if kind == "bitflip":
        out = bytearray(data)
        spots = sorted(rng.randrange(start, end) for _ in range(rng.randint(1, 8)))
        for spot in spots:
            out[spot] ^= 1 << rng.randrange(8)
        return bytes(out), ",".join(map(str, spots))
    if kind == "truncate":
        cut = rng.randrange(0, max(end, 1))
        return data[:cut], str(cut)
    if kind == "insert_bytes":
        at = rng.randrange(start, end)
        junk = bytes(rng.randrange(256) for _ in range(rng.choice((1, 2, 4, 8, 13))))
        return data[:at] + junk + data[at:], str(at)
    body = [e for e in found if e.tag >> 16 != 0x0002]
    if kind == "bad_length" and body:
        element = rng.choice(body)
        length = rng.choice(
            (0, 1, element.length + 1, max(element.length - 1, 0), element.length + 2,
             0xFFFFFFFF, 0x7FFFFFF0, len(data) - element.value_at + 2, rng.randrange(1 << 16))
        )  # fmt: skip
        out = bytearray(data)
        _set_length(out, element, length)
        return bytes(out), f"{element.tag:08X}={length}"
    explicit_body = [e for e in body if e.vr is not None]
    if kind == "bad_vr" and explicit_body:
        element = rng.choice(explicit_body)
        vr = rng.choice((b"SQ", b"UN", b"OB", b"XX", b"\x00\x00", b"DS", b"US", b"UT", b"IS"))
        out = bytearray(data)
        out[element.offset + 4 : element.offset + 6] = vr
        return bytes(out), f"{element.tag:08X}={vr!r}"
    delimiters = [e for e in found if e.tag in _DELIMITERS]
    if kind == "broken_sequence" and delimiters:
        element = rng.choice(delimiters)
        how = rng.choice(("drop", "duplicate", "length", "retag"))
        at = element.offset
        if how == "drop":
            out = data[:at] + data[at + 8 :]
        elif how == "duplicate":
            out = data[:at] + data[at : at + 8] + data[at:]
        elif how == "length":
            mutable = bytearray(data)
            struct.pack_into("<L", mutable, at + 4, rng.choice((0, 4, 8, 0xFFFFFFFF, 0xFFFF)))
            out = bytes(mutable)
        else:
            other = rng.choice(sorted(_DELIMITERS - {element.tag}))
            mutable = bytearray(data)
            struct.pack_into("<HH", mutable, at, other >> 16, other & 0xFFFF)
            out = bytes(mutable)
        return out, f"{element.tag:08X}@{at}:{how}"
    syntax = next((e for e in found if e.tag == _TRANSFER_SYNTAX), None)
    if kind == "transfer_syntax" and syntax is not None:
        uid = rng.choice(TRANSFER_SYNTAXES)
        return _replace_value(data, syntax, uid.encode()), uid or "empty"
    if kind == "bad_value":
        candidates = _value_elements(data, body, {b"DS", b"IS", b"US", b"UI", b"CS", b"LO"})
        candidates += _value_elements(data, body, None, _NUMBER_TAGS)
        if candidates:
            element = rng.choice(candidates)
            value = rng.choice(BAD_VALUES)
            encoded = value.encode("utf-8" if rng.random() < 0.5 else "latin-1")
            return _replace_value(data, element, encoded), f"{element.tag:08X}={value!r}"
    if kind == "huge_coordinates":
        candidates = _value_elements(data, body, None, _COORDINATE_TAGS)
        if candidates:
            element = rng.choice(candidates)
            raw = data[element.value_at : element.value_at + element.length]
            tokens = raw.decode("latin-1").strip(" \x00").split("\\")
            for _ in range(rng.randint(1, 3)):
                tokens[rng.randrange(len(tokens))] = rng.choice(HUGE_VALUES)
            value = "\\".join(tokens)
            return _replace_value(data, element, value.encode()), f"{element.tag:08X}"
    # The kind does not apply to this file (no sequence, implicit VR...): flip bits instead.
    flipped, where = mutate(data, rng, "bitflip")
    return flipped, f"bitflip instead of {kind} {where}"


def mutated_files(seed: int, count: int, sources: Sequence[Path | tuple[str, bytes]]):
    """``count`` mutants of ``sources`` (paths, or (name, bytes) pairs), round-robin over
    the sources and the mutation kinds, reproducible from ``seed``."""
    rng = random.Random(seed)
    loaded = [(s.name, s.read_bytes()) if isinstance(s, Path) else (s[0], s[1]) for s in sources]
    mutants = []
    for n in range(count):
        name, data = loaded[n % len(loaded)]
        kind = KINDS[(n // len(loaded)) % len(KINDS)]
        out, where = mutate(data, rng, kind)
        if rng.random() < 0.15:  # a second mutation now and then: damage rarely comes alone
            second = rng.choice(KINDS)
            out, more = mutate(out, rng, second)
            where += f" + {second} {more}"
        mutants.append(Mutant(out, f"{name}#{n}:{kind}:{where}"))
    return mutants
