"""French catalogue tools for ``make i18n``.

``python -m onco_hdf.i18n_check CATALOGUE`` fails when an entry is untranslated or fuzzy.
``--compile`` writes the ``.mo`` beside each catalogue (built, never committed: a binary file
cannot be merged). ``--normalize`` rewrites the catalogue in a stable form (entries sorted
by message, no creation date, file names without line numbers) so that two branches adding
strings in different places merge without conflict.
"""

import sys

import polib


def normalize(path: str) -> None:
    catalogue = polib.pofile(path, wrapwidth=0)
    catalogue.metadata.pop("POT-Creation-Date", None)
    for entry in catalogue:
        entry.occurrences = sorted({(name, "") for name, _line in entry.occurrences})
    catalogue.sort(key=lambda e: (e.obsolete, e.msgctxt or "", e.msgid))
    catalogue.save(path)


def compile_catalogue(path: str) -> None:
    polib.pofile(path).save_as_mofile(path[: -len(".po")] + ".mo")


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


USAGE = "usage: python -m onco_hdf.i18n_check [--normalize | --compile] CATALOGUE.po..."


def cli(args: list[str]) -> int:
    """Run the command line ``args``: 2 (with the usage on stderr) when no catalogue is given."""
    actions = {"--normalize": normalize, "--compile": compile_catalogue}
    action = actions.get(args[0]) if args else None
    paths = args[1:] if action else args
    if not paths:
        print(USAGE, file=sys.stderr)
        return 2
    if action is None:
        return max([main(path) for path in paths])
    for path in paths:
        action(path)
    return 0


if __name__ == "__main__":
    sys.exit(cli(sys.argv[1:]))
