"""Fail when the French catalogue has an untranslated or fuzzy entry (``make i18n``)."""

import sys

import polib


def main(path: str) -> int:
    catalogue = polib.pofile(path)
    missing = [
        e
        for e in catalogue
        if e.msgid and not e.obsolete and (not e.translated() or "fuzzy" in e.flags)
    ]
    for entry in missing:
        where = entry.occurrences[0][0] if entry.occurrences else "?"
        print(f"untranslated: {entry.msgid!r} ({where})")
    print(f"{len(catalogue) - len(missing)} / {len(catalogue)} French strings translated")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
