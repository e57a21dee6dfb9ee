"""Spreadsheet exports shared by the apps: cells that cannot become formulas."""

from __future__ import annotations

from typing import Any

# A cell starting with one of these is read as a formula by Excel or LibreOffice
# (OWASP "CSV injection"); such text is prefixed with a quote so it shows as typed.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value
