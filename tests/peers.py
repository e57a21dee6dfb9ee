"""Peer tools that need pins the project cannot take, each in its own virtual environment.

dicompyler-core 0.5.6 (the DVH reference) imports ``pydicom.dicomio.read_file``, which
pydicom 3 removed: it runs in ``.peers/dicompyler`` with pydicom 2, and tests call it as a
subprocess. The environment is made on first use (a minute, from the package registry)
and reused; a missing registry skips locally and fails in CI (``tests.requirements``).
"""

from __future__ import annotations

import fcntl
import subprocess
import sys
from pathlib import Path

from tests.requirements import REPO_ROOT, missing

PEERS = {
    "dicompyler": (
        "dicompyler-core==0.5.6",
        "pydicom>=2.4,<3",
        "numpy<2",
        "matplotlib",
        "six",
    ),
}


def peer_python(name: str) -> Path:
    """The interpreter of peer ``name``'s environment, created if needed."""
    requirements = PEERS[name]
    home = REPO_ROOT / ".peers" / name
    python = home / "bin" / "python"
    stamp = home / "requirements.txt"
    wanted = "\n".join(requirements) + "\n"
    home.parent.mkdir(exist_ok=True)
    with open(home.parent / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if python.exists() and stamp.exists() and stamp.read_text() == wanted:
            return python
        try:
            subprocess.run([sys.executable, "-m", "venv", "--clear", str(home)], check=True)
            subprocess.run(
                [str(python), "-m", "pip", "install", "--quiet", *requirements],
                check=True,
                capture_output=True,
                timeout=900,
            )
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            missing(f"the {name} peer environment could not be installed ({exc})")
        stamp.write_text(wanted)
    return python
