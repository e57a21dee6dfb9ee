"""Zip uploads are bounded while they are extracted: compression ratio, total size once
extracted (for the whole upload), members that lie about their size — each stopped at
the limit, before the bytes are written, with a French message."""

from __future__ import annotations

import io
import os
import struct
import zipfile
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from contouring.uploads import stage_uploads

MIB = 1024 * 1024


def _written(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _zip(members: dict[str, bytes | int], name: str = "serie.zip") -> SimpleUploadedFile:
    """A deflated zip; an int member is that many zero bytes, written in blocks."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, content in members.items():
            if isinstance(content, int):
                with archive.open(member, "w", force_zip64=True) as sink:
                    for _ in range(content // (16 * MIB)):
                        sink.write(bytes(16 * MIB))
            else:
                archive.writestr(member, content)
    return SimpleUploadedFile(name, buffer.getvalue())


def _stage(uploads, folder: Path) -> ValidationError:
    with pytest.raises(ValidationError) as error:
        stage_uploads(uploads, folder)
    return error.value


def test_a_1_mb_zip_does_not_write_975_mib(tmp_path):
    bomb = _zip({"CT/CT_001.dcm": 975 * MIB}, "bombe.zip")
    assert bomb.size < 2 * MIB  # tiny on the wire
    error = _stage([bomb], tmp_path / "staging")
    assert error.code == "zip_ratio"
    assert error.messages == [
        "Le fichier zip bombe.zip est refusé : il est compressé plus de 250 fois, comme le "
        "serait une bombe de décompression."
    ]
    assert _written(tmp_path / "staging") < 2 * MIB  # only the zip itself


def test_the_total_once_extracted_is_for_the_whole_upload(tmp_path, settings):
    settings.CONTOURING_MAX_UNCOMPRESSED_BYTES = 3 * MIB
    first = _zip({"a.dcm": os.urandom(2 * MIB)}, "premier.zip")
    second = _zip({"b.dcm": os.urandom(2 * MIB)}, "second.zip")
    error = _stage([first, second], tmp_path / "staging")
    assert error.code == "zip_too_large"
    assert error.messages == [
        "Le fichier zip second.zip est trop volumineux une fois décompressé : la limite est "
        "de 3,0\xa0Mio pour l'ensemble du dépôt."
    ]
    extracted = [p for p in (tmp_path / "staging").rglob("*.dcm")]
    assert sum(p.stat().st_size for p in extracted) <= 3 * MIB


def _lying(content: bytes, declared: int) -> SimpleUploadedFile:
    """A zip whose only member declares ``declared`` bytes in both headers."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("CT/menteur.dcm", content)
    data = bytearray(buffer.getvalue())
    local = data.index(b"PK\x03\x04")
    struct.pack_into("<I", data, local + 22, declared)
    central = data.index(b"PK\x01\x02")
    struct.pack_into("<I", data, central + 24, declared)
    return SimpleUploadedFile("menteur.zip", bytes(data))


def test_a_member_lying_about_its_size_is_stopped_at_what_it_declared(tmp_path):
    upload = _lying(bytes(50 * MIB), declared=1000)
    error = _stage([upload], tmp_path / "staging")
    assert error.code in ("zip_bomb", "bad_zip")
    assert "menteur.zip" in error.messages[0]
    extracted = list((tmp_path / "staging").rglob("*menteur.dcm"))
    assert extracted and all(p.stat().st_size <= 1000 for p in extracted)


@pytest.mark.parametrize(
    "entry", ["../../evil.dcm", "/etc/evil.dcm", "CT\\..\\..\\evil.dcm", "C:/evil.dcm"]
)
def test_entries_cannot_escape_their_folder(entry, tmp_path):
    error = _stage([_zip({entry: b"x" * 200})], tmp_path / "staging")
    assert error.code == "zip_traversal"
    assert "sort de son dossier" in error.messages[0]
    assert not (tmp_path / "evil.dcm").exists()
    assert not list(tmp_path.rglob("*evil*"))
