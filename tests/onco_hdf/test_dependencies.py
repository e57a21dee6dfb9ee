"""Locked dependencies: every file hashed, the fixed versions, pyproject and lock agree."""

from __future__ import annotations

import re
import tomllib
from importlib import metadata

import pytest

from tests.requirements import REPO_ROOT

LOCKS = ["requirements.lock", "requirements-dev.lock"]


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(lock: str) -> dict[str, tuple[str, int]]:
    """name -> (version, number of hashes) of every requirement in the lock."""
    text = (REPO_ROOT / lock).read_text()
    found = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", text):
        head = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", block)
        if head:
            found[canonical(head[1])] = (head[2], block.count("--hash=sha256:"))
    return found


def version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


@pytest.mark.parametrize("lock", LOCKS)
def test_every_locked_requirement_is_pinned_with_hashes(lock):
    locked = pins(lock)
    assert len(locked) > 40
    assert all(hashes >= 1 for _version, hashes in locked.values()), lock


@pytest.mark.parametrize("lock", LOCKS)
def test_fixed_versions_of_weasyprint_and_pydicom(lock):
    locked = pins(lock)
    assert version(locked["weasyprint"][0]) >= (70,)
    assert version(locked["pydicom"][0]) >= (3, 0, 2)


def test_locks_hold_every_dependency_of_pyproject():
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    direct = [re.match(r"[A-Za-z0-9._-]+", d)[0] for d in project["dependencies"]]
    dev = [re.match(r"[A-Za-z0-9._-]+", d)[0] for d in project["optional-dependencies"]["dev"]]
    missing = {canonical(d) for d in direct} - set(pins("requirements.lock"))
    missing |= {canonical(d) for d in direct + dev} - set(pins("requirements-dev.lock"))
    assert not missing, f"{sorted(missing)} not locked: run `make lock` and commit the locks"


def test_this_environment_runs_the_locked_pdf_and_dicom_versions():
    locked = pins("requirements.lock")
    for name in ("weasyprint", "pydicom"):
        assert metadata.version(name) == locked[name][0], name


def test_make_install_and_the_image_install_the_locks_with_hashes_checked(tmp_path):
    import subprocess

    # What ``make install`` runs on a fresh checkout (dry run, no virtual env made yet).
    planned = subprocess.run(
        ["make", "-n", "install", f"VENV={tmp_path / 'venv'}"],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert "--require-hashes -r requirements-dev.lock" in planned
    dockerfile = (REPO_ROOT / "Dockerfile").read_text()
    assert "--require-hashes -r requirements.lock" in dockerfile


def test_make_sbom_writes_a_cyclonedx_bom_of_the_production_lock(tmp_path):
    """The Makefile's sbom recipe, run into a temporary file: every locked component with
    its locked version, the fixed WeasyPrint and pydicom among them."""
    import json
    import shlex
    import subprocess
    import sys
    from pathlib import Path

    makefile = (REPO_ROOT / "Makefile").read_text()
    recipe = makefile.split("\nsbom:", 1)[1].split("\n\n", 1)[0]
    command = next(line for line in recipe.replace("\\\n", " ").splitlines() if "cyclonedx" in line)
    argv = shlex.split(command)
    argv[0] = str(Path(sys.executable).parent / "cyclonedx-py")
    argv[argv.index("-o") + 1] = str(tmp_path / "sbom.cdx.json")
    subprocess.run(argv, cwd=REPO_ROOT, check=True, capture_output=True, timeout=300)
    bom = json.loads((tmp_path / "sbom.cdx.json").read_text())
    assert bom["bomFormat"] == "CycloneDX"
    components = {canonical(c["name"]): c["version"] for c in bom["components"]}
    locked = pins("requirements.lock")
    assert components == {name: pinned for name, (pinned, _hashes) in locked.items()}
    assert version(components["weasyprint"]) >= (70,)
    assert version(components["pydicom"]) >= (3, 0, 2)
