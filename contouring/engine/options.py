"""The engine's named choices, importable without numpy or scipy (the CLI parses its
arguments from them before any heavy import, so ``--help`` answers at once)."""

from __future__ import annotations

from typing import Literal

HD95Method = Literal["max", "mean", "pooled"]
HD95_METHODS: tuple[str, ...] = ("max", "mean", "pooled")
AplMethod = Literal["polygon", "pixels"]
APL_METHODS: tuple[str, ...] = ("polygon", "pixels")
Convention = Literal["default", "deepmind", "plastimatch"]
CONVENTIONS: tuple[str, ...] = ("default", "deepmind", "plastimatch")
DEFAULT_CONVENTION = "default"
# Each convention's own HD95 summary.
CONVENTION_HD95: dict[str, str] = {"default": "pooled", "deepmind": "max", "plastimatch": "mean"}
DEFAULT_TAUS: tuple[float, ...] = (1.0, 2.0, 3.0)
# The label of the reference set in a case's results.
REFERENCE = "reference"
